"""The results report: aggregation, reading what T5X's eval writes, the table, CSV and chart, and `mt0 report`."""

import csv
import json
import os

import pytest
import seqio

from conftest import EVAL_LENGTHS
from multilingual_t0.cli import main
from multilingual_t0.evaluation import render, report, results, summary
from multilingual_t0.evaluation.results import PromptResult

# Two prompts of XNLI (3 fixed choices) in two languages, one of XCOPA (choices from the record), and two of COPA:
# one for every record, one for the cause items only; COPA's sample record 5 has its answer as both choices.
TASKS = ["xnli.en_GPT_3_style_score_eval", "xnli.en_MNLI_crowdsource_score_eval",
         "xnli.fr_GPT_3_style_score_eval", "xnli.fr_MNLI_crowdsource_score_eval", "xcopa.it_best_option_score_eval",
         "super_glue_copa_best_option_score_eval", "super_glue_copa__why_C1_or_C2_score_eval"]
# (records scored, records whose answer is more than one choice) of each task on the sample data.
RECORDS = {**{t: (3, 0) for t in TASKS[:4]}, TASKS[4]: (2, 0), TASKS[5]: (6, 1), TASKS[6]: (3, 1)}


def prompt(dataset, language, template, accuracy, step=1):
    return PromptResult(f"{dataset}.{language}_{template}_score_eval", dataset, language, template, step,
                        accuracy, "metrics")


def test_median_over_prompts_then_mean_over_languages():
    prompts = [prompt("xnli", "en", t, a) for t, a in zip("abc", (50.0, 70.0, 60.0))]
    prompts += [prompt("xnli", "fr", t, a) for t, a in zip("abcd", (40.0, 90.0, 50.0, 60.0))]
    prompts += [prompt("super_glue/rte", "en", t, a) for t, a in zip("ab", (80.0, 61.0))]
    languages, datasets = summary.aggregate(prompts)
    assert [(r.dataset, r.language, r.prompts, r.accuracy, r.low, r.high) for r in languages] == [
        ("xnli", "en", 3, 60.0, 50.0, 70.0), ("xnli", "fr", 4, 55.0, 40.0, 90.0),
        ("super_glue/rte", "en", 2, 70.5, 61.0, 80.0)]
    assert [(r.dataset, r.language, r.prompts, r.accuracy, r.low, r.high) for r in datasets] == [
        ("xnli", "mean", 7, 57.5, 55.0, 60.0), ("super_glue/rte", "mean", 2, 70.5, 70.5, 70.5)]


def test_accuracy_from_scores_ties_weights_and_choice_counts():
    rows = [  # (target = [[example, choice], is_correct, weight, length], score)
        ([[0, 0], False, 1.0, 3], -2.0), ([[0, 1], True, 1.0, 5], -1.0),  # correct wins
        ([[1, 0], True, 1.0, 2], -4.0), ([[1, 1], False, 1.0, 2], -4.0), ([[1, 2], False, 1.0, 2], -9.0),  # tie
        ([[2, 1], True, 2.0, 4], -3.0), ([[2, 0], False, 2.0, 1], -1.0),  # wrong wins; rows out of order
    ]
    assert results.accuracy_from_scores(rows) == pytest.approx(100.0 * 2 / 4)
    with pytest.raises(ValueError, match="no scored examples"):
        results.accuracy_from_scores([])


def test_task_names_identify_dataset_language_and_prompt():
    index = results._task_index()
    assert results.identify("xwinograd.jp_True_or_False_score_eval", index) == ("xwinograd", "jp", "True or False")
    assert results.identify("anli_GPT_3_style_r2_score_eval", index) == ("anli/r2", "en", "GPT-3 style")
    assert results.identify("super_glue_wsc.fixed_GPT_3_Style_score_eval", index) == (
        "super_glue/wsc.fixed", "en", "GPT-3 Style")
    assert results.identify("xnli.xx_made_up_score_eval", index) == ("xnli", "xx", "made_up")  # not registered
    assert results.identify("mt5_lm_adapt.en", index) is None


def _key(inputs, targets):
    return tuple(int(t) for t in inputs if t), tuple(int(t) for t in targets if t)


def _synthetic(examples_by_task, how):
    """Synthetic log-likelihoods of every (prompt, choice) of TASKS, keyed by their tokens, and the accuracy
    each task must get: `oracle` scores the correct choice highest; `tied` scores all alike (first wins)."""
    scores, expected = {}, {}
    for name, examples in examples_by_task.items():
        for ex in examples:
            scores[_key(ex["inputs"], ex["targets"])] = (0.0 if ex["is_correct"] else -2.0) if how == "oracle" else -1.0
        first_correct = sum(bool(ex["is_correct"]) for ex in examples if int(ex["idx"][1]) == 0)
        groups = len({int(ex["idx"][0]) for ex in examples})
        expected[name] = 100.0 if how == "oracle" else 100.0 * first_correct / groups
    return scores, expected


