"""Zero-shot eval tasks (xeval.py): the table, what is registered, the sample data through every task, and
rank classification scored by the registered task's own postprocessor and metric."""

import json
import re

import pytest
import seqio

from conftest import EVAL_LENGTHS
from multilingual_t0.catalog import benchmarks as benchmark_table
from multilingual_t0.registry import xeval
from multilingual_t0.errors import CatalogError
from multilingual_t0.prompting.renderer import NOT_APPLICABLE, RENDER_STATS
from multilingual_t0.catalog.templates import list_templates

SPECS = xeval.build_eval_task_specs()
LANGUAGES = {
    "xnli": "ar bg de el en es fr hi ru sw th tr ur vi zh".split(),
    "xcopa": "et ht id it qu sw ta th tr vi zh".split(),
    "xstory_cloze": "en ar es eu hi id my ru sw te zh".split(),
    "xwinograd": "en fr jp pt ru zh".split(),
}
MIXTURE_SIZES = {"mt5_xnli_all_prompts_score_eval": 225, "mt5_xcopa_all_prompts_score_eval": 132,
                 "mt5_xstory_cloze_all_prompts_score_eval": 66, "mt5_xwinograd_all_prompts_score_eval": 36,
                 "mt5_xeval_all_prompts_score_eval": 459, "mt5_t0_heldout_score_eval": 122}
HELDOUT_TEMPLATES = {"super_glue/rte": 10, "super_glue/cb": 15, "super_glue/copa": 12, "super_glue/wsc.fixed": 10,
                     "super_glue/wic": 10, "anli (r1)": 15, "anli (r2)": 15, "anli (r3)": 15, "hellaswag": 8,
                     "story_cloze/2016": 6, "winogrande/winogrande_xl": 6}


def test_table_languages_sources_and_templates():
    benchmarks = {b.name: b for b in benchmark_table.load_benchmarks()}
    assert {n: list(b.languages) for n, b in benchmarks.items()} == LANGUAGES
    assert {n: (b.template_dataset, b.template_subset) for n, b in benchmarks.items()} == {
        "xnli": ("xnli", "en"), "xcopa": ("super_glue", "copa"), "xstory_cloze": ("story_cloze", "2016"),
        "xwinograd": ("winogrande", "winogrande_xl")}
    ar = benchmarks["xstory_cloze"].dataset_spec("ar")
    assert (ar.path_parts, ar.hub_id, ar.hub_config, ar.hub_revision, ar.hub_data_files) == (
        ("xstory_cloze", "ar"), "juletxara/xstory_cloze", None, "refs/convert/parquet",
        (("eval", "ar/xstory_cloze-eval.parquet"), ("train", "ar/xstory_cloze-train.parquet")))
    assert ar.split("validation").source == "eval"
    fr = benchmarks["xwinograd"].dataset_spec("fr")
    assert [(s.name, s.source, s.num_examples) for s in fr.splits] == [("validation", "test", 83), ("test", "test", 83)]
    with pytest.raises(KeyError, match="Unknown language of xwinograd .ja.. It has: en fr jp pt ru zh"):
        benchmarks["xwinograd"].dataset_spec("ja")


def test_registered_tasks_and_mixtures(registered):
    per_benchmark = {}
    for spec in SPECS:
        per_benchmark[spec.benchmark] = per_benchmark.get(spec.benchmark, 0) + 1
        assert re.fullmatch(r"[\w\d\.\:_]+", spec.name)
        assert spec.name.startswith(f"{spec.benchmark}.{spec.language}_") and spec.name.endswith("_score_eval")
    templates = {b.name: sum(t.has_answer_choices for t in list_templates(b.template_dataset, b.template_subset))
                 for b in benchmark_table.load_benchmarks()}
    assert per_benchmark == {b: len(LANGUAGES[b]) * templates[b] for b in LANGUAGES}
    assert {n: len(seqio.get_mixture_or_task(n).tasks) for n in MIXTURE_SIZES} == MIXTURE_SIZES
    assert "xnli.sw_GPT_3_style_score_eval" in seqio.TaskRegistry.names()
    task = seqio.get_mixture_or_task("xcopa.qu_best_option_score_eval")
    assert task.source.template_from == ("super_glue", "copa") and task.splits == ("validation", "test")


