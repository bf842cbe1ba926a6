"""mt0 check: every task of a mixture reads, renders and tokenizes its first records, or is named."""

import gzip
import json
import os
import shutil

import pytest

from multilingual_t0.catalog.tables import SAMPLES_DIR
from multilingual_t0.cli import main
from multilingual_t0.jobs import check as check_module


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_t0pp_mixture_passes_on_the_samples(registered, capsys, monkeypatch):
    monkeypatch.setenv("MT0_DATA_SOURCE", "samples")
    code, out, _ = _run(capsys, "check", "mt5_d4_gpt_sglue_train")
    assert code == 0
    assert "mt5_d4_gpt_sglue_train: 464 tasks checked (3 examples each), 464 ok, 0 failed" in out
    assert "FAIL" not in out


def test_eval_names_check_the_validation_split(registered, monkeypatch):
    monkeypatch.setenv("MT0_DATA_SOURCE", "samples")
    results = check_module.check("mt5_d4_score_eval", num_examples=1)
    assert results and {r.split for r in results} == {"validation"} and all(r.ok for r in results)


@pytest.fixture
def broken_sglue_mirror(tmp_path, monkeypatch):
    """The SuperGLUE training datasets from the samples, with wic's train file truncated (gzip) and
    copa's train split missing."""
    for name in ("boolq", "cb", "copa", "multirc", "record", "rte", "wic", "wsc.fixed"):
        src = os.path.join(SAMPLES_DIR, "super_glue", name)
        if os.path.isdir(src):
            shutil.copytree(src, tmp_path / "super_glue" / name)
    wic = tmp_path / "super_glue" / "wic" / "train.jsonl"
    # Many records, cut near the end: reading the first few is fine, only the file's end shows the damage.
    lines = [line for line in wic.read_text(encoding="utf-8").splitlines() if line.strip()] * 200
    data = gzip.compress(("\n".join(lines) + "\n").encode("utf-8"))
    wic.unlink()
    (tmp_path / "super_glue" / "wic" / "train.jsonl.gz").write_bytes(data[: len(data) * 9 // 10])
    os.remove(tmp_path / "super_glue" / "copa" / "train.jsonl")
    monkeypatch.setenv("MT0_DATA_SOURCE", "mirror")
    monkeypatch.setenv("MT0_DATA_DIR", str(tmp_path))
    return tmp_path


def test_a_broken_mirror_fails_naming_the_damaged_file_and_the_missing_split(registered, capsys,
                                                                             broken_sglue_mirror):
    code, out, err = _run(capsys, "check", "mt5_sglue_train")
    assert code == 1
    failing = [line for line in out.splitlines() if line.startswith("FAIL ")]
    wic = [line for line in failing if line.startswith("FAIL super_glue_wic_")]
    copa = [line for line in failing if line.startswith("FAIL super_glue_copa_")]
    assert wic and copa and len(failing) == len(wic) + len(copa)
    assert all("wic/train.jsonl.gz" in line and "DamagedFileError" in line for line in wic)
    assert all("DataNotFoundError" in line and "super_glue/copa" in line and "copa/train" in line for line in copa)
    assert f"{len(failing)} failed" in out and "cannot read their data" in err


def test_json_output_holds_every_message(registered, capsys, broken_sglue_mirror):
    code, out, _ = _run(capsys, "check", "mt5_sglue_train", "-n", "1", "--json")
    report = json.loads(out)
    assert code == 1 and report["summary"]["failed"] > 0
    copa = next(t for t in report["tasks"] if t["task"].startswith("super_glue_copa_"))
    assert not copa["ok"] and "Tried:" in copa["detail"] and "Fix:" in copa["detail"]


def test_verify_end_finds_cut_files_of_every_format(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from multilingual_t0.errors import DamagedFileError
    from multilingual_t0.sources.files import verify_end

    lines = "".join(json.dumps({"i": i, "text": "x" * 50}) + "\n" for i in range(200)).encode()
    pq.write_table(pa.table({"i": list(range(200))}), tmp_path / "a.parquet")
    whole = {"a.jsonl": lines, "a.jsonl.gz": gzip.compress(lines), "a.parquet": (tmp_path / "a.parquet").read_bytes()}
    for name, data in whole.items():
        (tmp_path / name).write_bytes(data)
        assert verify_end(str(tmp_path / name)) is True
        (tmp_path / name).write_bytes(data[: len(data) - 7])
        with pytest.raises(DamagedFileError, match=name):
            verify_end(str(tmp_path / name))


def test_mc4_from_tfds_is_checked_through_its_tfds_source(registered, monkeypatch, tmp_path):
    """Under MT0_DATA_SOURCE=tfds an mC4 task is read by seqio's TFDS source: a missing TFDS copy is named."""
    monkeypatch.setenv("MT0_DATA_SOURCE", "tfds")
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    (result,) = check_module.check("mt5_lm_adapt.sw", num_examples=1)
    assert not result.ok and "DataNotFoundError" in result.error and "TFDS" in result.detail


# ------------------------------------------------------------------ --full: every record, damage anywhere

GOOD_RECORDS = 50


def _lines(n, start=0, pad=""):
    return "".join(json.dumps({"inputs": f"question {i} {pad}", "targets": f"answer {i}"}) + "\n"
                   for i in range(start, start + n))


def _task(folder, name, damaged_name, damaged_bytes):
    """A custom task over a whole file (part-0.jsonl, GOOD_RECORDS records) and `damaged_name`."""
    from multilingual_t0 import custom

    folder.mkdir()
    (folder / "part-0.jsonl").write_text(_lines(GOOD_RECORDS), encoding="utf-8")
    (folder / damaged_name).write_bytes(damaged_bytes)
    return custom.add_task(name, {"train": str(folder / "part-*")})


def _cut_gzip(n):
    data = gzip.compress(_lines(n, GOOD_RECORDS).encode())
    return data[: len(data) * 6 // 10]  # cut in the middle: thousands of whole records before the cut


def _large_jsonl_with_bad_lines(n):
    """An uncompressed JSONL file over CUT_MIN_BYTES (read in virtual shards) whose last line is whole, with
    a line cut short and a line that is JSON but not an object a few lines before its end."""
    lines = _lines(n, GOOD_RECORDS, pad="x" * 70).splitlines(keepends=True)
    lines[-4] = lines[-4][:25] + "\n"
    lines[-2] = "[1, 2]\n"
    return "".join(lines).encode()


def _parquet_with_a_bad_middle_row_group(compression, checksums):
    """3 row groups of 2,000 rows (more than a read batch, so the first records decode); 16 bytes inside the
    middle group's first column chunk overwritten, the footer intact."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"inputs": f"question {i} " + "word " * (i % 7), "targets": f"answer {i}"} for i in range(6000)]
    out = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), out, row_group_size=2000, compression=compression,
                   write_page_checksum=checksums)
    data = bytearray(out.getvalue())
    column = pq.ParquetFile(io.BytesIO(bytes(data))).metadata.row_group(1).column(0)
    middle = column.data_page_offset + column.total_compressed_size // 2
    data[middle:middle + 16] = bytes(range(200, 216))
    return bytes(data)


DAMAGED = {
    "cut_gzip": ("part-1.jsonl.gz", lambda: _cut_gzip(3000), "DamagedFileError: Damaged data file"),
    "bad_lines_in_a_large_jsonl": ("part-1.jsonl", lambda: _large_jsonl_with_bad_lines(45_000),
                                   "BadRecordsFound: 2 of 45,050 records read are not a JSON object; the first: "),
    "parquet_bad_row_group": ("part-1.parquet", lambda: _parquet_with_a_bad_middle_row_group("snappy", False),
                              "DamagedFileError: Damaged data file"),
    "parquet_bad_row_group_crc": ("part-1.parquet", lambda: _parquet_with_a_bad_middle_row_group("zstd", True),
                                  "DamagedFileError: Damaged data file"),
}


@pytest.mark.parametrize("case", DAMAGED)
def test_full_fails_on_a_file_damaged_after_its_first_records(registered, capsys, monkeypatch, tmp_path, case):
    """The cheap check passes (the first records read, each file's end whole); --full reads on, exits 1 and
    prints one line naming the task and the damaged file."""
    from multilingual_t0.sources import files, reading

    damaged_name, make, error = DAMAGED[case]
    name = _task(tmp_path / "data", f"check_full_{case}", damaged_name, make())
    damaged = str(tmp_path / "data" / damaged_name)
    if case == "cut_gzip":  # as a gzip file over 64 MB: too large for the cheap check to read to its end
        monkeypatch.setattr(files, "VERIFY_GZIP_MAX_BYTES", 1024)
    if case == "bad_lines_in_a_large_jsonl":
        assert os.path.getsize(damaged) >= reading.CUT_MIN_BYTES  # read in virtual shards

    code, out, _ = _run(capsys, "check", name)
    assert code == 0, out
    assert f"{name}: 1 tasks checked (3 examples each), 1 ok, 0 failed" in out
    assert ("1 gzip file(s) over 64 MB were not read to their end" in out) == (case == "cut_gzip")

    code, out, err = _run(capsys, "check", name, "--full")
    assert code == 1 and "1 task(s) cannot read their data" in err
    failing = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert len(failing) == 1, out
    assert failing[0].startswith(f"FAIL {name} [train] ") and f" {error}" in failing[0], failing[0]
    assert f"{damaged}" in failing[0].split(error)[1], failing[0]  # the damaged file, in the error itself
    assert f"{name}: 1 tasks checked (every record: " in out and ", 0 ok, 1 failed" in out


def test_full_reads_and_counts_every_record_of_every_file(registered, capsys, tmp_path):
    """Three formats, every record counted; --json gives the counts per task and in the summary."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from multilingual_t0 import custom

    folder = tmp_path / "whole"
    folder.mkdir()
    (folder / "part-0.jsonl").write_text(_lines(50), encoding="utf-8")
    (folder / "part-1.jsonl.gz").write_bytes(gzip.compress(_lines(70, 50).encode()))
    pq.write_table(pa.Table.from_pylist([json.loads(line) for line in _lines(80, 120).splitlines()]),
                   folder / "part-2.parquet", row_group_size=30)
    name = custom.add_task("check_full_whole", {"train": str(folder / "part-*")})
    code, out, _ = _run(capsys, "check", name, "--full")
    assert code == 0 and f"{name}: 1 tasks checked (every record: 200 read), 1 ok, 0 failed" in out, out
    code, out, _ = _run(capsys, "check", name, "--full", "--json")
    report = json.loads(out)
    assert code == 0 and report["summary"]["records"] == 200 and report["summary"]["bad_records"] == 0
    assert [(t["records"], t["bad_records"], t["examples"]) for t in report["tasks"]] == [(200, 0, 3)]


def test_a_bad_record_is_counted_without_full_and_fails_with_it(registered, capsys, tmp_path):
    """A line that is not JSON, among the first records: the cheap check passes and counts it (a job would
    skip it); --full fails, with the count and where the first one is."""
    from multilingual_t0 import custom

    folder = tmp_path / "one_bad"
    folder.mkdir()
    lines = _lines(30).splitlines(keepends=True)
    lines[1] = "{not json\n"
    (folder / "train.jsonl").write_text("".join(lines), encoding="utf-8")
    name = custom.add_task("check_full_one_bad_line", {"train": str(folder / "train.jsonl")})
    code, out, _ = _run(capsys, "check", name, "--json")
    assert code == 0 and [t["bad_records"] for t in json.loads(out)["tasks"]] == [1]
    code, out, _ = _run(capsys, "check", name, "--full")
    assert code == 1
    assert (f"FAIL {name} [train] {folder / 'train.jsonl'}: BadRecordsFound: 1 of 30 records read is not a JSON "
            f"object; the first: {folder / 'train.jsonl'}:2: invalid JSON") in out, out
