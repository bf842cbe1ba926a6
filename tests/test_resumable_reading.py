"""SplitReader's saved position: a reader restored from `state()` continues with exactly the records the
uninterrupted reader reads next, in every layout and order, and restoring costs one window, not the epoch."""

import itertools
import json

import pytest

from multilingual_t0.sources import files, reading


def _write(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def _layouts(tmp_path):
    """name -> files: small files (by file and modulo), one large JSONL (virtual shards), Parquet row groups."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = [{"i": i, "text": f"record {i} " + "x" * (i % 7)} for i in range(600)]
    small = [_write(tmp_path / "small" / f"train-{k:05d}-of-00006.jsonl", records[k * 100:(k + 1) * 100])
             for k in range(6)]
    single = [_write(tmp_path / "single" / "train.jsonl", records)]
    big = [_write(tmp_path / "big" / "train.jsonl", [{"i": i, "pad": "p" * 300} for i in range(20_000)])]
    pq.write_table(pa.Table.from_pylist(records * 20), tmp_path / "rows.parquet", row_group_size=500)
    return {"small": small, "single": single, "big": big, "parquet": [str(tmp_path / "rows.parquet")]}


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    return _layouts(tmp_path_factory.mktemp("layouts"))


@pytest.mark.parametrize("layout", ["small", "single", "big", "parquet"])
@pytest.mark.parametrize("shuffle,hosts", [(False, 1), (False, 4), (True, 1), (True, 3)])
def test_restored_reader_continues_exactly(layouts, layout, shuffle, hosts, monkeypatch):
    monkeypatch.setenv("MT0_SHUFFLE_BUFFER", "300")
    paths = layouts[layout]
    for host in range(hosts):
        kwargs = dict(shuffle=shuffle, seed=11, shard_index=host, num_shards=hosts, epoch=2)
        whole = [i for i, _ in reading.read_split(paths, **kwargs)]
        assert whole, (layout, host)
        for cut in sorted({0, 1, 7, 8, 9, 100, 301, len(whole) // 2, len(whole) - 1, len(whole)}):
            reader = reading.read_split(paths, **kwargs)
            head = [i for i, _ in itertools.islice(reader, cut)]
            state = json.loads(json.dumps(reader.state()))  # what a checkpoint file holds
            tail = [i for i, _ in reading.read_split(paths, **kwargs, state=state)]
            assert head + tail == whole, (layout, host, cut)


def test_every_epoch_has_its_own_order_and_every_record_once(layouts):
    paths = layouts["single"]
    epochs = [[i for i, _ in reading.read_split(paths, shuffle=True, seed=3, epoch=e)] for e in range(3)]
    assert all(sorted(e) == sorted(epochs[0]) for e in epochs) and len(set(epochs[0])) == len(epochs[0])
    assert epochs[0] != epochs[1] != epochs[2] != epochs[0]


def test_restoring_reads_one_window_not_the_epoch(layouts, monkeypatch):
    """The cost of a restore is one window of records (MT0_SHUFFLE_BUFFER) plus a unit's start, wherever the
    reader stood: counted as records decoded while restoring at position 1,000 and at 15,000."""
    monkeypatch.setenv("MT0_SHUFFLE_BUFFER", "256")
    paths = layouts["big"]
    decoded = [0]
    real = files._json_record

    def counting(line, where):
        decoded[0] += 1
        return real(line, where)

    monkeypatch.setattr(files, "_json_record", counting)
    costs = {}
    for position in (1_000, 15_000):
        reader = reading.read_split(paths, shuffle=True, seed=1)
        expected = [i for i, _ in itertools.islice(reader, position + 5)][position:]
        reader = reading.read_split(paths, shuffle=True, seed=1)
        for _ in itertools.islice(reader, position):
            pass
        state = reader.state()
        decoded[0] = 0
        restored = reading.read_split(paths, shuffle=True, seed=1, state=state)
        assert [i for i, _ in itertools.islice(restored, 5)] == expected
        costs[position] = decoded[0]
    assert costs[1_000] <= 256 + 5 and costs[15_000] <= 256 + 5, costs
