"""`mt0` subcommands, called through the console entry point's function (and once as a process)."""

import dataclasses
import json
import os
import subprocess
import sys

import pytest

from multilingual_t0.cli import main


def run(capsys, *argv):
    code = main(list(argv) + ["--source", "samples"])
    out, err = capsys.readouterr()
    return code, out, err


def test_console_script_runs_as_a_process():
    exe = os.path.join(os.path.dirname(sys.executable), "mt0")
    result = subprocess.run([exe, "list", "--grep", "^mt5_d4_gpt_sglue_train$", "--json"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == [{"mixture": "mt5_d4_gpt_sglue_train", "tasks": 464,
                                          "total_rate": pytest.approx(23_118_591)}]


def test_list_mixture_tasks_with_rates(capsys):
    code, out, _ = run(capsys, "list", "--mixture", "mt5_d4_train", "--grep", "amazon", "--json")
    assert code == 0
    rows = json.loads(out)["tasks"]
    assert len(rows) == 9 and {r["rate"] for r in rows} == {55_555.0}


def test_list_tasks_table(capsys):
    code, out, _ = run(capsys, "list", "--tasks", "--grep", "^super_glue_rte_")
    assert code == 0 and "super_glue_rte_GPT_3_style_score_eval" in out and out.strip().endswith("20 tasks")


def test_unknown_name_suggests_and_exits_2(capsys):
    code, _, err = run(capsys, "list", "--mixture", "mt5_d4_gpt_sglue_trian")
    assert code == 2 and "Did you mean: mt5_d4_gpt_sglue_train" in err


def test_show_task_and_tokens(capsys):
    code, out, _ = run(capsys, "show", "super_glue_rte_GPT_3_style", "-n", "2")
    assert code == 0 and out.count("== super_glue_rte_GPT_3_style [train]") == 2 and "targets: " in out
    code, out, _ = run(capsys, "show", "super_glue_rte_GPT_3_style", "-n", "1", "--tokens", "--json")
    example = json.loads(out)[0]
    assert example["targets"][-1] == 1 and example["targets_pretokenized"] in ("True", "False")


def test_show_mixture_draws_from_several_tasks(capsys):
    code, out, _ = run(capsys, "show", "mt5_d4_train", "-n", "4", "--json")
    shown = json.loads(out)
    assert code == 0 and len(shown) == 4 and len({s["task"] for s in shown}) > 1


def test_show_bad_split(capsys):
    code, _, err = run(capsys, "show", "super_glue_rte_GPT_3_style", "--split", "dev")
    assert code == 1 and "has no split 'dev'; it has: train, validation, test" in err


def test_stats_truncation(capsys):
    code, out, _ = run(capsys, "stats", "super_glue_rte_GPT_3_style", "--lengths", "inputs=1,targets=100000", "--json")
    assert code == 0
    task = json.loads(out)["tasks"][0]
    assert task["inputs"]["truncated"] == 1.0 and task["targets"]["truncated"] == 0.0
    assert task["inputs"]["p50"] <= task["inputs"]["p99"] <= task["inputs"]["max"]
    code, _, err = run(capsys, "stats", "super_glue_rte_GPT_3_style", "--lengths", "inputs:5")
    assert code == 1 and "not feature=number" in err


def _files(folder):
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


def test_export_round_trip_deterministic_and_resumable(capsys, tmp_path):
    import datasets

    first, second = tmp_path / "a", tmp_path / "b"
    assert run(capsys, "export", "mt5_sglue_train", "--out", str(first))[0] == 0
    manifest = json.loads((first / "manifest.json").read_text())
    assert len(manifest["tasks"]) == 72
    name = "super_glue_boolq_GPT_3_Style"
    entry = manifest["tasks"][name]
    loaded = datasets.load_dataset("json", data_files=str(first / entry["file"]), split="train")
    assert len(loaded) == entry["examples"] > 0 and set(loaded.column_names) >= {"inputs", "targets"}
    everything = datasets.load_dataset("json", data_files=str(first / "*.jsonl"), split="train")
    assert len(everything) == sum(t["examples"] for t in manifest["tasks"].values())

    # Simulate an interruption: the task file is half written (torn last line), not in the manifest.
    assert run(capsys, "export", "mt5_sglue_train", "--out", str(second))[0] == 0
    path = second / entry["file"]
    full = path.read_bytes()
    lines = full.splitlines(keepends=True)
    (second / (entry["file"] + ".partial")).write_bytes(b"".join(lines[:1]) + lines[1][:7])
    path.unlink()
    broken = json.loads((second / "manifest.json").read_text())
    del broken["tasks"][name]
    (second / "manifest.json").write_text(json.dumps(broken))
    assert run(capsys, "export", "mt5_sglue_train", "--out", str(second))[0] == 0
    assert path.read_bytes() == full  # resumed, nothing duplicated
    assert _files(first) == _files(second)  # deterministic


def test_export_parquet(capsys, tmp_path):
    import datasets

    code, out, _ = run(capsys, "export", "super_glue_cb_GPT_3_style", "--out", str(tmp_path),
                       "--format", "parquet", "--split", "validation", "--max-examples", "2")
    assert code == 0
    ds = datasets.load_dataset("parquet", data_files=str(tmp_path / "*.parquet"), split="train")
    assert len(ds) == 2 and ds[0]["answer_choices"] == ["True", "False", "Neither"]


def test_download_without_network_fails_clearly(capsys, tmp_path, no_network):
    code, _, err = run(capsys, "download", "super_glue/rte", "--to", str(tmp_path))
    assert code == 1 and "aps/super_glue" in err and "super_glue/rte split 'train'" in err


def test_download_split_writes_the_mirror_layout(tmp_path, no_network):
    """The Hub reader streams a local repository folder; the mirror it writes reads back."""
    from multilingual_t0.catalog import find_dataset
    from multilingual_t0.download import download_split

    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "train.jsonl").write_text(
        json.dumps({"premise": "p", "hypothesis": "h", "idx": 0, "label": 1}) + "\n", encoding="utf-8")
    spec = dataclasses.replace(find_dataset("super_glue", "rte")[0], hub_id=str(tmp_path / "repo"), hub_config=None)
    paths = download_split(spec, "train", str(tmp_path / "mirror"))
    # The catalog gives RTE's train size (2,490): one shard of permuted records, and the counts file.
    assert paths == [str(tmp_path / "mirror" / "super_glue" / "rte" / "train-00000-of-00001.jsonl.gz")]
    assert json.loads((tmp_path / "mirror" / "super_glue" / "rte" / "train.counts.json").read_text()) == {
        "train-00000-of-00001.jsonl.gz": 1}
    from multilingual_t0.sources import open_mirror

    assert list(open_mirror(spec, spec.split("train"), data_dir=str(tmp_path / "mirror"))) == [
        {"premise": "p", "hypothesis": "h", "idx": 0, "label": 1}]


def test_cache_dry_run(capsys, tmp_path):
    code, out, _ = run(capsys, "cache", "mt5_sglue_train", "--out", str(tmp_path), "--dry-run")
    assert code == 0
    assert "-m seqio.scripts.cache_tasks_main --module_import=multilingual_t0.tasks" in out
    assert "super_glue_boolq_GPT_3_Style" in out and f"--output_cache_dir={tmp_path}" in out
    assert run(capsys, "cache", "nope_mixture", "--out", str(tmp_path), "--dry-run")[0] == 2
