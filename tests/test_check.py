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
