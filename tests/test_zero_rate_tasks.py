"""A task without examples on a host, given a rate of 0 (HostWithoutExamplesError's fix), trains on that host:
through the resumable training input (its build-time check, save and restore), seqio.get_dataset's fused
feed and seqio's per-task pipelines; and a task read as a Hub stream at rate 0 leaves the feed resumable."""

import dataclasses
import functools
import json
import logging
import numpy as np
import pytest
import seqio

from conftest import DatasetConfig as BaseDatasetConfig
from conftest import assert_same_examples
from multilingual_t0 import resumable
from multilingual_t0.errors import HostWithoutExamplesError, NotResumableError
from multilingual_t0.pipeline import vocab
from multilingual_t0.pipeline.streamed_mixture import add_mixture

LENGTHS = {"inputs": 32, "targets": 16}
EMPTY_HOST = (3, 4)  # the two-record task has records 0 and 1: hosts 2 and 3 of 4 get none
FUSED_LOGGER = "multilingual_t0.pipeline.streamed_mixture"


# T5X's DatasetConfig as these tests set it: a batch of 8 per host of 4
DatasetConfig = functools.partial(BaseDatasetConfig, batch_size=8 * EMPTY_HOST[1], seed=11)


def _write(path, texts):
    path.write_text("".join(json.dumps({"inputs": t, "targets": f"answer to {t}"}) + "\n" for t in texts),
                    encoding="utf-8")


@pytest.fixture(scope="module")
def tasks(tmp_path_factory):
    """Two tasks with records on every host of 4 and one with 2 records, registered once."""
    import multilingual_t0.tasks  # noqa: F401
    from multilingual_t0 import custom

    folder = tmp_path_factory.mktemp("zero_rate")
    _write(folder / "many.jsonl", [f"question {i}" for i in range(200)])
    _write(folder / "more.jsonl", [f"query {i}" for i in range(120)])
    _write(folder / "two.jsonl", ["only record 0", "only record 1"])
    # seqio orders a mixture's tasks by name: a_, b_, c_ put the empty one in the middle
    return {name: custom.add_task(f"zero_rate_test_{order}_{name}", {"train": str(folder / f"{name}.jsonl")})
            for order, name in (("a", "many"), ("b", "two"), ("c", "more"))}


def _mixture(name, rates):
    if name not in seqio.MixtureRegistry.names():
        add_mixture(name, rates)
    return name


@pytest.fixture(scope="module")
def mixture(tasks):
    """The empty task in the middle, at rate 0 (task indices and drawn indices differ after it)."""
    name = _mixture("zero_rate_test_mix", [(tasks["many"], 2.0), (tasks["two"], 0.0), (tasks["more"], 1.0)])
    assert [t.name for t in seqio.get_mixture_or_task(name).tasks] == [tasks[k] for k in ("many", "two", "more")]
    return name


BATCHES = 12  # ~190 examples drawn: each positive task's part on the host (50 and 30 records) several times


def _feed(name, shard=EMPTY_HOST, **cfg):
    return resumable.get_dataset(DatasetConfig(name, LENGTHS, **cfg), shard[0], shard[1],
                                 seqio.EncDecFeatureConverter)


def _take(feed, n):
    return [next(feed) for _ in range(n)]


def _seqio_batches(name, n, shuffle=True, shard=EMPTY_HOST):
    ds = seqio.get_dataset(name, LENGTHS, seqio.EncDecFeatureConverter(pack=True), "train", shuffle=shuffle,
                           seed=11, shard_info=seqio.ShardInfo(*shard), num_epochs=None, batch_size=8)
    return list(ds.take(n).as_numpy_iterator())


def _texts(batches):
    vocabulary = vocab.get_vocabulary()
    return " ".join(vocabulary.decode([int(t) for t in row if t > 1]) for b in batches
                    for row in b["encoder_input_tokens"])


def test_the_data_really_leaves_a_host_without_examples(tasks):
    """The same tasks with the two-record one at a positive rate stop at build time on that host."""
    name = _mixture("zero_rate_test_mix_positive", [(tasks["many"], 2.0), (tasks["two"], 0.5), (tasks["more"], 1.0)])
    with pytest.raises(HostWithoutExamplesError, match=f"'{tasks['two']}' yields no 'train' example on host "
                                                       f"shard 3 of 4"):
        _feed(name)


@pytest.fixture(scope="module")
def resumable_batches(mixture):
    """resumable.get_dataset (check_every_task_feeds included) on the host without the zero-rate task's
    examples: it builds, and reads on through several epochs of the other tasks."""
    return _take(_feed(mixture), BATCHES)


def test_the_resumable_input_builds_trains_saves_and_restores_on_that_host(mixture, resumable_batches, tmp_path):
    """Saved after batch 5 and restored in a new input, it continues with exactly the next batches."""
    whole = resumable_batches
    texts = _texts(whole)
    assert "question" in texts and "query" in texts and "only record" not in texts
    feed = _feed(mixture)
    _take(feed, 5)
    feed.save(tmp_path / "ds")
    restarted = _feed(mixture, seed=None)  # a restarted job draws another seed: the saved one is used
    restarted.restore(tmp_path / "ds")
    assert_same_examples(_take(restarted, BATCHES - 5), whole[5:])


