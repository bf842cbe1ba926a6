"""LM adaptation through T5X's training input (`resumable.get_dataset`): the mC4 tasks are fed by the fused,
resumable feed from the samples, a mirror (local and in a bucket) and TFDS `c4/multilingual` (a small one
built offline by TFDS itself), and a restored feed continues with exactly the next batch, wherever it was cut,
mid-document included. The prefix-LM split points come from each document's identity: the same on every
host and after a restore, another per epoch; the Hugging Face stream gives the same examples per language."""

import gzip
import json
import os
import sys

import numpy as np
import pytest
import seqio

from conftest import DatasetConfig
from gcs_emulator import make_bucket, running_emulator, upload_tree
from multilingual_t0 import lm_adapt, resumable
from multilingual_t0.errors import DamagedFileError, DataNotFoundError
from multilingual_t0.pipeline import lm_adapt_hf
from multilingual_t0.pipeline.prefix_lm import with_eos
from multilingual_t0.pipeline.resumable_feed import ResumableFeed
from multilingual_t0.pipeline.streamed_mixture import TaskStream
from multilingual_t0.sources import fileio, hub
from multilingual_t0.sources.layouts import mc4_split
from multilingual_t0.sources.located import locate

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
import tfds_c4  # noqa: E402

LENGTHS = {"inputs": 64, "targets": 32}
SAMPLE_LANGUAGES = ["en", "ru", "zh", "ar", "hi", "sw"]
SAMPLE_MIXTURE = "mt5_lm_adapt_test_feed"
TFDS_LANGUAGES = ["sw", "en"]
EOS = 1


def _config(name, seed=1):
    return DatasetConfig(name, LENGTHS, batch_size=4, seed=seed)


def _feed(name, host=0, hosts=1, seed=1):
    feed = resumable.get_dataset(_config(name, seed), host, hosts, seqio.EncDecFeatureConverter)
    assert isinstance(feed, ResumableFeed), "the LM-adaptation input is not on the resumable feed"
    return feed


