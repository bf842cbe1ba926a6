"""The mT0 paper's evaluation protocol: its prompt sets and languages, the report against its shipped results,
the contamination guard, and float32 scoring."""

import json
import os

import pytest
import seqio
from gin import config_parser

from conftest import write_fake_t5x_gins

from multilingual_t0.evaluation import contamination, render, report, summary
from multilingual_t0.jobs import gin_macros
from multilingual_t0.jobs import launch
from multilingual_t0.registry import naming
from multilingual_t0.catalog import benchmarks as benchmark_table
from multilingual_t0.registry import xeval
from multilingual_t0.cli import main
from multilingual_t0.errors import CatalogError, UnknownNameError

# The paper's prompts, as literals (xmtf plotstables/figure_notebooks/generalization.ipynb), so a wrong table fails.
NLI = {"guaranteed/possible/impossible", "MNLI crowdsource", "GPT-3 style", "justified in saying", "can we infer"}
COPA = {"best_option", "C1 or C2? premise, so/because\u2026", "i_am_hesitating", "cause_effect",
        "plausible_alternatives"}
STORY = {"Story Continuation and Options", "Answer Given options", "Novel Correct Ending", "Generate Ending",
         "Choose Story Ending"}
WINO = {"underscore refer to", "Replace", "stand for", "does underscore refer to", "True or False"}
RTE = {"MNLI crowdsource", "GPT-3 style", "does it follow that", "should assume", "guaranteed true"}
PAPER = {  # benchmark -> (prompts, languages)
    "xnli": (NLI, "ar bg de el en es fr hi ru sw th tr ur vi zh"),
    "xcopa": (COPA, "et ht id it qu sw ta th tr vi zh"),
    "xstory_cloze": (STORY, "ar es eu hi id my ru sw te zh"),
    "xwinograd": (WINO, "en fr jp pt ru zh"),
}
HELDOUT = {("anli", None, "r1"): NLI, ("anli", None, "r2"): NLI, ("anli", None, "r3"): NLI,
           ("super_glue", "cb", None): NLI, ("super_glue", "rte", None): RTE, ("super_glue", "copa", None): COPA,
           ("story_cloze", "2016", None): STORY, ("winogrande", "winogrande_xl", None): WINO}


def _members(mixture):
    return {t.name for t in seqio.get_mixture_or_task(mixture).tasks}


def test_paper_mixtures_hold_exactly_the_papers_prompts_and_languages(registered):
    every = set()
    for bench, (prompts, languages) in PAPER.items():
        expected = {xeval.task_name(bench, lang, p) for lang in languages.split() for p in prompts}
        assert _members(f"mt5_{bench}_score_eval") == expected
        every |= expected
    assert {b: len(_members(f"mt5_{b}_score_eval")) for b in PAPER} == {
        "xnli": 75, "xcopa": 55, "xstory_cloze": 50, "xwinograd": 30}
    assert _members("mt5_xeval_score_eval") == every and len(every) == 210
    assert "xstory_cloze.en_Generate_Ending_score_eval" not in every  # English is StoryCloze 2016, apart
    assert "xstory_cloze.en_Generate_Ending_score_eval" in _members("mt5_xstory_cloze_all_prompts_score_eval")
    # English held-out: names built by the package's naming (ANLI's task names follow it when renamed).
    heldout = {naming.score_eval_name(naming.task_name(d, s, p, v)) for (d, s, v), ps in HELDOUT.items() for p in ps}
    assert _members("mt5_mt0_heldout_score_eval") == heldout and len(heldout) == 40
    assert len(_members("mt5_mt0_heldout_all_prompts_score_eval")) == 94  # 45 ANLI + 15 CB + 10 RTE + 12 + 6 + 6
    for name in heldout:
        assert "validation" in seqio.get_mixture_or_task(name).splits
    assert len(_members("mt5_xeval_all_prompts_score_eval")) == 459
    assert len(_members("mt5_t0_heldout_score_eval")) == 122


def test_paper_prompt_table_rejects_unknown_templates(tmp_path):
    path = tmp_path / "paper_prompts.csv"
    header = ",".join(benchmark_table.PAPER_COLUMNS)
    path.write_text(f"{header}\nsuper_glue,rte,MNLI crowdsource|GPT-3 Style,2,yes,\n")
    with pytest.raises(CatalogError, match=r"paper_prompts.csv:2: promptsource has no template 'GPT-3 Style' "
                                           r"for super_glue/rte; it has: .*GPT-3 style"):
        benchmark_table.load_paper_prompts(str(path))
    path.write_text(f"{header}\nsuper_glue,rte,MNLI crowdsource,1,yes,\n")
    with pytest.raises(CatalogError, match=r":2: choices '1' is not a whole number >= 2"):
        benchmark_table.load_paper_prompts(str(path))


