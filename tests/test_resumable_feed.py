"""The resumable training input (multilingual_t0.resumable): batches equal seqio's on the fused feed, and a
feed saved and restored in a new object continues with exactly the batches the uninterrupted one returns."""

import collections
import json

import numpy as np
import pytest
import seqio

from conftest import DatasetConfig, assert_same_examples
from multilingual_t0 import resumable
from multilingual_t0.errors import HostWithoutExamplesError, NotResumableError
from multilingual_t0.pipeline import resumable_feed, streamed_mixture
from multilingual_t0.sources import files

LENGTHS = {"inputs": 64, "targets": 32}


def _feed(name, shard=(0, 1), batch_size=8, lengths=LENGTHS, **cfg):
    config = DatasetConfig(name, lengths, batch_size=batch_size * shard[1], **cfg)
    return resumable.get_dataset(config, shard[0], shard[1], seqio.EncDecFeatureConverter)


def _take(feed, n):
    return [next(feed) for _ in range(n)]


@pytest.fixture(scope="module")
def custom_task(tmp_path_factory):
    import multilingual_t0.tasks  # noqa: F401
    from multilingual_t0 import custom

    if "resumable_test_mine" in seqio.TaskRegistry.names():
        return "resumable_test_mine"
    folder = tmp_path_factory.mktemp("mine")
    with open(folder / "train.jsonl", "w") as f:
        for i in range(300):
            f.write(json.dumps({"q": f"question {i} " + "word " * (i % 9), "a": f"answer {i}"}) + "\n")
    return custom.add_task("resumable_test_mine", {"train": str(folder / "train.jsonl")}, "q", "a")


def test_batches_equal_seqio_get_dataset_on_the_fused_feed(registered):
    """The same examples as the fused mixture through seqio.get_dataset, packed and batched as there."""
    name, lengths = "mt5_sglue_train", {"inputs": 512, "targets": 64}  # long enough to pack the samples
    ours = _take(_feed(name, shard=(1, 2), seed=3, lengths=lengths), 6)
    ds = seqio.get_dataset(name, lengths, seqio.EncDecFeatureConverter(pack=True), "train", shuffle=True, seed=3,
                           shard_info=seqio.ShardInfo(1, 2), num_epochs=None, batch_size=8)
    theirs = list(ds.take(6).as_numpy_iterator())
    assert_same_examples(ours, theirs)
    assert max(b["encoder_segment_ids"].max() for b in ours) > 1  # packed: several examples in a row


@pytest.mark.parametrize("name,shard,cuts", [
    ("mt5_d4_gpt_sglue_train", (0, 1), (1, 4)),
    ("mt5_sglue_train", (0, 2), (1, 2, 5)),
    ("mt5_sglue_train", (1, 2), (3,)),
    ("mt5_xp3_train", (0, 1), (2, 5)),
    ("mt5_xp3_train", (1, 2), (3,)),
    ("resumable_test_mine", (0, 1), (1, 3, 6)),
    ("super_glue_rte_GPT_3_style", (1, 2), (2,)),
])
def test_restored_feed_continues_with_exactly_the_next_batch(registered, custom_task, tmp_path, name, shard, cuts):
    """Saved after `cut` batches and restored in a new feed (as a restarted job does), the batches that
    follow equal the uninterrupted feed's, array for array."""
    total = max(cuts) + 3
    whole = _take(_feed(name, shard), total)
    for cut in cuts:
        feed = _feed(name, shard)
        _take(feed, cut)
        feed.save(tmp_path / f"ds-{cut}")
        restarted = _feed(name, shard, seed=None)  # a restarted T5X job draws another seed: the saved one wins
        restarted.restore(tmp_path / f"ds-{cut}")
        assert_same_examples(_take(restarted, total - cut), whole[cut:])


def test_unpacked_batches_restore_too(registered, tmp_path):
    whole = _take(_feed("mt5_sglue_train", pack=False), 7)
    feed = _feed("mt5_sglue_train", pack=False)
    _take(feed, 3)
    feed.save(tmp_path / "ds")
    restarted = _feed("mt5_sglue_train", pack=False)
    restarted.restore(tmp_path / "ds")
    assert_same_examples(_take(restarted, 4), whole[3:])


def test_no_record_skipped_or_repeated_within_an_epoch_across_restores(registered, custom_task, monkeypatch):
    """A task's record identities through six saves and restores in three epochs: each epoch holds every
    record of this host once, and each epoch has its own shuffled order."""
    monkeypatch.setenv("MT0_SHUFFLE_BUFFER", "64")
    task = seqio.get_mixture_or_task(custom_task)
    stream = streamed_mixture.TaskStream(task, "train", (1, 3), True, 9, None)
    seen = collections.defaultdict(list)
    for restore_after in (37, 81, 100, 150, 23, 180):
        for _ in range(restore_after):
            example = stream.next()
            seen[stream.epoch].append(example["inputs"])
        state = json.loads(json.dumps(stream.state()))
        stream = streamed_mixture.TaskStream(task, "train", (1, 3), True, 9, None, state=state)
    mine = {f"question {i} " + "word " * (i % 9) for i in range(1, 300, 3)}
    assert len(seen) >= 3
    for epoch in sorted(seen)[:-1]:  # complete epochs
        assert sorted(seen[epoch]) == sorted(mine), epoch
    assert seen[0] != seen[1] != seen[2] != seen[0]
    assert seen[1][:20] != seen[0][:20]