def test_heldout_mixture_reuses_every_twin_of_t0_heldout_sets(registered):
    mixture = seqio.get_mixture_or_task("mt5_t0_heldout_score_eval")
    twins = {t.name: t for t in xeval.heldout_twins()}
    assert {t.name for t in mixture.tasks} == set(twins)
    counts = {}
    for twin in twins.values():
        counts[twin.dataset.label] = counts.get(twin.dataset.label, 0) + 1
        assert "validation" in seqio.get_mixture_or_task(twin.name).splits
    assert counts == HELDOUT_TEMPLATES


FAMILIES = sorted({(s.benchmark, s.language) for s in SPECS})


@pytest.mark.parametrize("family", FAMILIES, ids=[f"{b}.{lang}" for b, lang in FAMILIES])
def test_every_eval_task_renders_samples_with_one_correct_choice(registered, family):
    """Every task on its eval split (every split for the first template): all records rendered or not
    applicable, none bad, each example with exactly one correct answer choice."""
    specs = [s for s in SPECS if (s.benchmark, s.language) == family]
    for spec in specs:
        source = seqio.get_mixture_or_task(spec.name).source
        for split in spec.dataset.split_names if spec is specs[0] else ["validation"]:
            examples = list(source.iter_examples(split))
            stats = RENDER_STATS[(spec.name, split)]
            assert stats.num_errors == 0, stats.summary()
            assert examples and stats.rendered + stats.skipped[NOT_APPLICABLE] == stats.records, stats.summary()
            for ex in examples:
                assert len(ex["answer_choices"]) >= 2 and ex["answer_choices"].count(ex["targets"]) == 1


# The seqio chain is the same for every task (the source guarantees one correct choice, checked above for
# all of them); one task per benchmark, in a non-Latin script, goes through it as T5X builds it.
THROUGH_SEQIO = ["xnli.th_MNLI_crowdsource_score_eval", "xcopa.ta_choose_score_eval",
                 "xstory_cloze.my_Story_Continuation_and_Options_score_eval", "xwinograd.jp_stand_for_score_eval"]


@pytest.mark.parametrize("name", THROUGH_SEQIO)
def test_eval_task_through_seqio_expands_choices(registered, name):
    """One example per choice, exactly one correct per original example."""
    task = seqio.get_mixture_or_task(name)
    originals = list(task.source.iter_examples("validation"))
    examples = list(task.get_dataset(EVAL_LENGTHS, split="validation", shuffle=False,
                                     use_cached=False).as_numpy_iterator())
    groups = {}
    for ex in examples:
        groups.setdefault(int(ex["idx"][0]), []).append(bool(ex["is_correct"]))
    assert len(groups) == len(originals)
    assert [len(groups[i]) for i in sorted(groups)] == [len(o["answer_choices"]) for o in originals]
    assert all(flags.count(True) == 1 for flags in groups.values())


def _expanded(name):
    task = seqio.get_mixture_or_task(name)
    ds = task.get_dataset(EVAL_LENGTHS, split="validation", shuffle=False, use_cached=False)
    return task, list(ds.as_numpy_iterator())


def _metric(task, examples, scores):
    """What seqio's Evaluator does with score_fn output: postprocess targets, call the score metrics."""
    targets = [task.postprocess_fn(None, example=e, is_target=True) for e in examples]
    out = {}
    for fn in task.score_metric_fns:
        out.update(fn(targets, [task.postprocess_fn(s, example=e) for e, s in zip(examples, scores)]))
    return out["accuracy"]


def _expected(examples, scores):
    """Argmax of the summed score per original example (first choice on ties), share correct, in percent."""
    best = {}
    for ex, score in zip(examples, scores):
        i, j = int(ex["idx"][0]), int(ex["idx"][1])
        if i not in best or score > best[i][0] or (score == best[i][0] and j < best[i][1]):
            best[i] = (score, j, bool(ex["is_correct"]))
    return 100.0 * sum(ok for *_, ok in best.values()) / len(best)