# ---- the report on a synthetic T5X eval output ----

# (benchmark, language) -> per-prompt accuracy; "does this imply" and xstory_cloze/en are outside the protocol.
XNLI_EN = {"guaranteed/possible/impossible": 40.0, "MNLI crowdsource": 50.0, "GPT-3 style": 60.0,
           "justified in saying": 70.0, "can we infer": 80.0, "does this imply": 90.0}
XNLI_SW = {"guaranteed/possible/impossible": 30.0, "MNLI crowdsource": 35.0, "GPT-3 style": 45.0,
           "justified in saying": 50.0, "can we infer": 55.0}
STORY_AR = dict(zip(sorted(STORY), (60.0, 70.0, 80.0, 90.0, 95.0)))
STORY_EN = dict(zip(sorted(STORY), (99.0, 99.0, 99.0, 99.0, 99.0)))
RTE_EN = dict(zip(sorted(RTE), (55.0, 65.0, 75.0, 50.0, 85.0)))
STEP = 1_007_000


def _write_metrics(folder, task, accuracy):
    with open(folder / f"{task}-metrics.jsonl", "w") as f:  # seqio's JSONLogger: one line per step
        f.write(json.dumps({"step": 1_000_000, "accuracy": 1.0}) + "\n")
        f.write(json.dumps({"step": STEP, "accuracy": accuracy}) + "\n")


@pytest.fixture()
def paper_eval_dir(tmp_path):
    folder = tmp_path / "eval" / "inference_eval"
    folder.mkdir(parents=True)
    for bench, lang, accs in (("xnli", "en", XNLI_EN), ("xnli", "sw", XNLI_SW), ("xstory_cloze", "ar", STORY_AR),
                              ("xstory_cloze", "en", STORY_EN)):
        for template, acc in accs.items():
            _write_metrics(folder, xeval.task_name(bench, lang, template), acc)
    for template, acc in RTE_EN.items():
        _write_metrics(folder, naming.score_eval_name(naming.task_name("super_glue", "rte", template)), acc)
    return tmp_path / "eval"


def _rows(result):
    return {(r.dataset, r.language): (r.prompts, r.accuracy, r.reference) for r in result.datasets + result.languages}


def test_report_gives_the_known_medians_and_means(paper_eval_dir):
    everything = _rows(report.build_report(str(paper_eval_dir)))
    assert everything[("xnli", "en")][:2] == (6, 65.0)  # six prompts: (60 + 70) / 2
    assert everything[("xstory_cloze", "mean")][:2] == (10, pytest.approx((80.0 + 99.0) / 2))
    paper = report.build_report(str(paper_eval_dir), prompts="paper")
    rows = _rows(paper)
    assert rows[("xnli", "en")][:2] == (5, 60.0) and rows[("xnli", "sw")][:2] == (5, 45.0)
    assert rows[("xnli", "mean")][:2] == (10, 52.5)
    assert rows[("xstory_cloze", "mean")][:2] == (5, 80.0) and ("xstory_cloze", "en") not in rows
    assert rows[("super_glue/rte", "en")][:2] == (5, 65.0)
    assert paper.chance == {"xnli": pytest.approx(100 / 3), "xstory_cloze": 50.0, "super_glue/rte": 50.0}
    notes = report.build_report(str(paper_eval_dir)).notes
    assert any(n.startswith("xnli: prompts differ from the mT0 paper's 5 (5/6 per language") for n in notes)
    assert any(n.startswith("xstory_cloze: the mean is over 2 languages, the paper's over 10; not in the "
                            "paper's: en; missing: ") for n in notes)