@pytest.fixture(scope="module")
def eval_dir(tmp_path_factory):
    """What `t5x/eval.py` leaves in EVAL_OUTPUT_DIR: seqio's Evaluator with JSONLogger logging to
    <dir>/inference_eval, here run at two checkpoint steps with synthetic scores (ties, then an oracle)."""
    import multilingual_t0.tasks  # noqa: F401  registers

    root = tmp_path_factory.mktemp("eval_output")
    (root / "inference_eval").mkdir()
    seqio.MixtureRegistry.add("test_report_mix", [(t, 1) for t in TASKS])
    try:
        evaluator = seqio.Evaluator("test_report_mix", seqio.EncDecFeatureConverter(pack=False),
                                    eval_split="validation", sequence_length=EVAL_LENGTHS,
                                    logger_cls=[seqio.JSONLogger], log_dir=str(root / "inference_eval"),
                                    async_compute_metrics=False)
    finally:
        seqio.MixtureRegistry.remove("test_report_mix")
    examples = {name: list(seqio.get_mixture_or_task(name).get_dataset(
        EVAL_LENGTHS, split="validation", shuffle=False, use_cached=False).as_numpy_iterator()) for name in TASKS}
    expected = {}
    for step, how in ((1_000_000, "tied"), (1_002_000, "oracle")):
        scores, expected[step] = _synthetic(examples, how)

        def score_fn(ds, model_feature_shapes=None, _scores=scores):
            # The model: look the (input, choice) pair up; T5X's score_fn returns (index, score) pairs too.
            return [(int(i), _scores[_key(f["encoder_input_tokens"], f["decoder_target_tokens"])])
                    for i, f in ds.as_numpy_iterator()]

        evaluator.evaluate(compute_metrics=True, step=step, score_fn=score_fn)[0].result()
    return root, expected


def test_eval_dir_holds_what_t5x_writes(eval_dir):
    root, _ = eval_dir
    names = sorted(os.listdir(root / "inference_eval"))
    assert f"{TASKS[0]}-metrics.jsonl" in names and f"{TASKS[0]}-1002000.jsonl" in names
    lines = [json.loads(l) for l in open(root / "inference_eval" / f"{TASKS[5]}-metrics.jsonl")]
    assert [l["step"] for l in lines] == [1_000_000, 1_002_000] and "accuracy" in lines[0]
    assert (lines[0]["records_scored"], lines[0]["records_answer_repeated"]) == RECORDS[TASKS[5]]