@pytest.mark.parametrize("name", [
    "xnli.de_GPT_3_style_score_eval",  # fixed 3 choices: t5's num_classes path
    "xwinograd.ru_True_or_False_score_eval",  # fixed 2 choices (also f1 / AUC)
    "xcopa.sw_best_option_score_eval",  # choices from the record: per-example argmax path
])
def test_rank_classification_known_accuracy(registered, name):
    task, examples = _expanded(name)
    originals = len({int(e["idx"][0]) for e in examples})
    assert _metric(task, examples, [0.0 if e["is_correct"] else -3.0 for e in examples]) == 100.0
    assert _metric(task, examples, [-3.0 if e["is_correct"] else 0.0 for e in examples]) == 0.0
    # Ties: argmax takes the first choice, so accuracy is the share of examples whose answer is choice 0.
    first = sum(bool(e["is_correct"]) for e in examples if int(e["idx"][1]) == 0)
    assert _metric(task, examples, [0.0] * len(examples)) == pytest.approx(100.0 * first / originals)
    # Summed log-likelihood, no length normalisation: a uniform per-token model picks the shortest choice,
    # even when the correct choice has the better per-token score.
    per_token = [(-1.0 if e["is_correct"] else -1.5) * int((e["targets"] != 0).sum()) for e in examples]
    assert _metric(task, examples, per_token) == pytest.approx(_expected(examples, per_token))
    shortest = [-float((e["targets"] != 0).sum()) for e in examples]
    assert _metric(task, examples, shortest) == pytest.approx(_expected(examples, shortest))


def test_mirror_layout_and_hub_arguments(tmp_path, monkeypatch, registered):
    """Mirror files at <benchmark>/<lang>/<source split>; the Hub call uses the table's id, config or files,
    revision (XStoryCloze: the export branch's <lang>/xstory_cloze-eval.parquet, which has no configs)."""
    record = {"premise": "Der Hund schläft.", "hypothesis": "Ein Tier ruht.", "label": 0}
    (tmp_path / "xnli" / "de").mkdir(parents=True)
    (tmp_path / "xnli" / "de" / "validation.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    monkeypatch.setenv("MT0_DATA_SOURCE", "mirror")
    monkeypatch.setenv("MT0_DATA_DIR", str(tmp_path))
    examples = list(seqio.get_mixture_or_task("xnli.de_GPT_3_style_score_eval").source.iter_examples("validation"))
    assert len(examples) == 1 and "Der Hund schläft." in examples[0]["inputs"]
    assert examples[0]["answer_choices"] == ["True", "Neither", "False"] and examples[0]["targets"] == "True"

    import datasets

    calls = []
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: calls.append((a, k)) or [])
    monkeypatch.setenv("MT0_DATA_SOURCE", "hub")
    list(seqio.get_mixture_or_task("xstory_cloze.my_Generate_Ending_score_eval").source.iter_examples("validation"))
    assert calls == [(("juletxara/xstory_cloze",),
                      {"name": None, "data_files": {"eval": "my/xstory_cloze-eval.parquet"}, "split": "eval",
                       "revision": "refs/convert/parquet", "streaming": True})]


def test_bad_table_rows_name_file_and_line(tmp_path):
    header = ",".join(benchmark_table.COLUMNS)
    good = "xcopa,cambridgeltl/xcopa,{lang},,,,super_glue,copa,et it,validation:100,,,,"
    path = tmp_path / "xeval.csv"
    path.write_text(f"{header}\n{good}\n{good.replace('super_glue,copa', 'super_glue,nope')}\n")
    with pytest.raises(CatalogError, match=r"xeval.csv:3: promptsource has no templates for super_glue/nope"):
        benchmark_table.read_benchmarks(str(path))
    path.write_text(f"{header}\n{good.replace('validation:100,,', 'validation:100,,fr=3')}\n")
    with pytest.raises(CatalogError, match=r"xeval.csv:2: split_sizes names language 'fr'"):
        benchmark_table.read_benchmarks(str(path))
    path.write_text(f"{header}\n{good}\n{good}\n")
    with pytest.raises(CatalogError, match=r"xeval.csv:3: duplicate row for benchmark 'xcopa'"):
        benchmark_table.read_benchmarks(str(path))