def _assert_same_batches(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for key in x:
            np.testing.assert_array_equal(x[key], y[key], err_msg=key)


def _check_restores(name, tmp_path, cuts=(2, 17, 33), total=40, host=0, hosts=1):
    """Saved after each cut and restored into a new feed (drawn with another seed: the saved one wins), the
    feed continues with the uninterrupted feed's batches. Returns the saved states. (A save names the start
    of the group of 64 examples whose rows were not all returned: cuts past the first group, ~12 batches.)"""
    feed = _feed(name, host, hosts)
    batches, saved = [], {}
    for i in range(total):
        if i in cuts:
            path = tmp_path / f"ds-{i}"
            feed.save(str(path))
            saved[i] = json.loads(path.read_text())
        batches.append(next(feed))
    for i in cuts:
        restarted = _feed(name, host, hosts, seed=99)
        restarted.restore(str(tmp_path / f"ds-{i}"))
        _assert_same_batches([next(restarted) for _ in range(total - i)], batches[i:])
    return saved


def _skips(saved):
    return [t["skip"] for state in saved.values() for t in state["start"]["tasks"]]


@pytest.fixture(scope="module")
def sample_mixture():
    import multilingual_t0.tasks  # noqa: F401  (registers the languages' tasks)

    return lm_adapt.register_mixture(SAMPLE_MIXTURE, SAMPLE_LANGUAGES).name


def test_run_gin_defaults_feed_lm_adaptation_resumably(sample_mixture):
    """The issue's case: with dataset checkpoints on, one language and the six-language mixture on the samples
    are served by the resumable feed, not refused."""
    for name in ("mt5_lm_adapt.sw", sample_mixture):
        feed = _feed(name)
        batch = next(feed)
        assert batch["encoder_input_tokens"].shape == (4, LENGTHS["inputs"])


@pytest.mark.parametrize("host, hosts", [(0, 1), (1, 2)])
def test_sample_mixture_restores_exactly(sample_mixture, tmp_path, host, hosts):
    saved = _check_restores(sample_mixture, tmp_path, host=host, hosts=hosts)
    # Some cut fell inside a document: its earlier segments were returned, the rest came after the restore.
    assert any(skip > 1 for skip in _skips(saved))


def _gz_mirror(root, languages=("sw", "yo"), shards=3):
    """mc4/<lang>/train-0000k-of-0000n.jsonl.gz documents: as `mt0 download` writes a split."""
    for code in languages:
        folder = root / "mc4" / code
        folder.mkdir(parents=True)
        for k in range(shards):
            with gzip.open(folder / f"train-{k:05d}-of-{shards:05d}.jsonl.gz", "wt", encoding="utf-8") as f:
                for i in range(6):
                    words = " ".join(f"{code}{k}{i}w{j}" for j in range(30 + 7 * i))
                    f.write(json.dumps({"text": words, "url": f"u{k}{i}"}) + "\n")
    return root


def test_mirror_mixture_restores_exactly(registered, tmp_path, monkeypatch):
    _gz_mirror(tmp_path / "mirror")
    monkeypatch.setenv("MT0_DATA_SOURCE", "mirror")
    monkeypatch.setenv("MT0_DATA_DIR", str(tmp_path / "mirror"))
    name = lm_adapt.register_mixture("mt5_lm_adapt_test_sw_yo", ["sw", "yo"]).name
    _check_restores(name, tmp_path)


@pytest.fixture(scope="module")
def tfds_dir(tmp_path_factory):
    import multilingual_t0.tasks  # noqa: F401
    root = tmp_path_factory.mktemp("tfds")
    tfds_c4.build(str(root), tfds_c4.sample_documents(TFDS_LANGUAGES, copies=6), num_shards=3)
    return root


def test_tfds_split_is_read_as_tfds_reads_it(tfds_dir, monkeypatch):
    """Our reading of the TFRecord shards gives TFDS's own examples in TFDS's own order (unshuffled), and hosts
    divide them without loss or overlap."""
    import tensorflow_datasets as tfds

    monkeypatch.setenv("TFDS_DATA_DIR", str(tfds_dir))
    tfds_only = locate(mc4_split("sw", "train"), _settings("tfds"))
    assert tfds_only.kind == "tfds" and len(tfds_only.files) == 3 and sum(tfds_only.counts) == 30
    builder = tfds.builder_from_directory(str(tfds_dir / "c4" / "multilingual" / tfds_c4.VERSION))
    expected = [ex["text"].decode() for ex in tfds.as_numpy(builder.as_dataset(split="sw", shuffle_files=False))]
    assert [str(f) for f in builder.info.splits["sw"].filepaths] == list(tfds_only.files)
    assert [r["text"] for _, r in tfds_only.records()] == expected
    for hosts in (2, 3, 4):
        for shuffle in (False, True):
            parts = [[i for i, _ in tfds_only.records(h, hosts, shuffle=shuffle, seed=2)] for h in range(hosts)]
            assert sorted(sum(parts, [])) == list(range(30)), (hosts, shuffle)


def _settings(source, **changes):
    from multilingual_t0 import settings

    return settings.current().replace(source=source, **changes)


@pytest.mark.parametrize("host, hosts", [(0, 1), (0, 2), (1, 2)])
def test_tfds_mixture_restores_exactly(tfds_dir, tmp_path, monkeypatch, host, hosts):
    monkeypatch.setenv("MT0_DATA_SOURCE", "tfds")
    monkeypatch.setenv("TFDS_DATA_DIR", str(tfds_dir))
    name = lm_adapt.register_mixture("mt5_lm_adapt_test_tfds", TFDS_LANGUAGES).name
    saved = _check_restores(name, tmp_path, host=host, hosts=hosts)
    if hosts == 1:  # inside a TFRecord file, a position is [records, byte offset]: seekable
        positions = [t["reader"] for state in saved.values() for t in state["start"]["tasks"]]
        assert any(isinstance(p, list) and len(p) == 2 and p[1] > 0 for t in positions for _, p in t["active"])


def test_tfds_in_a_bucket(tfds_dir, tmp_path, monkeypatch):
    """TFDS_DATA_DIR=gs://...: the shards are read from the bucket (a real GCS JSON API on 127.0.0.1), the same
    records as from the local copy, and the feed restores there too."""
    with running_emulator() as url:
        monkeypatch.setenv(fileio.EMULATOR_ENV, url)
        bucket = make_bucket("mt0-tfds")
        upload_tree(str(tfds_dir), f"{bucket}/tfds")
        monkeypatch.setenv("TFDS_DATA_DIR", f"{bucket}/tfds")
        remote = locate(mc4_split("sw", "train"), _settings("tfds"))
        assert remote.files[0].startswith("gs://")
        monkeypatch.setenv("TFDS_DATA_DIR", str(tfds_dir))
        local = locate(mc4_split("sw", "train"), _settings("tfds"))
        assert [r for _, r in remote.records(shuffle=True, seed=4)] == [r for _, r in local.records(shuffle=True, seed=4)]
        monkeypatch.setenv("TFDS_DATA_DIR", f"{bucket}/tfds")
        monkeypatch.setenv("MT0_DATA_SOURCE", "tfds")
        _check_restores("mt5_lm_adapt.sw", tmp_path, cuts=(20,), total=24)


def test_missing_tfds_split_names_the_version_and_what_is_there(tfds_dir, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tfds_dir))
    with pytest.raises(DataNotFoundError, match=r"mC4 language 'yo' \(Yoruba\) split 'train' \(TFDS\)") as err:
        locate(mc4_split("yo", "train"), _settings("tfds"))
    assert "has splits en, en-validation, sw, sw-validation" in str(err.value)
    with pytest.raises(DataNotFoundError, match="c4/multilingual:3.0.1") as err:
        locate(mc4_split("sw", "train", tfds_version="3.0.1"), _settings("tfds"))
    assert "versions prepared there: 3.1.0" in str(err.value)