def test_a_zero_rate_task_is_never_drawn_on_a_host_that_has_its_records(mixture):
    """Host 0 of 4 holds the two-record task's record 0: it is not read into any batch."""
    texts = _texts(_take(_feed(mixture, shard=(0, 4)), BATCHES))
    assert "question" in texts and "only record" not in texts


def test_seqio_get_dataset_on_the_fused_feed_trains_on_that_host(mixture, resumable_batches, caplog):
    """seqio.get_dataset on the mixture (the fused tf.data feed) gives the resumable input's batches."""
    with caplog.at_level(logging.INFO, logger=FUSED_LOGGER):
        fused = _seqio_batches(mixture, BATCHES)
    assert not [m for m in caplog.messages if "per-task pipelines" in m]  # the fused feed served it
    assert_same_examples(fused, resumable_batches)


def test_seqio_per_task_pipelines_train_on_that_host(mixture, monkeypatch, caplog):
    """MT0_MIXTURE_FEED=per_task: seqio's own Mixture over the tasks' pipelines, in file order through
    seqio.get_dataset (its batches equal the fused feed's: the design's promise, here on the host without the
    zero-rate task's examples), shuffled through resumable.get_dataset with dataset checkpoints off."""
    fused_in_order = _seqio_batches(mixture, BATCHES, shuffle=False)
    monkeypatch.setenv("MT0_MIXTURE_FEED", "per_task")
    with caplog.at_level(logging.INFO, logger=FUSED_LOGGER):
        per_task_in_order = _seqio_batches(mixture, BATCHES, shuffle=False)
        ds = resumable.get_dataset(DatasetConfig(mixture, LENGTHS), *EMPTY_HOST, seqio.EncDecFeatureConverter,
                                   checkpointed=False)
        shuffled = list(ds.take(BATCHES).as_numpy_iterator())
    assert len([m for m in caplog.messages if "per-task pipelines (MT0_MIXTURE_FEED=per_task)" in m]) == 2
    assert_same_examples(per_task_in_order, fused_in_order)
    assert len(shuffled) == BATCHES and shuffled[0]["encoder_input_tokens"].shape == (8, 32)


# ------------------------------------------------------------------ a task read as a Hub stream

@pytest.fixture(scope="module")
def hub_task(tmp_path_factory):
    """A task whose records are read as a Hugging Face Hub stream: xP3mt 'sw' laid out as its Hub repository
    in a local directory, read through datasets.load_dataset(..., streaming=True), made a task as
    custom.add_task makes one (a RecordsDataSource, the package vocabulary, the prompted chain)."""
    import multilingual_t0.tasks  # noqa: F401
    from multilingual_t0 import settings
    from multilingual_t0.pipeline import preprocessors
    from multilingual_t0.pipeline.records_source import RecordsDataSource
    from multilingual_t0.sources.layouts import xp3_language
    from multilingual_t0.sources.located import locate

    name = "zero_rate_test_hub_stream"
    if name in seqio.TaskRegistry.names():
        return name
    hub_dir = tmp_path_factory.mktemp("hub")
    (hub_dir / "bigscience" / "xP3mt" / "sw").mkdir(parents=True)
    _write(hub_dir / "bigscience" / "xP3mt" / "sw" / "xp3_prompt_train.jsonl", [f"swali {i}" for i in range(40)])
    layout = xp3_language("xp3mt", "sw")
    layout = dataclasses.replace(layout, hub=dataclasses.replace(layout.hub, snapshot_dir=str(hub_dir)))
    hub = settings.DataSettings(source="hub")
    features = vocab.output_features()
    source = RecordsDataSource(name, ["train"], lambda split: locate(layout, hub), tokenize_features=features)
    seqio.TaskRegistry.add(name, source, output_features=features, preprocessors=preprocessors.prompted_chain(),
                           metric_fns=[])
    assert locate(layout, hub).hub_stream is not None
    return name


def test_a_hub_stream_task_at_rate_0_leaves_the_input_resumable(tasks, hub_task, tmp_path):
    name = _mixture("zero_rate_test_mix_hub", [(tasks["many"], 1.0), (hub_task, 0.0), (tasks["more"], 1.0)])
    whole = _take(_feed(name, shard=(0, 1)), 6)
    feed = _feed(name, shard=(0, 1))
    _take(feed, 2)
    feed.save(tmp_path / "ds")
    restarted = _feed(name, shard=(0, 1))
    restarted.restore(tmp_path / "ds")
    assert_same_examples(_take(restarted, 4), whole[2:])


def test_a_drawn_hub_stream_task_is_refused_at_start_or_served_by_tf_data(hub_task):
    """Its position cannot be saved: with dataset checkpoints on, get_dataset refuses it naming the setting;
    off, T5X's own tf.data input serves it (not a feed that fails at its first batch)."""
    with pytest.raises(NotResumableError, match="Hub stream.*DATASET_CHECKPOINTS=False"):
        _feed(hub_task, shard=(0, 1))
    ds = resumable.get_dataset(DatasetConfig(hub_task, LENGTHS, batch_size=8), 0, 1, seqio.EncDecFeatureConverter,
                               checkpointed=False)
    batch = next(ds.as_numpy_iterator())
    assert batch["encoder_input_tokens"].shape == (8, 32) and np.any(batch["encoder_input_tokens"])
