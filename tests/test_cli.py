"""`mt0` subcommands, called through the console entry point's function (and once as a process)."""

import argparse
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
    from multilingual_t0.catalog.datasets import find_dataset
    from multilingual_t0.sources.download import download_split

    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "train.jsonl").write_text(
        json.dumps({"premise": "p", "hypothesis": "h", "idx": 0, "label": 1}) + "\n", encoding="utf-8")
    spec = dataclasses.replace(find_dataset("super_glue", "rte")[0], hub_id=str(tmp_path / "repo"), hub_config=None)
    paths = download_split(spec, "train", str(tmp_path / "mirror"))
    # The catalog gives RTE's train size (2,490): one shard of permuted records, and the counts file.
    assert paths == [str(tmp_path / "mirror" / "super_glue" / "rte" / "train-00000-of-00001.jsonl.gz")]
    assert json.loads((tmp_path / "mirror" / "super_glue" / "rte" / "train.counts.json").read_text()) == {
        "train-00000-of-00001.jsonl.gz": 1}
    from multilingual_t0 import settings
    from multilingual_t0.sources.layouts import catalog_split
    from multilingual_t0.sources.located import locate

    mirror = settings.current().replace(source="mirror", data_dir=str(tmp_path / "mirror"))
    assert list(locate(catalog_split(spec, spec.split("train")), mirror)) == [
        {"premise": "p", "hypothesis": "h", "idx": 0, "label": 1}]


def test_cache_dry_run(capsys, tmp_path):
    code, out, _ = run(capsys, "cache", "mt5_sglue_train", "--out", str(tmp_path), "--dry-run")
    assert code == 0
    assert "-m seqio.scripts.cache_tasks_main --module_import=multilingual_t0.tasks" in out
    assert "super_glue_boolq_GPT_3_Style" in out and f"--output_cache_dir={tmp_path}" in out
    assert run(capsys, "cache", "nope_mixture", "--out", str(tmp_path), "--dry-run")[0] == 2


# ------------------------------------------------------------------ export: resume, reruns, parquet

TASK = "super_glue_rte_GPT_3_style"  # 4 sample train records


def _export(out, **kwargs):
    from multilingual_t0.jobs.export import export

    done = []
    export(TASK, str(out), on_task=lambda task, count: done.append((task, count)), **kwargs)
    return done


def test_export_resume_appends_after_the_lines_already_written(tmp_path):
    """An interrupted JSONL file is continued, not rewritten: lines already there are kept as they are."""
    assert _export(tmp_path / "full") == [(TASK, 4)]
    lines = (tmp_path / "full" / f"{TASK}.train.jsonl").read_bytes().splitlines(keepends=True)
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    marker = b'{"written": "by the interrupted run"}\n'
    (resumed / f"{TASK}.train.jsonl.partial").write_bytes(marker + lines[1] + lines[2][:9])  # torn 3rd line
    assert _export(resumed) == [(TASK, 4)]
    assert (resumed / f"{TASK}.train.jsonl").read_bytes() == marker + b"".join(lines[1:])
    assert not (resumed / f"{TASK}.train.jsonl.partial").exists()


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_export_rerun_skips_finished_tasks(tmp_path, fmt):
    assert _export(tmp_path, fmt=fmt) == [(TASK, 4)]
    path = tmp_path / f"{TASK}.train.{fmt}"
    before = (path.stat().st_mtime_ns, path.read_bytes())
    assert _export(tmp_path, fmt=fmt) == []  # nothing rewritten
    assert (path.stat().st_mtime_ns, path.read_bytes()) == before


def test_export_interrupted_parquet_is_redone(tmp_path):
    import pyarrow.parquet as pq

    _export(tmp_path / "full", fmt="parquet")
    expected = pq.read_table(tmp_path / "full" / f"{TASK}.train.parquet")
    (tmp_path / "resumed").mkdir()
    (tmp_path / "resumed" / f"{TASK}.train.parquet.partial").write_bytes(b"PAR1 torn by a crash")
    assert _export(tmp_path / "resumed", fmt="parquet") == [(TASK, 4)]
    assert pq.read_table(tmp_path / "resumed" / f"{TASK}.train.parquet").equals(expected)
    assert expected.num_rows == 4


