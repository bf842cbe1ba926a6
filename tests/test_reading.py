"""How splits are read: per-host shards (by file, else by record), seeded shuffling, repeats, the record
index that seeds rendering, `mt0 download`'s permuted shards, and damaged files."""

import collections
import gzip
import json

import pytest
import seqio
import tensorflow as tf

from multilingual_t0 import settings
from multilingual_t0.pipeline import mc4_source
from multilingual_t0.sources import download, files, reading
from multilingual_t0.sources.layouts import catalog_split
from multilingual_t0.sources.located import locate
from multilingual_t0.catalog.datasets import find_dataset
from multilingual_t0.cli import main
from multilingual_t0.errors import DamagedFileError

RTE = find_dataset("super_glue", "rte")[0]
RTE_TASK = "super_glue_rte_GPT_3_style"
AG_TASK = "ag_news_classify_question_first"


def rte_records(n):
    return [{"premise": f"premise {i}", "hypothesis": f"hypothesis {i}", "idx": i, "label": i % 2} for i in range(n)]


def write_jsonl(path, records, gz=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(r) + "\n" for r in records).encode("utf-8")
    path.write_bytes(gzip.compress(data) if gz else data)


def write_shards(folder, split, records, count):
    size = -(-len(records) // count)
    for k in range(count):
        write_jsonl(folder / f"{split}-{k:05d}-of-{count:05d}.jsonl", records[k * size:(k + 1) * size])


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    monkeypatch.setenv("MT0_DATA_SOURCE", "mirror")
    monkeypatch.setenv("MT0_DATA_DIR", str(tmp_path))
    return tmp_path


def _text(example, feature):
    """A feature's text: training tasks' sources tokenize in the batch (pipeline/streamed_source.py), keeping the text
    as `<feature>_pretokenized`."""
    return example.get(f"{feature}_pretokenized", example[feature]).decode()


def host_inputs(task, split, index, count, shuffle=False, seed=None):
    source = seqio.get_mixture_or_task(task).source
    ds = source.get_dataset(split, shuffle=shuffle, seed=seed, shard_info=seqio.ShardInfo(index, count))
    return [_text(ex, "inputs") for ex in ds.as_numpy_iterator()]


def opened_files(monkeypatch):
    opened = []
    real = files.read_file

    def spy(path):
        opened.append(path)
        return real(path)

    # read_split (sources/reading.py) opens files through its own import of read_file, and through
    # read_files (sources/files.py) when it reads every file in order.
    monkeypatch.setattr(files, "read_file", spy)
    monkeypatch.setattr(reading, "read_file", spy)
    return opened


@pytest.mark.parametrize("stored_as, hosts", [(6, 3), (6, 4), (1, 3), (2, 3)])
def test_prompted_shards_are_disjoint_and_cover_the_split(registered, mirror, monkeypatch, stored_as, hosts):
    folder = mirror / "super_glue" / "rte"
    if stored_as == 1:
        write_jsonl(folder / "train.jsonl", rte_records(30))
    else:
        write_shards(folder, "train", rte_records(30), stored_as)
    whole = host_inputs(RTE_TASK, "train", 0, 1)
    assert len(whole) == 30
    parts = []
    for i in range(hosts):
        opened = opened_files(monkeypatch)
        parts.append(host_inputs(RTE_TASK, "train", i, hosts))
        files = sorted(p.rsplit("/", 1)[-1] for p in opened)
        if stored_as >= hosts:  # by file: each host opens only its own files
            assert files == sorted(f"train-{k:05d}-of-{stored_as:05d}.jsonl" for k in range(i, stored_as, hosts))
        else:  # by record: every host reads the whole split and keeps index % n == i
            assert len(files) == stored_as
            assert parts[-1] == [x for j, x in enumerate(whole) if j % hosts == i]
    assert sorted(sum(parts, [])) == sorted(whole)
    assert sum(len(p) for p in parts) == len(whole)  # disjoint


@pytest.mark.parametrize("stored_as, hosts", [(4, 2), (1, 2)])
def test_mc4_shards_are_disjoint_and_cover_the_split(registered, mirror, stored_as, hosts):
    folder = mirror / "mc4" / "sw"
    docs = [{"text": f"hati {i} " * 3} for i in range(12)]
    if stored_as == 1:
        write_jsonl(folder / "train.jsonl.gz", docs, gz=True)
    else:
        size = len(docs) // stored_as
        for k in range(stored_as):
            write_jsonl(folder / f"train-{k:05d}-of-{stored_as:05d}.jsonl.gz", docs[k * size:(k + 1) * size], gz=True)
    located = mc4_source.Mc4DataSource("sw").locate("train")

    def texts(i, n):  # the documents host i of n makes its examples of
        return [record["text"] for _, record in located.records(i, n)]

    parts = [texts(i, hosts) for i in range(hosts)]
    assert sorted(sum(parts, [])) == sorted(d["text"] for d in docs)
    assert not set(parts[0]) & set(parts[1]) and all(parts)
    if stored_as >= hosts:
        assert parts[0] == [d["text"] for d in docs[:3] + docs[6:9]]  # files 0 and 2


def test_record_index_is_the_position_in_the_split_however_it_is_read(tmp_path):
    records = rte_records(50)
    write_shards(tmp_path, "train", records, 5)
    paths = files.find_files(str(tmp_path / "train"))[0]
    for kwargs in [{}, {"shuffle": True, "seed": 3}, {"shard_index": 1, "num_shards": 3},
                   {"shard_index": 2, "num_shards": 4, "shuffle": True, "seed": 9, "epoch": 2}]:
        got = list(reading.read_split(paths, **kwargs))
        assert all(records[index] == record for index, record in got), kwargs
    # With the counts file `mt0 download` writes, the offsets come from it (wrong counts would show).
    (tmp_path / "train.counts.json").write_text(json.dumps({f.rsplit("/", 1)[-1]: 10 for f in paths}))
    assert files.file_offsets(paths) == [0, 10, 20, 30, 40]
    (tmp_path / "train.counts.json").write_text(json.dumps({f.rsplit("/", 1)[-1]: 11 for f in paths}))
    assert files.file_offsets(paths) == [0, 11, 22, 33, 44]


def test_same_seed_same_stream_other_seed_or_epoch_another(tmp_path):
    write_shards(tmp_path, "train", rte_records(400), 8)
    paths = files.find_files(str(tmp_path / "train"))[0]

    def order(**kw):
        return [i for i, _ in reading.read_split(paths, shuffle=True, **kw)]

    first = order(seed=5)
    assert first == order(seed=5) and sorted(first) == list(range(400))
    assert first != order(seed=6) and first != order(seed=5, epoch=1)
    assert [i for i, _ in reading.read_split(paths)] == list(range(400))  # shuffle=False: file order


def test_same_seed_gives_identical_datasets_across_runs(registered, mirror):
    write_shards(mirror / "super_glue" / "rte", "train", rte_records(200), 4)
    a = host_inputs(RTE_TASK, "train", 0, 1, shuffle=True, seed=11)
    assert a == host_inputs(RTE_TASK, "train", 0, 1, shuffle=True, seed=11)
    assert a != host_inputs(RTE_TASK, "train", 0, 1, shuffle=True, seed=12)
    assert sorted(a) == sorted(host_inputs(RTE_TASK, "train", 0, 1))


def test_second_pass_yields_the_examples_again(registered, mirror):
    """M10: training past one epoch (tf.data repeat re-runs the generator)."""
    write_shards(mirror / "super_glue" / "rte", "train", rte_records(40), 4)
    source = seqio.get_mixture_or_task(RTE_TASK).source
    plain = [_text(ex, "inputs") for ex in source.get_dataset("train", shuffle=False).repeat(2).as_numpy_iterator()]
    assert len(plain) == 80 and plain[:40] == plain[40:]
    mixed = [_text(ex, "inputs")
             for ex in source.get_dataset("train", shuffle=True, seed=1).repeat(3).as_numpy_iterator()]
    epochs = [mixed[:40], mixed[40:80], mixed[80:]]
    assert all(sorted(e) == sorted(plain[:40]) for e in epochs)
    assert epochs[0] != epochs[1] != epochs[2]  # reshuffled every epoch


def _label_counts(examples, n):
    return collections.Counter(ex["targets"] for ex in examples[:n])


def test_shuffled_reading_of_a_downloaded_label_sorted_split_is_uniform(registered, mirror, monkeypatch):
    """ag_news as stored sorted by label: in file order the first 2,000 training examples have one
    target; written by `mt0 download` (permuted shards) and read shuffled, the labels pass a
    chi-square test of uniformity."""
    from scipy.stats import chisquare

    records = [{"text": f"story {i}", "label": i * 4 // 20_000} for i in range(20_000)]  # 4 labels, sorted
    folder = mirror / "ag_news"
    write_jsonl(folder / "train.jsonl", records)
    source = seqio.get_mixture_or_task(AG_TASK).source

    def first_labels(shuffle):
        ds = source.get_dataset("train", shuffle=shuffle, seed=7).take(2_000)
        counts = collections.Counter(_text(ex, "targets") for ex in ds.as_numpy_iterator())
        return [counts.get(k, 0) for k in sorted(counts)] + [0] * (4 - len(counts))

    as_stored = first_labels(shuffle=False)
    assert chisquare(as_stored).pvalue < 1e-6  # today's behaviour: one class first

    (folder / "train.jsonl").unlink()
    written = download.write_shuffled_shards(iter(records), str(folder / "train"), download.shard_count(20_000))
    assert len(written) == 2
    counts = first_labels(shuffle=True)
    assert chisquare(counts).pvalue > 0.01, counts
    assert sum(counts) == 2_000


def test_download_shards_hold_every_record_once_permuted(tmp_path):
    records = [{"i": i} for i in range(2_500)]
    written = download.write_shuffled_shards(iter(records), str(tmp_path / "train"), 3)
    assert [p.rsplit("/", 1)[-1] for p in written] == [f"train-{k:05d}-of-00003.jsonl.gz" for k in range(3)]
    got = [r["i"] for r in files.read_files(written)]
    assert sorted(got) == list(range(2_500)) and got[:50] != list(range(50))
    counts = json.loads((tmp_path / "train.counts.json").read_text())
    assert sum(counts.values()) == 2_500 and min(counts.values()) > 600
    assert download.is_complete(str(tmp_path / "train"))
    again = download.write_shuffled_shards(iter(records), str(tmp_path / "again" / "train"), 3)
    assert [open(p, "rb").read() for p in again] == [open(p, "rb").read() for p in written]  # deterministic


def _truncated_gzip(path, records):
    data = gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode("utf-8"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[: len(data) * 2 // 3])


def test_damaged_files_name_themselves(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    _truncated_gzip(tmp_path / "a.jsonl.gz", rte_records(3000))
    pq.write_table(pa.Table.from_pylist(rte_records(3000)), tmp_path / "b.parquet", row_group_size=500)
    data = (tmp_path / "b.parquet").read_bytes()
    (tmp_path / "b.parquet").write_bytes(data[: len(data) // 2])
    (tmp_path / "c.jsonl").write_bytes(b'{"premise": "ok", "label": 0}\n' * 3000 + b'{"premise": "\xff\xfe", "label": 1}\n')
    for name, readable in [("a.jsonl.gz", True), ("b.parquet", False), ("c.jsonl", True)]:
        path = str(tmp_path / name)
        with pytest.raises(DamagedFileError) as err:
            list(files.read_file(path))
        message = str(err.value)
        assert path in message and "mt0 download" in message and f"after {err.value.records_read} records" in message
        assert (err.value.records_read > 0) == readable, name


def test_damaged_file_in_a_task_is_a_clear_error(registered, mirror, capsys):
    path = mirror / "super_glue" / "rte" / "train.jsonl.gz"
    _truncated_gzip(path, rte_records(3000))
    with pytest.raises(DamagedFileError, match="train.jsonl.gz"):
        list(seqio.get_mixture_or_task(RTE_TASK).source.iter_examples("train"))
    assert main(["show", RTE_TASK, "-n", "5000"]) == 1
    err = capsys.readouterr().err
    assert str(path) in err and "mt0 download" in err and "Traceback" not in err
    # Through tf.data the message (file, records read, fix) is the error's text.
    ds = seqio.get_mixture_or_task(RTE_TASK).source.get_dataset("train", shuffle=False)
    with pytest.raises(tf.errors.OpError, match="Damaged data file .*train.jsonl.gz"):
        list(ds.as_numpy_iterator())


def test_hub_stream_shuffles_with_datasets_own_buffer(tmp_path, no_network):
    import dataclasses

    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rte_records(300)))
    spec = dataclasses.replace(RTE, hub_id=str(tmp_path / "repo"), hub_config=None)

    def order(**kw):
        located = locate(catalog_split(spec, spec.split("train")), settings.current().replace(source="hub"))
        return [r["idx"] for _, r in located.records(**kw)]

    assert order() == list(range(300))
    shuffled = order(shuffle=True, seed=4)
    assert shuffled == order(shuffle=True, seed=4) != order(shuffle=True, seed=5)
    assert sorted(shuffled) == list(range(300)) and shuffled != list(range(300))


def test_shuffled_reading_yields_from_the_start_and_keeps_every_record(tmp_path, monkeypatch):
    """A task's first example must not wait for a full buffer (hundreds of tasks start at once)."""
    write_jsonl(tmp_path / "train.jsonl", [{"i": i} for i in range(1000)])
    monkeypatch.setenv("MT0_SHUFFLE_BUFFER", "500")
    reader = reading.read_split([str(tmp_path / "train.jsonl")], shuffle=True, seed=0)
    first = next(reader)
    assert reader.state()["window"] == 0 and len(reader._window) == reading.FIRST_WINDOW - 1
    rest = [i for i, _ in reader]
    assert sorted([first[0]] + rest) == list(range(1000)) and rest[:20] != sorted(rest[:20])
    assert max(len(w) for w in [reader._window]) == 0
    monkeypatch.setenv("MT0_SHUFFLE_BUFFER", "64")
    assert settings.current().shuffle_buffer == 64
    monkeypatch.setenv("MT0_SHUFFLE_BUFFER", "lots")
    with pytest.raises(ValueError, match="MT0_SHUFFLE_BUFFER"):
        settings.current().shuffle_buffer