def test_compare_with_the_papers_mt0_13b_shows_the_known_differences(paper_eval_dir, tmp_path):
    result = report.build_report(str(paper_eval_dir), reference="mt0-13b", prompts="paper")
    diffs = {(r.dataset, r.language): (r.reference, r.diff) for r in result.datasets + result.languages}
    # Golden numbers from data/paper_results.csv (xmtf allres.ipynb, mT0-13B, EN prompts, median).
    assert diffs[("xnli", "en")] == (61.24, pytest.approx(60.0 - 61.24))
    assert diffs[("xnli", "sw")] == (55.46, pytest.approx(45.0 - 55.46))
    assert diffs[("xstory_cloze", "ar")] == (85.37, pytest.approx(80.0 - 85.37))
    assert diffs[("super_glue/rte", "en")] == (83.03, pytest.approx(65.0 - 83.03))
    # The paper's mean is over all its languages (15 for XNLI), not only those we ran.
    assert diffs[("xnli", "mean")] == (pytest.approx(57.8907, abs=1e-4), pytest.approx(52.5 - 57.8907, abs=1e-4))
    assert diffs[("super_glue/rte", "mean")] == (83.03, pytest.approx(65.0 - 83.03))
    assert "reference rows without results: xnli/ar" in " ".join(result.notes)
    markdown = render.to_markdown(result)
    assert "Reference: mt0-13b (mT0 paper" in markdown
    assert "| xnli | 2 | 10 |  | 52.5 | 45.0 | 60.0 | 57.9 | -5.4 | 33.3 |" in markdown
    assert "| xnli | sw | 5 |  | 45.0 | 30.0 | 55.0 | 55.5 | -10.5 |" in markdown
    p3 = report.build_report(str(paper_eval_dir), reference="MT0-13B-P3", prompts="paper")
    assert {(r.dataset, r.language): r.reference for r in p3.languages}[("xnli", "en")] == 60.36
    with pytest.raises(UnknownNameError, match=r"mt0-13b-p4.*Did you mean: mt0-13b-p3.*or pass a CSV"):
        report.build_report(str(paper_eval_dir), reference="mt0-13b-p4")


def test_shipped_results_cover_the_protocol_for_every_model():
    models = summary.paper_models()
    assert models == ("mt0-300m", "mt0-560m", "mt0-1.2b", "mt0-3.7b", "mt0-13b", "mt0-13b-mt", "mt0-13b-p3")
    expected = {(b, lang) for b, (_, langs) in PAPER.items() for lang in langs.split()}
    expected |= {("/".join(p for p in key if p), "en") for key in HELDOUT}
    for model in models:
        values = summary.paper_results(model)
        assert set(values) == expected and len(values) == 50
        assert all(20.0 < v < 100.0 for v in values.values())
    with open(summary.PAPER_RESULTS_PATH) as f:
        assert "allres.ipynb" in f.read(2000)  # the source is cited in the file's header


