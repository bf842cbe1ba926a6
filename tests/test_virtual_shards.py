"""Large files read in virtual shards: byte ranges cut at line boundaries (JSONL), row groups (Parquet).

A 100,000-record xP3 file sorted by 50 sources and a label-sorted single-file catalog split: shuffled
reading samples the whole file from its first records; a host reads about 1/n of the bytes; the shards of
any number of hosts are disjoint and cover the file; a record's index does not depend on the host count.
"""

import collections
import gzip
import itertools
import json
import logging
import os
import random

import pytest
from scipy.stats import chisquare

from multilingual_t0 import settings
from multilingual_t0.catalog.datasets import find_dataset
from multilingual_t0.sources import fileio, reading
from multilingual_t0.sources.files import read_jsonl, read_jsonl_range
from multilingual_t0.sources.layouts import catalog_split

SOURCES, PER_SOURCE = 50, 2_000
FIRST = 2_048


def _sorted_xp3_file(path):
    """merged_sw.jsonl as bigscience wrote it: the per-prompt files concatenated, so sorted by source."""
    rng = random.Random(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for s in range(SOURCES):
            for i in range(PER_SOURCE):
                words = " ".join(rng.choice(["habari", "ya", "leo", "swali", "jibu", "kweli"])
                                 for _ in range(rng.randrange(5, 40)))
                f.write(json.dumps({"inputs": f"Source {s}: {words}", "targets": f"source-{s}"},
                                   ensure_ascii=False) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def xp3_mirror(tmp_path_factory):
    root = tmp_path_factory.mktemp("xp3_mirror")
    path = _sorted_xp3_file(root / "xP3" / "sw" / "merged_sw.jsonl")
    return str(root), path


@pytest.fixture
def byte_counter(monkeypatch):
    """Bytes fetched per path through fileio.read_range (what a host reads)."""
    counts = collections.Counter()
    real = fileio.read_range

    def counting(path, start, end):
        data = real(path, start, end)
        counts[path] += len(data)
        return data

    monkeypatch.setattr(fileio, "read_range", counting)
    return counts


def _chi_square_p(counter, categories):
    return chisquare([counter.get(c, 0) for c in categories]).pvalue


@pytest.mark.parametrize("cuts,block", [(1, 1 << 20), (3, 97), (7, 4096), (333, 64)])
def test_byte_ranges_cut_at_lines_partition_the_file(tmp_path, cuts, block):
    path = tmp_path / "a.jsonl"
    rng = random.Random(cuts)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(3_000):
            f.write(json.dumps({"i": i, "t": "é" * rng.randrange(0, 200)}, ensure_ascii=False) + "\n")
            if i % 500 == 0:
                f.write("\n")  # blank lines are not records
        f.write(json.dumps({"i": 3_000}))  # the last line has no newline
    size = os.path.getsize(path)
    bounds = [size * k // cuts for k in range(cuts + 1)]
    got = [r["i"] for a, b in zip(bounds, bounds[1:]) for _, r in read_jsonl_range(str(path), a, b, block)]
    assert got == [r["i"] for r in read_jsonl(str(path))] == list(range(3_001))


def test_a_large_sorted_xp3_file_is_mixed_from_the_first_batch(xp3_mirror, monkeypatch):
    """Read by the task xp3.sw with shuffle=True: the first 2,048 examples cover >= 45 of 50 sources and
    pass a chi-square test of uniformity; the same seed gives the same stream, another epoch another."""
    import seqio

    import multilingual_t0.tasks  # noqa: F401  registers

    root, _ = xp3_mirror
    monkeypatch.setenv("MT0_DATA_SOURCE", "mirror")
    monkeypatch.setenv("MT0_DATA_DIR", root)
    source = seqio.get_mixture_or_task("xp3.sw").source

    def first(seed, epoch=0):
        return [e["targets"] for e in itertools.islice(
            source.iter_examples("train", shuffle=True, seed=seed, epoch=epoch), FIRST)]

    stream = first(seed=7)
    counts = collections.Counter(stream)
    assert len(counts) >= 45
    assert _chi_square_p(counts, [f"source-{s}" for s in range(SOURCES)]) > 0.001
    assert first(seed=7) == stream
    assert first(seed=7, epoch=1) != stream
    # In file order the same reader gives two sources only: the file is sorted.
    in_order = [e["targets"] for e in itertools.islice(source.iter_examples("train"), FIRST)]
    assert set(in_order) == {"source-0", "source-1"}


def test_a_label_sorted_single_file_catalog_split_is_mixed(tmp_path, monkeypatch):
    """ag_news stored as one train.jsonl sorted by label (4 labels x 25,000)."""
    import seqio

    import multilingual_t0.tasks  # noqa: F401  registers

    sample = [json.loads(line) for line in open(os.path.join(
        os.path.dirname(reading.__file__), "..", "data", "samples", "ag_news", "train.jsonl"), encoding="utf-8")]
    (tmp_path / "ag_news").mkdir()
    with open(tmp_path / "ag_news" / "train.jsonl", "w", encoding="utf-8") as f:
        for label in range(4):
            texts = [r["text"] for r in sample]
            for i in range(25_000):
                f.write(json.dumps({"text": f"{texts[i % len(texts)]} ({i})", "label": label}) + "\n")
    monkeypatch.setenv("MT0_DATA_SOURCE", "mirror")
    monkeypatch.setenv("MT0_DATA_DIR", str(tmp_path))
    source = seqio.get_mixture_or_task("ag_news_classify_question_first").source
    targets = [e["targets"] for e in itertools.islice(source.iter_examples("train", shuffle=True, seed=3), FIRST)]
    counts = collections.Counter(targets)
    assert len(counts) == 4
    assert _chi_square_p(counts, sorted(counts)) > 0.001
    first_in_order = {e["targets"] for e in itertools.islice(source.iter_examples("train"), FIRST)}
    assert len(first_in_order) == 1


@pytest.mark.parametrize("hosts", [1, 3, 4])
def test_hosts_read_disjoint_shards_that_cover_the_file(xp3_mirror, byte_counter, hosts):
    _, path = xp3_mirror
    size = os.path.getsize(path)
    seen = []
    for host in range(hosts):
        byte_counter.clear()
        seen += [i for i, _ in reading.read_split([path], shuffle=True, seed=1, shard_index=host, num_shards=hosts)]
        if hosts == 4 and host == 0:
            assert byte_counter[path] <= 0.35 * size, byte_counter[path] / size
    assert len(seen) == len(set(seen)) == SOURCES * PER_SOURCE
    # The index is the record's byte offset: the same whatever the number of hosts.
    assert set(seen) == {i for i, _ in reading.read_split([path])}


def test_a_record_keeps_its_index_in_order_and_shuffled(xp3_mirror):
    _, path = xp3_mirror
    in_order = dict(itertools.islice(reading.read_split([path]), 5_000))
    shuffled = dict(itertools.islice(reading.read_split([path], shuffle=True, seed=2), 5_000))
    common = set(in_order) & set(shuffled)
    assert common and all(in_order[i] == shuffled[i] for i in common)


def test_small_files_are_read_as_before(tmp_path):
    """Below the cut size nothing changes: indices are positions, hosts keep every n-th record."""
    path = tmp_path / "small.jsonl"
    path.write_text("".join(json.dumps({"i": i}) + "\n" for i in range(100)))
    assert reading.virtual_shards([str(path)]) is None
    assert [i for i, _ in reading.read_split([str(path)], shard_index=1, num_shards=3)] == list(range(1, 100, 3))


def test_parquet_row_groups_are_shards(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.setattr(reading, "CUT_MIN_BYTES", 1)
    path = str(tmp_path / "train.parquet")
    pq.write_table(pa.Table.from_pylist([{"i": i} for i in range(1_000)]), path, row_group_size=100)
    shards = reading.virtual_shards([path])
    assert [s.row_group for s in shards] == list(range(10))
    seen = [r["i"] for host in range(3) for _, r in reading.read_split([path], shuffle=True, seed=0,
                                                                       shard_index=host, num_shards=3)]
    assert sorted(seen) == list(range(1_000))


def test_a_large_gzip_file_is_named_once_with_the_fix(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(reading, "CUT_MIN_BYTES", 1)
    monkeypatch.setattr(reading, "_WARNED_GZIP", set())
    path = str(tmp_path / "train.jsonl.gz")
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps({"i": i}) + "\n" for i in range(50))
    with caplog.at_level(logging.WARNING, logger="multilingual_t0.sources.reading"):
        for _ in range(2):
            assert len(list(reading.read_split([path], shuffle=True, seed=0))) == 50
    warnings = [r.getMessage() for r in caplog.records if "cannot be cut" in r.getMessage()]
    assert len(warnings) == 1 and path in warnings[0] and "mt0 download" in warnings[0] and "gunzip" in warnings[0]


def test_catalog_layout_reads_a_large_mirror_file_in_shards(tmp_path, monkeypatch):
    """Through locate(): the located split of a large single-file catalog split reads as shards per host."""
    from multilingual_t0.sources.located import locate

    spec = find_dataset("ag_news")[0]
    (tmp_path / "ag_news").mkdir()
    with open(tmp_path / "ag_news" / "train.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps({"text": "x" * 100, "label": i % 4}) + "\n" for i in range(60_000))
    located = locate(catalog_split(spec, spec.split("train")),
                     settings.DataSettings(source="mirror", data_dir=str(tmp_path)))
    assert reading.virtual_shards(located.files)
    parts = [sum(1 for _ in located.records(host, 4, shuffle=True, seed=0)) for host in range(4)]
    assert sum(parts) == 60_000 and min(parts) > 13_000


@pytest.mark.parametrize("hosts", [2, 3, 4])
def test_hosts_reading_in_order_get_disjoint_parts_that_cover_the_file(xp3_mirror, byte_counter, hosts):
    """Evaluation and `mt0 export` read without shuffling: each host reads its own virtual shards, in file
    order, about 1/n of the bytes; together the hosts read every record once."""
    _, path = xp3_mirror
    size = os.path.getsize(path)
    everything = [i for i, _ in reading.read_split([path])]
    parts = []
    for host in range(hosts):
        byte_counter.clear()
        parts.append([i for i, _ in reading.read_split([path], shard_index=host, num_shards=hosts)])
        assert byte_counter[path] <= (1.2 / hosts + 0.02) * size, (host, byte_counter[path] / size)
        assert parts[-1] == sorted(parts[-1])  # file order
    assert sorted(sum(parts, [])) == everything and len(set(sum(parts, []))) == len(everything)


def test_hosts_of_an_xp3_task_read_in_order_cover_it(xp3_mirror, monkeypatch):
    import seqio

    import multilingual_t0.tasks  # noqa: F401

    root, _ = xp3_mirror
    monkeypatch.setenv("MT0_DATA_SOURCE", "mirror")
    monkeypatch.setenv("MT0_DATA_DIR", root)
    source = seqio.get_mixture_or_task("xp3.sw").source
    parts = [[e["inputs"] for e in source.iter_examples("train", host, 3)] for host in range(3)]
    assert sum(len(p) for p in parts) == SOURCES * PER_SOURCE
    assert sorted(sum(parts, [])) == sorted(e["inputs"] for e in source.iter_examples("train"))


LINE = 128  # bytes per line, newline included: every 64 KB shard boundary falls exactly on a line start


def _fixed_width_file(path, lines):
    with open(path, "w", encoding="utf-8") as f:
        for i in range(lines):
            text = json.dumps({"inputs": f"line {i}", "targets": "x"})
            f.write(text[:-1] + ", \"pad\": \"" + "p" * (LINE - len(text) - 12) + "\"}\n")
    assert os.path.getsize(path) == LINE * lines
    return str(path)


@pytest.mark.parametrize("hosts, shuffle", [(1, False), (2, False), (3, True), (4, False)])
def test_byte_ranges_cut_exactly_at_line_starts_lose_and_repeat_nothing(tmp_path, hosts, shuffle):
    path = _fixed_width_file(tmp_path / "aligned.jsonl", 40_000)  # 5.1 MB: cut into 64 KB shards
    shards = reading.virtual_shards([path])
    assert len(shards) > 70 and all(s.start % LINE == 0 for s in shards)  # every cut on a line start
    seen = [r["inputs"] for host in range(hosts)
            for _, r in reading.read_split([path], shuffle=shuffle, seed=1, shard_index=host, num_shards=hosts)]
    assert sorted(seen) == sorted(f"line {i}" for i in range(40_000)) and len(set(seen)) == 40_000


def test_a_position_on_a_shard_boundary_resumes_exactly(tmp_path):
    """Saved right after a shard's last record (the next record starts the next shard), a reader of host 1 of
    2 resumes with the next shard's first record."""
    path = _fixed_width_file(tmp_path / "aligned.jsonl", 40_000)
    per_shard = reading.virtual_shards([path])[0].end // LINE
    for after in (per_shard - 1, per_shard, per_shard + 1, 3 * per_shard):
        reader = reading.read_split([path], shard_index=1, num_shards=2)
        head = [i for _, (i, _) in zip(range(after), reader)]
        state = json.loads(json.dumps(reader.state()))
        tail = [i for i, _ in reading.read_split([path], shard_index=1, num_shards=2, state=state)]
        assert head + tail == [i for i, _ in reading.read_split([path], shard_index=1, num_shards=2)], after