def test_report_reads_t5x_output_and_writes_table_csv_and_chart(eval_dir, tmp_path):
    root, expected = eval_dir
    result = report.build_report(str(root))
    got = {p.task: (p.step, p.accuracy, p.source, (p.records, p.records_answer_repeated)) for p in result.prompts}
    assert got == {t: (1_002_000, 100.0, "metrics", RECORDS[t]) for t in TASKS}
    earlier = report.build_report(str(root / "inference_eval"), step=1_000_000)
    assert {p.task: p.accuracy for p in earlier.prompts} == pytest.approx(expected[1_000_000])
    assert {(r.dataset, r.language) for r in earlier.languages} == {("xnli", "en"), ("xnli", "fr"), ("xcopa", "it"),
                                                                      ("super_glue/copa", "en")}
    for row in earlier.languages:  # median of two prompts = their mean
        accs = [expected[1_000_000][p.task] for p in earlier.prompts
                if (p.dataset, p.language) == (row.dataset, row.language)]
        assert row.accuracy == pytest.approx(sum(accs) / len(accs)) and row.prompts == len(accs)

    files = render.write_report(earlier, str(tmp_path / "out"))
    with open(files["summary"], newline="") as f:
        rows = list(csv.DictReader(f))
    by_key = {(r["dataset"], r["language"]): float(r["accuracy"]) for r in rows}
    xnli = [r.accuracy for r in earlier.languages if r.dataset == "xnli"]
    assert by_key[("xnli", "mean")] == pytest.approx(sum(xnli) / 2, abs=1e-4)
    assert by_key[("xcopa", "mean")] == pytest.approx(by_key[("xcopa", "it")])
    with open(files["prompts"], newline="") as f:
        assert sorted(r["task"] for r in csv.DictReader(f)) == sorted(TASKS)
    assert {(r["dataset"], r["language"]): (r["records_min"], r["records_max"], r["records_answer_repeated"])
            for r in rows if r["dataset"] in ("super_glue/copa", "xnli")} == {
        ("super_glue/copa", "mean"): ("3", "6", "1"), ("super_glue/copa", "en"): ("3", "6", "1"),
        ("xnli", "mean"): ("6", "6", "0"), ("xnli", "en"): ("3", "3", "0"), ("xnli", "fr"): ("3", "3", "0")}
    markdown = open(files["markdown"]).read()
    assert f"| xnli | 2 | 4 | 6 | {sum(xnli) / 2:.1f} |" in markdown  # 3 records in each language
    assert "| xcopa | it | 1 | 2 |" in markdown
    copa = [r.accuracy for r in earlier.languages if r.dataset == "super_glue/copa"][0]
    assert f"| super_glue/copa | en | 2 | 3\u20136 | {copa:.1f} |" in markdown
    with open(files["chart"], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n" and os.path.getsize(files["chart"]) > 5_000


def test_scores_file_stands_in_for_missing_metrics(eval_dir, tmp_path):
    """A task with only its `<task>-<step>.jsonl` (scores) is scored from it, as t5's metric would."""
    import shutil

    root, expected = eval_dir
    copy = tmp_path / "copy"
    shutil.copytree(root / "inference_eval", copy)
    os.remove(copy / f"{TASKS[4]}-metrics.jsonl")
    (copy / "unrelated_task-metrics.jsonl").write_text('{"step": 1, "accuracy": 5.0}\n')
    result = report.build_report(str(copy), step=1_000_000)
    got = {p.task: (p.accuracy, p.source, (p.records, p.records_answer_repeated)) for p in result.prompts}
    assert got[TASKS[4]] == (pytest.approx(expected[1_000_000][TASKS[4]]), "scores", RECORDS[TASKS[4]])
    assert any("skipped unrelated_task" in n for n in result.notes)


def test_records_each_accuracy_stands_on(eval_dir, tmp_path):
    """Beside each accuracy, the records it stands on, from the metrics T5X wrote: a prompt scoring fewer records
    than another of its dataset and language, and records with their answer as two choices, are named; metrics
    written without the counts (an older run) take them from the inference file of the same step, else say so."""
    import shutil

    root, _ = eval_dir
    notes = report.build_report(str(root)).notes
    assert ("super_glue/copa en: `\u2026why? C1 or C2` 3 of the 6 records another prompt scored (a template that "
            "applies to only some records, e.g. COPA's cause-only and effect-only prompts, renders nothing for the "
            "others)") in notes
    assert any(n.startswith("super_glue/copa en: records whose answer is more than one of their choices")
               and n.endswith("`best_option` 1, `\u2026why? C1 or C2` 1") for n in notes)
    assert not any(n.startswith("xnli") and "records" in n for n in notes)

    old = tmp_path / "old"
    shutil.copytree(root / "inference_eval", old)
    for task in (TASKS[5], TASKS[6]):  # metrics lines as written before the metric counted records
        path = old / f"{task}-metrics.jsonl"
        lines = [json.loads(l) for l in open(path)]
        path.write_text("".join(json.dumps({"step": l["step"], "accuracy": l["accuracy"]}) + "\n" for l in lines))
    os.remove(old / f"{TASKS[6]}-1002000.jsonl")
    result = report.build_report(str(old))
    got = {p.task: (p.source, p.records, p.records_answer_repeated) for p in result.prompts}
    assert got[TASKS[5]] == ("metrics", 6, 1) and got[TASKS[6]] == ("metrics", None, None)
    copa = next(r for r in result.languages if r.dataset == "super_glue/copa")
    assert (copa.records_low, copa.records_high) == (None, None)
    assert f"records scored not known for 1 prompt(s) (metrics written without records_scored and no " \
           f"<task>-<step>.jsonl beside them): {TASKS[6]}" in result.notes
    assert "| super_glue/copa | en | 2 |  |" in render.to_markdown(result)


def test_compare_puts_reference_and_difference_beside(eval_dir, tmp_path):
    root, _ = eval_dir
    ref = tmp_path / "published.csv"
    ref.write_text("dataset,language,accuracy\nxnli,mean,41.5\nxnli,fr,60\nxwinograd,mean,52.0\n")
    result = report.build_report(str(root), reference=str(ref))
    xnli = next(r for r in result.datasets if r.dataset == "xnli")
    assert (xnli.accuracy, xnli.reference, xnli.diff) == (100.0, 41.5, 58.5)
    assert next(r for r in result.languages if r.language == "fr").diff == 40.0
    assert "reference datasets without results: xwinograd" in result.notes
    assert "| xnli | 2 | 4 | 6 | 100.0 | 100.0 | 100.0 | 0 | 41.5 | +58.5 |" in render.to_markdown(result)
    bad = tmp_path / "bad.csv"
    bad.write_text("dataset,accuracy\nxnli,3\n")
    with pytest.raises(ValueError, match="bad.csv:1: missing column.s. language"):
        summary.read_reference(str(bad))


def test_cli_report(eval_dir, tmp_path, capsys):
    root, _ = eval_dir
    out = tmp_path / "cli"
    assert main(["report", str(root), "--out", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {r["dataset"]: r["accuracy"] for r in data["datasets"]} == {"xnli": 100.0, "xcopa": 100.0,
                                                                       "super_glue/copa": 100.0}
    assert {p["task"]: (p["records"], p["records_answer_repeated"]) for p in data["prompts"]} == RECORDS
    assert sorted(os.listdir(out)) == ["accuracy.png", "prompts.csv", "report.md", "summary.csv"]
    assert main(["report", str(root), "--out", str(out), "--step", "1000000"]) == 0
    assert capsys.readouterr().out.startswith("# Zero-shot accuracy")
    assert main(["report", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err
    assert "No data for T5X eval results in" in err and "nowhere" in err and "EVAL_OUTPUT_DIR" in err