def test_chart_shows_both_side_by_side_with_chance_and_a_whole_title(paper_eval_dir):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection

    result = report.build_report(str(paper_eval_dir), reference="mt0-13b", prompts="paper",
                                 trained_on="mt5_d4_gpt_sglue_train")
    fig = render.figure(result)
    FigureCanvasAgg(fig).draw()
    box, title = fig.bbox, fig._suptitle.get_window_extent()  # pylint: disable=protected-access
    assert title.x0 >= box.x0 and title.x1 <= box.x1 and title.y1 <= box.y1
    ax = fig.axes[0]
    assert len(ax.patches) == 2 * len(result.datasets)  # ours and the reference, per dataset
    chance = sorted(round(float(seg[0][1]), 2) for c in ax.collections if isinstance(c, LineCollection)
                    for seg in c.get_segments())
    assert chance == [33.33, 50.0, 50.0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert "xstory_cloze\n(not zero-shot)" in labels and "xnli" in labels


# ---- contamination guard ----

BENCHMARKS = ["xnli", "xcopa", "xstory_cloze", "xwinograd"]
ENGLISH = ["anli/r1", "anli/r2", "anli/r3", "super_glue/cb", "super_glue/rte", "super_glue/copa", "story_cloze/2016",
           "winogrande/winogrande_xl"]


def test_guard_flags_t0pp_and_not_p3():
    flagged = contamination.not_zero_shot(BENCHMARKS + ENGLISH, "mt5_d4_gpt_sglue_train")
    assert set(flagged) == {"xcopa", "xstory_cloze", "xwinograd", "super_glue/copa", "story_cloze/2016",
                            "winogrande/winogrande_xl"}
    assert contamination.by_dataset(flagged["xcopa"]) == {"hellaswag": 11, "super_glue/copa": 12}
    assert "super_glue_copa_best_option" in flagged["xcopa"] and "hellaswag_Open_ended_completion" in flagged["xcopa"]
    assert contamination.by_dataset(flagged["xwinograd"]) == {"super_glue/wsc.fixed": 10}
    assert contamination.not_zero_shot(BENCHMARKS + ENGLISH, "mt5_d4_train") == {}
    assert set(contamination.not_zero_shot(BENCHMARKS, "mt5_gpt_train")) == {"xcopa", "xstory_cloze"}
    # xP3's tasks are not catalog tasks: the mixture declares its clusters in data/mixture_clusters.csv.
    assert contamination.not_zero_shot(BENCHMARKS + ENGLISH, "mt5_xp3_train") == {}
    with pytest.raises(UnknownNameError, match=r"training mixture 'mt5_d4_trian'.*Did you mean: mt5_d4_train"):
        contamination.not_zero_shot(BENCHMARKS, "mt5_d4_trian")


def test_guard_needs_a_declaration_for_non_catalog_tasks(registered):
    seqio.MixtureRegistry.add("test_guard_xeval_mix", [("xnli.en_GPT_3_style_score_eval", 1)])
    try:
        with pytest.raises(ValueError, match=r"not T0 catalog tasks .*declare the clusters it trains on in "
                                             r".*mixture_clusters.csv"):
            contamination.not_zero_shot(BENCHMARKS, "test_guard_xeval_mix")
    finally:
        seqio.MixtureRegistry.remove("test_guard_xeval_mix")


def test_report_reads_the_training_mixture_from_the_runs_config_gin(paper_eval_dir, tmp_path, capsys):
    model_dir = tmp_path / "model"
    (model_dir / "checkpoint_1007000").mkdir(parents=True)
    (model_dir / "config.gin").write_text(  # what t5x/train.py writes: the operative config
        "from __gin__ import dynamic_registration\nimport seqio\n\n# Macros:\n# ===\n"
        "MIXTURE_OR_TASK_NAME = 'mt5_d4_gpt_sglue_train'\nTRAIN_STEPS = 1125000\n")
    out = tmp_path / "out"
    assert main(["report", str(paper_eval_dir), "--out", str(out), "--prompts", "paper", "--compare", "mt0-13b-p3",
                 "--trained-on", str(model_dir / "checkpoint_1007000")]) == 0
    markdown = capsys.readouterr().out
    assert "Trained on `mt5_d4_gpt_sglue_train`: **not zero-shot** on xstory_cloze." in markdown
    assert "| xnli | 2 | 10 |  | 52.5 | 45.0 | 60.0 | 55.9 | -3.4 | 33.3 | yes |" in markdown
    assert "| xstory_cloze | 1 | 5 |  | 80.0 | 80.0 | 80.0 | 89.2 | -9.2 | 50.0 | **no** |" in markdown
    assert "- xstory_cloze (cluster story_completion): trained on hellaswag (11 prompts), super_glue/copa " \
           "(12 prompts): `hellaswag_Appropriate_continuation_Yes_or_No`" in markdown
    assert sorted(os.listdir(out)) == ["accuracy.png", "prompts.csv", "report.md", "summary.csv"]
    summary = (out / "summary.csv").read_text().splitlines()
    assert summary[0] == ("dataset,language,prompts,accuracy,min,max,reference,diff,chance,zero_shot,records_min,"
                          "records_max,records_answer_repeated")
    # records blank: these metrics lines carry no counts (as written before the metric counted records)
    assert "xstory_cloze,mean,5,80.0000,80.0000,80.0000,89.2070,-9.2070,50.0000,no,,," in summary
    assert main(["report", str(paper_eval_dir), "--out", str(out), "--trained-on", "mt5_d4_train", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["trained_on"] == "mt5_d4_train" and data["not_zero_shot"] == {}
    assert {r["dataset"]: r["zero_shot"] for r in data["datasets"]} == {
        "xnli": True, "xstory_cloze": True, "super_glue/rte": True}
    assert main(["report", str(paper_eval_dir), "--out", str(out), "--trained-on", str(tmp_path / "nowhere")]) == 1
    assert "config.gin" in capsys.readouterr().err
    (model_dir / "config.gin").write_text("TRAIN_STEPS = 3\n")
    with pytest.raises(ValueError, match=r"config.gin: no MIXTURE_OR_TASK_NAME"):
        report.trained_on_mixture(str(model_dir))


# ---- float32 scoring ----

def test_float32_gin_parses_and_overrides_the_mt5_bfloat16(tmp_path):
    path = os.path.join(launch.REPO_DIR, "configs", "runs", "eval_score_float32.gin")
    with open(path) as f:
        statements = list(config_parser.ConfigParser(f, gin_macros._Delegate()))  # pylint: disable=protected-access
    assert statements[0].module == "__gin__.dynamic_registration"
    t5x = write_fake_t5x_gins(tmp_path / "t5x")
    env = {"CHECKPOINT_PATH": "gs://b/c", "EVAL_OUTPUT_DIR": "gs://b/e", "T5X_DIR": t5x, "PYTHON": "python3"}
    dtype = ("", "network.T5Config", "dtype")
    for extra, expected in (([], "bfloat16"), (["--gin_file=configs/runs/eval_score_float32.gin"], "float32")):
        (argv, _), = launch.commands("eval", env, extra)
        stack = gin_macros.resolve(*gin_macros.from_command(argv, [t5x]))
        assert stack.bindings[dtype] == expected and stack.unbound() == []
    assert stack.bindings[("", "utils.RestoreCheckpointConfig", "dtype")] == "float32"
