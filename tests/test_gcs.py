"""A mirror, an export and eval output in a bucket, through a real GCS JSON API (gcp-storage-emulator on
127.0.0.1): fileio, `mt0 show`, seqio.get_dataset (plain, .gz, parquet, shards), `mt0 export --out gs://`
and its resume, `mt0 report` on gs://, and a damaged file in a bucket."""

import gzip
import io
import json
import os

import pytest
import seqio

from conftest import TEST_LENGTHS
from gcs_emulator import make_bucket, running_emulator, upload_tree
from multilingual_t0.catalog.tables import SAMPLES_DIR
from multilingual_t0.cli import main
from multilingual_t0.errors import DamagedFileError
from multilingual_t0.jobs import export as export_module
from multilingual_t0.sources import fileio

RTE_TASK = "super_glue_rte_GPT_3_style"
FORMAT_TASKS = {  # how the split is stored in the bucket -> a task reading it
    "jsonl.gz": ("ag_news", "ag_news_classify_question_first"),
    "parquet": ("imdb", "imdb_Movie_Expressed_Sentiment"),
    "shards": ("dbpedia_14", "dbpedia_14_given_list_what_category_does_the_paragraph_belong_to"),
}


def _sample_records(*parts):
    with open(os.path.join(SAMPLES_DIR, *parts), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="session")