def test_restore_cost_does_not_grow_with_the_position(registered, tmp_path, monkeypatch):
    """Records decoded while restoring after 30 and after 300 batches (the second in the task's second
    epoch): each at most one shuffle window, the open files' records before the position (whole files are
    re-read from their start: 4 open files of 100 records) and one group, wherever the feed stood."""
    from multilingual_t0.sources import reading

    monkeypatch.setenv("MT0_SHUFFLE_BUFFER", "32")
    decoded = [0]
    real = files.json.loads

    def counting(text, *args, **kwargs):
        decoded[0] += 1
        return real(text, *args, **kwargs)

    costs = {}
    for position in (30, 300):
        feed = _feed("resumable_test_big", batch_size=4)
        _take(feed, position)
        feed.save(tmp_path / f"ds-{position}")
        restarted = _feed("resumable_test_big", batch_size=4)
        monkeypatch.setattr(files.json, "loads", counting)
        decoded[0] = 0
        restarted.restore(tmp_path / f"ds-{position}")
        next(restarted)
        monkeypatch.setattr(files.json, "loads", real)
        costs[position] = decoded[0]
    bound = reading.SHUFFLE_CYCLE * 100 + 32 + max(LENGTHS.values()) + 1
    assert max(costs.values()) <= bound, (costs, bound)
    assert costs[300] > 0


@pytest.fixture(autouse=True)
def big_task(registered, tmp_path_factory):
    """A custom task with 3,000 records in 30 files: 40 batches read far past the first shuffle windows."""
    from multilingual_t0 import custom

    name = "resumable_test_big"
    if name in seqio.TaskRegistry.names():
        return name
    folder = tmp_path_factory.mktemp("big")
    for k in range(30):
        with open(folder / f"train-{k:05d}-of-00030.jsonl", "w") as f:
            for i in range(k * 100, (k + 1) * 100):
                f.write(json.dumps({"inputs": f"text {i} " * 6, "targets": f"t{i}"}) + "\n")
    return custom.add_task(name, {"train": str(folder / "train-*.jsonl")})


def test_a_task_without_examples_on_a_host_stops_at_build_time(registered, tmp_path):
    from multilingual_t0 import custom

    (tmp_path / "two.jsonl").write_text('{"inputs": "a", "targets": "b"}\n{"inputs": "c", "targets": "d"}\n')
    name = custom.add_task("resumable_test_two_records", {"train": str(tmp_path / "two.jsonl")})
    _feed(name, shard=(1, 2))  # host 1 of 2 has record 1
    with pytest.raises(HostWithoutExamplesError) as err:
        _feed(name, shard=(3, 4))
    message = str(err.value)
    assert name in message and "host shard 3 of 4" in message and "read 0 records" in message, message


def test_a_restore_with_other_settings_is_refused_naming_the_difference(registered, tmp_path):
    feed = _feed("mt5_sglue_train")
    next(feed)
    feed.save(tmp_path / "ds")
    other = _feed("mt5_sglue_train", batch_size=4)
    with pytest.raises(NotResumableError, match="batch_size is 8, this run's is 4"):
        other.restore(tmp_path / "ds")


def test_inputs_that_cannot_resume_are_refused_at_start_unless_checkpoints_are_off(registered, monkeypatch):
    """seqio's per-task pipelines of streamed tasks run Python: refused at start with the setting to turn off
    (cached tasks and TFDS, which tf.data can save, are served: tests/test_scripts.py's cache test)."""
    monkeypatch.setenv("MT0_MIXTURE_FEED", "per_task")
    config = DatasetConfig("super_glue_rte_GPT_3_style", LENGTHS)
    with pytest.raises(NotResumableError, match="DATASET_CHECKPOINTS=False.*MT0_MIXTURE_FEED=per_task|"
                                                "MT0_MIXTURE_FEED=per_task.*DATASET_CHECKPOINTS=False"):
        resumable.get_dataset(config, 0, 1, seqio.EncDecFeatureConverter)
    ds = resumable.get_dataset(config, 0, 1, seqio.EncDecFeatureConverter, checkpointed=False)
    assert next(ds.as_numpy_iterator())["encoder_input_tokens"].shape == (8, 64)
    assert resumable.why_tf_data_cannot_save(ds) is not None  # the reason above: Python in the pipeline