def test_damaged_tfrecord_is_named(tfds_dir, tmp_path, monkeypatch):
    import shutil

    copy = tmp_path / "tfds"
    shutil.copytree(tfds_dir, copy)
    monkeypatch.setenv("TFDS_DATA_DIR", str(copy))
    located = locate(mc4_split("sw", "train"), _settings("tfds"))
    damaged = located.files[1]
    data = open(damaged, "rb").read()
    with open(damaged, "wb") as f:
        f.write(data[: len(data) // 2])  # cut in the middle of a record
    with pytest.raises(DamagedFileError, match=os.path.basename(damaged)):
        list(located.records())
    with open(damaged, "wb") as f:
        f.write(data[:20] + bytes([data[20] ^ 0xFF]) + data[21:])  # one flipped byte in the first record's data
    with pytest.raises(DamagedFileError, match="corrupt record data at byte 0"):
        list(located.records())


def test_split_points_are_the_same_on_every_host_and_differ_per_epoch(registered):
    source = seqio.get_mixture_or_task("mt5_lm_adapt.ru").source

    def examples(host=0, hosts=1, epoch=0, seed=5):
        stream = source.iter_examples("train", host, hosts, shuffle=True, seed=seed, epoch=epoch,
                                      sequence_length=LENGTHS)
        return sorted((tuple(e["inputs"]), tuple(e["targets"])) for e in stream)

    one_host = examples()
    assert sorted(examples(0, 2) + examples(1, 2)) == one_host  # each document cut alike wherever it is read
    assert examples() == one_host  # and again (a restore)
    assert examples(epoch=1) != one_host and examples(seed=6) != one_host  # new split points per epoch, per seed
    # the same tokens in every epoch: only where the segments are split moved
    assert sorted(t for e in examples(epoch=1) for t in e[0] + e[1]) == sorted(t for e in one_host for t in e[0] + e[1])


def test_hf_stream_gives_the_feeds_examples_per_language(registered):
    """A language's examples in the Hugging Face stream are those the T5X feed reads for its task (same seed):
    same documents in the same order, same split points, trimmed and ended by EOS as the task's chain does."""
    for code in ("sw", "zh"):
        stream = lm_adapt_hf.lm_adapt_stream([code], source="samples", seed=3, inputs_length=LENGTHS["inputs"],
                                             targets_length=LENGTHS["targets"])
        ours = [(list(e["inputs"]), list(e["targets"])) for _, e in zip(range(60), stream)]
        task = seqio.get_mixture_or_task(lm_adapt.task_name(code))
        feed = TaskStream(task, "train", (0, 1), True, 3, None, sequence_length=LENGTHS)
        expected = [with_eos(list(e["inputs"]), list(e["targets"]), LENGTHS["targets"], EOS)
                    for e in (feed.next() for _ in range(60))]
        assert ours == [(list(i), list(t)) for i, t in expected], code


def test_hub_copy_is_read_as_files(tmp_path, monkeypatch):
    """The Hub's mC4 files: found by allenai/c4's file pattern (here in a local snapshot of the repository, as
    `huggingface-cli download` writes it), read by the package's reader (a saveable position); offline, the
    error names the hf:// pattern."""
    import dataclasses

    c4 = tmp_path / "hub" / "allenai" / "c4" / "multilingual"
    c4.mkdir(parents=True)
    for k in range(2):
        with gzip.open(c4 / f"c4-sw.tfrecord-{k:05d}-of-00002.json.gz", "wt", encoding="utf-8") as f:
            f.writelines(json.dumps({"text": f"hati {k} {i}", "url": "u", "timestamp": "t"}) + "\n" for i in range(5))
    layout = mc4_split("sw", "train")
    snapshot = dataclasses.replace(layout, hub=dataclasses.replace(layout.hub, snapshot_dir=str(tmp_path / "hub")))
    located = locate(snapshot, _settings("hub"))
    assert located.kind == "hub" and located.hub_stream is None and len(located.files) == 2
    reader = located.raw_records(shuffle=True, seed=1)
    first = [next(reader) for _ in range(3)]
    rest = list(located.raw_records(shuffle=True, seed=1, state=reader.state()))
    assert len(first + rest) == 10 and sorted(r["text"] for _, r in first + rest) == sorted(
        f"hati {k} {i}" for k in range(2) for i in range(5))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataNotFoundError) as err:
        hub.find_files(layout.hub, "mC4 sw", "fix")
    assert "hf://datasets/allenai/c4/multilingual/c4-sw.*.json.gz" in str(err.value)