def gcs(tmp_path_factory):
    """The emulator, STORAGE_EMULATOR_HOST set, and bucket gs://mt0-test holding mirror/ (from the
    embedded samples: super_glue/rte as .jsonl, ag_news .jsonl.gz, imdb .parquet, dbpedia_14 2 shards)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    local = tmp_path_factory.mktemp("mirror")
    for split in ("train", "validation"):
        (local / "super_glue" / "rte").mkdir(parents=True, exist_ok=True)
        (local / "super_glue" / "rte" / f"{split}.jsonl").write_bytes(
            open(os.path.join(SAMPLES_DIR, "super_glue", "rte", f"{split}.jsonl"), "rb").read())
    (local / "ag_news").mkdir()
    with gzip.open(local / "ag_news" / "train.jsonl.gz", "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in _sample_records("ag_news", "train.jsonl"))
    (local / "imdb").mkdir()
    pq.write_table(pa.Table.from_pylist(_sample_records("imdb", "train.jsonl")), local / "imdb" / "train.parquet")
    (local / "dbpedia_14").mkdir()
    records = _sample_records("dbpedia_14", "train.jsonl")
    for k, part in enumerate((records[:2], records[2:])):
        with open(local / "dbpedia_14" / f"train-{k:05d}-of-00002.jsonl", "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in part)

    old = os.environ.get(fileio.EMULATOR_ENV)
    with running_emulator() as url:
        os.environ[fileio.EMULATOR_ENV] = url
        try:
            bucket = make_bucket("mt0-test")
            upload_tree(str(local), bucket + "/mirror")
            yield {"url": url, "bucket": bucket, "mirror": bucket + "/mirror", "local": str(local)}
        finally:
            if old is None:
                os.environ.pop(fileio.EMULATOR_ENV, None)
            else:
                os.environ[fileio.EMULATOR_ENV] = old


@pytest.fixture
def bucket_mirror(gcs, monkeypatch):
    monkeypatch.setenv("MT0_DATA_SOURCE", "mirror")
    monkeypatch.setenv("MT0_DATA_DIR", gcs["mirror"])
    return gcs


def test_fileio_on_a_bucket(gcs):
    base = gcs["bucket"] + "/fileio"
    fileio.makedirs(base)
    fileio.write_text(base + "/a.txt", "één\n")
    with fileio.open(base + "/b.bin", "wb") as f:
        f.write(b"\x00\x01")
    assert fileio.read_text(base + "/a.txt") == "één\n" and fileio.exists(base + "/b.bin")
    assert fileio.glob(base + "/*.txt") == [base + "/a.txt"] and fileio.isdir(base)
    fileio.rename(base + "/a.txt", base + "/c.txt")
    assert not fileio.exists(base + "/a.txt") and fileio.read_text(base + "/c.txt") == "één\n"
    fileio.remove(base + "/c.txt")
    assert fileio.glob(base + "/*.txt") == []


def test_mt0_show_reads_a_mirror_in_a_bucket(bucket_mirror, capsys):
    assert main(["show", RTE_TASK, "-n", "2", "--json"]) == 0
    from_bucket = json.loads(capsys.readouterr().out)
    assert main(["show", RTE_TASK, "-n", "2", "--json", "--source", "samples"]) == 0
    assert from_bucket == json.loads(capsys.readouterr().out) and from_bucket


def _examples(task, split="train"):
    ds = seqio.get_dataset(task, TEST_LENGTHS, dataset_split=split, shuffle=False,
                           feature_converter=seqio.PassThroughFeatureConverter())
    return [(ex["inputs"].tolist(), ex["targets"].tolist()) for ex in ds.as_numpy_iterator()]


@pytest.mark.parametrize("stored", ["jsonl", *FORMAT_TASKS])
def test_seqio_reads_each_format_from_a_bucket(registered, bucket_mirror, monkeypatch, stored):
    task = RTE_TASK if stored == "jsonl" else FORMAT_TASKS[stored][1]
    from_bucket = _examples(task)
    monkeypatch.setenv("MT0_DATA_SOURCE", "samples")
    assert from_bucket == _examples(task) and len(from_bucket) >= 3


def test_shards_in_a_bucket_split_per_host(registered, bucket_mirror):
    source = seqio.get_mixture_or_task(FORMAT_TASKS["shards"][1]).source
    whole = [ex["inputs"] for ex in source.iter_examples("train")]
    hosts = [[ex["inputs"] for ex in source.iter_examples("train", i, 2)] for i in range(2)]
    assert sorted(hosts[0] + hosts[1]) == sorted(whole) and not set(hosts[0]) & set(hosts[1])
    assert hosts[0] == whole[:2]  # two shards, two hosts: host 0 reads only the first file


def test_export_to_a_bucket_and_resume(registered, gcs, monkeypatch, tmp_path, capsys):
    out = gcs["bucket"] + "/export"
    local = tmp_path / "local"
    assert main(["export", RTE_TASK, "--out", str(local), "--source", "samples"]) == 0
    expected = (local / f"{RTE_TASK}.train.jsonl").read_bytes()
    assert expected.count(b"\n") >= 3

    # An export stopped after two committed parts of 1 line: the parts are in the bucket, no file yet.
    from multilingual_t0.pipeline import examples as examples_module

    real = examples_module.iter_text
    monkeypatch.setattr(export_module, "PART_LINES", 1)

    def interrupted(task, split):
        for n, example in enumerate(real(task, split)):
            if n == 2:
                raise KeyboardInterrupt
            yield example

    monkeypatch.setattr(export_module, "iter_text", interrupted)  # export's own reference
    assert main(["export", RTE_TASK, "--out", out, "--source", "samples"]) != 0  # "interrupted"
    target = f"{out}/{RTE_TASK}.train.jsonl"
    parts = fileio.glob(target + ".partial-*")
    assert len(parts) == 2 and not fileio.exists(target)
    # Mark the first part: if the resumed export reuses it (rather than redoing it), the mark survives.
    first = fileio.read_text(parts[0])
    fileio.write_text(parts[0], first.replace('"inputs": "', '"inputs": "RESUMED '))

    monkeypatch.setattr(export_module, "iter_text", real)
    capsys.readouterr()
    assert main(["export", RTE_TASK, "--out", out, "--source", "samples", "--json"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    with fileio.open(target, "rb") as f:
        got = f.read()
    assert got.replace(b"RESUMED ", b"") == expected and got.count(b"RESUMED ") == 1
    assert fileio.glob(target + ".partial-*") == []
    assert manifest["tasks"][RTE_TASK]["examples"] == expected.count(b"\n")
    assert json.loads(fileio.read_text(out + "/manifest.json")) == manifest


def test_parquet_export_to_a_bucket(registered, gcs):
    import pyarrow.parquet as pq

    out = gcs["bucket"] + "/export_parquet"
    assert main(["export", RTE_TASK, "--out", out, "--source", "samples", "--format", "parquet"]) == 0
    with fileio.open(f"{out}/{RTE_TASK}.train.parquet", "rb") as f:
        table = pq.read_table(io.BytesIO(f.read()))
    assert table.num_rows >= 3 and set(table.column_names) >= {"inputs", "targets"}


def test_mt0_report_on_eval_output_in_a_bucket(gcs, capsys):
    root = gcs["bucket"] + "/eval/inference_eval"
    accuracy = {"xnli.en_GPT_3_style_score_eval": 40.0, "xnli.en_MNLI_crowdsource_score_eval": 50.0,
                "xnli.fr_GPT_3_style_score_eval": 30.0, "xnli.fr_MNLI_crowdsource_score_eval": 70.0}
    for task, acc in accuracy.items():  # seqio's JSONLogger: one line per evaluated step
        fileio.write_text(f"{root}/{task}-metrics.jsonl",
                          json.dumps({"step": 1_000_000, "accuracy": 1.0}) + "\n"
                          + json.dumps({"step": 1_002_000, "accuracy": acc}) + "\n")
    assert main(["report", gcs["bucket"] + "/eval", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    written = result["files"]
    assert all(path.startswith(gcs["bucket"] + "/eval/report/") for path in written.values())
    with fileio.open(written["summary"]) as f:
        summary = f.read()
    assert "xnli,mean,4,47.5000" in summary  # mean over en (45) and fr (50) of the prompt medians
    with fileio.open(written["chart"], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_truncated_gzip_in_a_bucket_names_the_file(registered, gcs, monkeypatch):
    mirror = gcs["bucket"] + "/damaged"
    text = "".join(json.dumps(r) + "\n" for r in _sample_records("ag_news", "train.jsonl") * 50)
    data = gzip.compress(text.encode("utf-8"))
    with fileio.open(mirror + "/ag_news/train.jsonl.gz", "wb") as f:
        f.write(data[: len(data) // 2])
    monkeypatch.setenv("MT0_DATA_SOURCE", "mirror")
    monkeypatch.setenv("MT0_DATA_DIR", mirror)
    source = seqio.get_mixture_or_task(FORMAT_TASKS["jsonl.gz"][1]).source
    with pytest.raises(DamagedFileError) as err:
        list(source.iter_examples("train"))
    message = str(err.value)
    assert f"{mirror}/ag_news/train.jsonl.gz" in message and "mt0 download" in message
    assert err.value.records_read > 0


def test_download_to_a_bucket_then_read_it(registered, gcs, tmp_path, monkeypatch):
    """`mt0 download --to gs://...` (a local folder stands in for the Hub repository)."""
    import dataclasses

    from multilingual_t0.catalog.datasets import find_dataset
    from multilingual_t0.sources.download import download_split, is_complete

    records = _sample_records("super_glue", "rte", "train.jsonl") * 5
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    spec = dataclasses.replace(find_dataset("super_glue", "rte")[0], hub_id=str(tmp_path / "repo"), hub_config=None)
    mirror = gcs["bucket"] + "/downloaded"
    written = download_split(spec, "train", mirror)
    assert written == [f"{mirror}/super_glue/rte/train-00000-of-00001.jsonl.gz"]
    assert is_complete(f"{mirror}/super_glue/rte/train")
    monkeypatch.setenv("MT0_DATA_SOURCE", "mirror")
    monkeypatch.setenv("MT0_DATA_DIR", mirror)
    from multilingual_t0 import settings
    from multilingual_t0.sources.layouts import catalog_split
    from multilingual_t0.sources.located import locate

    got = list(locate(catalog_split(spec, spec.split("train")), settings.current()))
    assert sorted(map(json.dumps, got)) == sorted(map(json.dumps, records))


def test_reading_a_large_file_in_a_bucket_streams(gcs, monkeypatch):
    """The first record of a 20 MB file costs one block, not the file."""
    from gcsfs.core import GCSFile

    from multilingual_t0.sources.files import read_file

    path = gcs["bucket"] + "/large/train.jsonl"
    line = json.dumps({"premise": "x" * 1000, "label": 0}) + "\n"
    with fileio.open(path, "w") as f:
        for _ in range(20_000):
            f.write(line)
    fetched = []
    real = GCSFile._fetch_range

    def spy(self, start, end):
        fetched.append(end - start)
        return real(self, start, end)

    monkeypatch.setattr(GCSFile, "_fetch_range", spy)
    records = read_file(path)
    assert next(records)["label"] == 0
    assert fileio.size(path) > 20_000_000 and sum(fetched) <= fileio.READ_BLOCK_SIZE + 65_536
    records.close()


@pytest.fixture(scope="module")
def large_file_in_bucket(gcs, tmp_path_factory):
    from test_virtual_shards import _sorted_xp3_file

    local = _sorted_xp3_file(tmp_path_factory.mktemp("large") / "merged_sw.jsonl")
    url = gcs["bucket"] + "/large/merged_sw.jsonl"
    with open(local, "rb") as src, fileio.open(url, "wb") as dst:
        dst.write(src.read())
    return local, url


@pytest.mark.parametrize("hosts", [1, 3, 4])
def test_a_large_file_in_a_bucket_is_read_one_nth_per_host(large_file_in_bucket, monkeypatch, hosts):
    """Virtual shards through the emulator: host 0 of 4 fetches <= 35 % of the file's bytes, and the
    hosts' records are disjoint and cover the file."""
    from test_virtual_shards import PER_SOURCE, SOURCES

    from multilingual_t0.sources import reading

    local, url = large_file_in_bucket
    fetched = []
    real = fileio.read_range
    monkeypatch.setattr(fileio, "read_range", lambda p, a, b: fetched.append(len(data := real(p, a, b))) or data)
    seen = []
    for host in range(hosts):
        fetched.clear()
        seen += [i for i, _ in reading.read_split([url], shuffle=True, seed=5, shard_index=host, num_shards=hosts)]
        if host == 0:
            assert sum(fetched) <= (0.35 if hosts == 4 else 1.1) * os.path.getsize(local)
    assert len(seen) == len(set(seen)) == SOURCES * PER_SOURCE


@pytest.mark.parametrize("hosts", [2, 3, 4])
def test_a_large_file_in_a_bucket_read_in_order_is_divided_among_hosts(large_file_in_bucket, hosts):
    """shuffle=False (evaluation, export) from a bucket: hosts' records are disjoint, in file order, and cover it."""
    from test_virtual_shards import PER_SOURCE, SOURCES

    from multilingual_t0.sources import reading

    _, url = large_file_in_bucket
    parts = [[i for i, _ in reading.read_split([url], shard_index=host, num_shards=hosts)] for host in range(hosts)]
    assert all(p == sorted(p) for p in parts)
    seen = sum(parts, [])
    assert len(seen) == len(set(seen)) == SOURCES * PER_SOURCE