def test_element_spec_is_known_before_any_batch(registered):
    feed = _feed("mt5_sglue_train")
    spec = feed.element_spec
    assert spec["encoder_input_tokens"].shape == (8, 64) and spec["decoder_target_tokens"].shape == (8, 32)
    assert feed.batches == 0 and not feed.groups
    batch = next(feed)
    assert {k: (v.dtype, v.shape) for k, v in batch.items()} == {k: (np.dtype(s.dtype), s.shape)
                                                                 for k, s in spec.items()}
    assert isinstance(feed, resumable_feed.dataset_iterator.DatasetIterator)


@pytest.mark.parametrize("hosts", [2, 4])
def test_every_host_reads_3000_examples_of_the_t0_mixture_without_it_ending(registered, hosts):
    """On the samples, each host's shard of mt5_d4_gpt_sglue_train (464 tasks, repeated as T5X reads it)
    yields 3,000 examples: no task runs dry on any host (unpacked rows: one example each)."""
    for host in range(hosts):
        feed = _feed("mt5_d4_gpt_sglue_train", shard=(host, hosts), batch_size=250, pack=False,
                     lengths={"inputs": 32, "targets": 8})
        rows = sum(int((next(feed)["decoder_target_tokens"] > 0).any(axis=1).sum()) for _ in range(12))
        assert rows == 3000, (host, rows)
        assert not feed.ended


@pytest.fixture(scope="module")
def sixty_four_records(tmp_path_factory):
    """A custom task of 64 records (whatever the template: every record gives one example)."""
    import multilingual_t0.tasks  # noqa: F401
    from multilingual_t0 import custom

    name = "resumable_test_sixty_four"
    if name in seqio.TaskRegistry.names():
        return name
    folder = tmp_path_factory.mktemp("sixty_four")
    with open(folder / "train.jsonl", "w") as f:
        for i in range(64):
            f.write(json.dumps({"inputs": f"record {i}", "targets": f"target {i}"}) + "\n")
    return custom.add_task(name, {"train": str(folder / "train.jsonl")})


@pytest.mark.parametrize("shard", [(0, 1), (1, 2)])
def test_a_save_exactly_at_the_end_of_an_epoch_continues_into_the_next(sixty_four_records, tmp_path, shard):
    """Unpacked rows of 32 examples per group (G = 32): with 64 (or 32 per host of 2) records, a save after
    the group that ends the epoch names the stream right after the epoch's last record. Restored, the feed
    goes on into the next epoch, in its own order, exactly as the uninterrupted feed."""
    epoch = 64 // shard[1]
    lengths = {"inputs": 32, "targets": 32}
    feed = _feed(sixty_four_records, shard=shard, batch_size=8, lengths=lengths, pack=False)
    first_epoch = _take(feed, epoch // 8)
    path = tmp_path / "at-epoch-end"
    feed.save(str(path))
    saved = json.loads(path.read_text())
    task = saved["start"]["tasks"][0]
    assert saved["start"]["drawn"] == epoch and saved["skip_rows"] == 0  # exactly on the boundary
    assert task["epoch"] == 0 and task["yielded"] and task["skip"] == 1  # after the epoch's last example
    expected = _take(feed, 2 * epoch // 8)
    restored = _feed(sixty_four_records, shard=shard, batch_size=8, lengths=lengths, pack=False, seed=77)
    restored.restore(str(path))
    got = _take(restored, 2 * epoch // 8)
    assert_same_examples(got, expected)

    def records(batches):
        return sorted(tuple(row) for b in batches for row in b["encoder_input_tokens"])

    # every epoch holds the host's records once, in another order than the epoch before
    assert records(got[: epoch // 8]) == records(first_epoch) == records(got[epoch // 8:])
    assert [tuple(r) for b in got[: epoch // 8] for r in b["encoder_input_tokens"]] != \
        [tuple(r) for b in first_epoch for r in b["encoder_input_tokens"]]


@pytest.mark.parametrize("shard", [(0, 1), (2, 3)])
def test_a_stream_saved_after_its_epochs_last_record_continues_into_the_next(sixty_four_records, shard):
    """TaskStream: the position taken right after the last example of an epoch on a host restores into the
    first example of the next epoch (not an empty epoch, not the same epoch again)."""
    task = seqio.get_mixture_or_task(sixty_four_records)
    count = sum(1 for _ in task.source.iter_examples("train", *shard, shuffle=True, seed=4))
    stream = streamed_mixture.TaskStream(task, "train", shard, True, 4, None)
    for _ in range(count):
        stream.next()
    state = json.loads(json.dumps(stream.state()))
    assert state["epoch"] == 0
    restored = streamed_mixture.TaskStream(task, "train", shard, True, 4, None, state=state)
    ahead = [stream.next() for _ in range(count + 3)]
    assert [restored.next() for _ in range(count + 3)] == ahead
    assert stream.epoch == 2 and restored.epoch == 2