def test_export_rerun_with_other_settings_is_refused(capsys, tmp_path):
    out = str(tmp_path)
    assert run(capsys, "export", TASK, "--out", out, "--max-examples", "2")[0] == 0
    manifest = (tmp_path / "manifest.json").read_text()
    code, _, err = run(capsys, "export", TASK, "--out", out, "--max-examples", "3")
    assert code == 1
    assert f"{out} holds an export made with other settings (max_examples=2 before, 3 now)" in err
    assert "new --out directory" in err
    code, _, err = run(capsys, "export", TASK, "--out", out, "--max-examples", "2", "--format", "parquet")
    assert code == 1 and "format='jsonl' before, 'parquet' now" in err
    assert (tmp_path / "manifest.json").read_text() == manifest  # nothing changed
    assert [n for n in os.listdir(tmp_path) if n != "manifest.json"] == [f"{TASK}.train.jsonl"]
    assert run(capsys, "export", TASK, "--out", out, "--max-examples", "2")[0] == 0  # same settings: fine


# -------------------------------------------------------------------------- download: resumable


def _rte_mirror_files(root):
    from multilingual_t0.catalog.datasets import find_dataset

    spec = find_dataset("super_glue", "rte")[0]
    return [root / "super_glue" / "rte" / f"{s.source}.jsonl" for s in spec.splits]


def test_download_skips_complete_files(capsys, tmp_path, no_network):
    files = _rte_mirror_files(tmp_path)
    for path in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('{"premise": "already here"}\n', encoding="utf-8")
    code, out, err = run(capsys, "download", "super_glue/rte", "--to", str(tmp_path))
    assert code == 0, err  # no Hub call: the network is blocked
    assert all(p.read_text(encoding="utf-8") == '{"premise": "already here"}\n' for p in files)
    assert "3 splits in" in out


def test_download_redoes_an_interrupted_file(capsys, tmp_path, no_network):
    """A `.partial` file is not a complete one: the split is fetched again (here: fails, no network)."""
    files = _rte_mirror_files(tmp_path)
    for path in files[1:]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}\n", encoding="utf-8")
    files[0].with_name(files[0].name + ".partial").write_text("{}\n", encoding="utf-8")
    code, _, err = run(capsys, "download", "super_glue/rte", "--to", str(tmp_path))
    assert code == 1 and "super_glue/rte split 'train'" in err


# ------------------------------------------------------------------------- the README's claims


def test_python_dash_m_is_the_same_tool_and_usage_errors_exit_2():
    """`python -m multilingual_t0` runs `mt0` (argument errors stop before the tasks are imported: quick)."""
    result = subprocess.run([sys.executable, "-m", "multilingual_t0", "show"], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "usage: mt0 show" in result.stderr and "required: name" in result.stderr and result.stdout == ""
    result = subprocess.run([sys.executable, "-m", "multilingual_t0", "--help"], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0 and all(c in result.stdout for c in ("list", "show", "export", "download"))


@pytest.mark.parametrize("argv", [["frobnicate"], ["export", TASK], ["show"], ["stats", TASK, "-n", "many"]])
def test_usage_errors_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "usage: mt0" in capsys.readouterr().err


def test_every_subcommand_takes_source_and_data_dir():
    from multilingual_t0.cli import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(subparsers.choices) >= {"list", "show", "stats", "export", "download", "cache", "report"}
    for name, sub in subparsers.choices.items():
        text = sub.format_help()
        assert "--data-dir DIR" in text and "--source" in text, f"mt0 {name} lacks --data-dir / --source"


def test_data_dir_option_points_the_mirror(capsys, tmp_path, monkeypatch):
    # main() sets both variables from the options; setting them here first makes monkeypatch undo that.
    monkeypatch.setenv("MT0_DATA_SOURCE", "samples")
    monkeypatch.setenv("MT0_DATA_DIR", str(tmp_path / "elsewhere"))
    record = {"premise": "Der Hund schläft im Garten.", "hypothesis": "Ein Tier ruht.", "idx": 0, "label": 0}
    (tmp_path / "super_glue" / "rte").mkdir(parents=True)
    (tmp_path / "super_glue" / "rte" / "train.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    code = main(["show", TASK, "-n", "1", "--json", "--source", "mirror", "--data-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Der Hund schläft im Garten." in json.loads(out)[0]["inputs"]


def test_show_an_lm_adaptation_task_prints_each_prefix_and_its_continuation(registered, capsys):
    """LM-adaptation examples are token ids: `mt0 show` decodes them, so the prefix and its continuation read
    as the document's text."""
    assert main(["show", "mt5_lm_adapt.sw", "--source", "samples", "-n", "2"]) == 0
    out = capsys.readouterr().out
    inputs = [line.split("inputs: ", 1)[1] for line in out.splitlines() if "inputs: " in line]
    targets = [line.split("targets: ", 1)[1] for line in out.splitlines() if "targets: " in line]
    assert len(inputs) == len(targets) == 2 and all(t.strip() for t in inputs + targets)
