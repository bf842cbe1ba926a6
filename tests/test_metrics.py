"""Generation (predict) metrics of the prompted tasks, as seqio's Evaluator runs them: the registered task's
postprocess_fn on the target and on each decoded prediction, then its predict metric functions.
(Rank-classification scoring is in test_score_eval.py.)"""

import pytest
import seqio


def _labelled_split(task):
    return next(s for s in ("validation", "train") if s in task.splits)


def evaluate(name, predict):
    """metric -> value for predictions `predict(rendered example)`, plus the postprocessed targets."""
    task = seqio.get_mixture_or_task(name)
    rendered = list(task.source.iter_examples(_labelled_split(task)))
    assert rendered
    targets = [task.postprocess_fn(r["targets"], example=r, is_target=True) for r in rendered]
    predictions = [task.postprocess_fn(predict(r), example=r, is_target=False) for r in rendered]
    out = {}
    for fn in task.predict_metric_fns:
        out.update(fn(targets, predictions))
    return out, targets


def test_fixed_choices_become_class_ids(registered):
    """Text -> index of the fixed answer choice; -1 for anything else (surrounding spaces ignored)."""
    task = seqio.get_mixture_or_task("super_glue_cb_GPT_3_style")  # True / False / Neither
    post = task.postprocess_fn
    assert [post(t, example={}, is_target=False) for t in ("True", " Neither ", b"False", "maybe")] == [0, 2, 1, -1]


@pytest.mark.parametrize("name, metrics", [
    ("super_glue_cb_GPT_3_style", {"accuracy", "mean_3class_f1"}),  # t5's SuperGLUE list for cb
    ("super_glue_rte_GPT_3_style", {"accuracy"}),
    ("imdb_Movie_Expressed_Sentiment", {"accuracy"}),  # fixed choices outside (Super)GLUE
    ("app_reviews_categorize_rating_using_review", {"accuracy", "spearman_corrcoef"}),
])
def test_fixed_choice_tasks_score_class_ids(registered, name, metrics):
    perfect, targets = evaluate(name, lambda r: r["targets"])
    assert set(perfect) == metrics and all(v == pytest.approx(100.0) for v in perfect.values())
    assert all(isinstance(t, int) and t >= 0 for t in targets)
    wrong, _ = evaluate(name, lambda r: "none of the choices")
    assert wrong["accuracy"] == 0.0


def test_choice_accuracy_counts_each_class(registered):
    """Predicting the first choice always scores the share of examples whose answer is the first choice."""
    scores, targets = evaluate("super_glue_cb_GPT_3_style", lambda r: r["answer_choices"][0])
    assert scores["accuracy"] == pytest.approx(100.0 * targets.count(0) / len(targets))
    assert 0 < targets.count(0) < len(targets)  # the samples hold more than one class


@pytest.mark.parametrize("name, metrics", [
    ("samsum_Generate_a_summary_for_this_dialogue", {"rouge1", "rouge2", "rougeLsum"}),
    ("kilt_tasks_hotpotqa_combining_facts", {"em", "f1"}),  # squad, one reference per example
    ("glue_mrpc_generate_paraphrase", {"rouge1", "rouge2", "rougeLsum", "bleu"}),  # GLUE, no choices
])
def test_free_text_tasks_score_the_stripped_text(registered, name, metrics):
    perfect, targets = evaluate(name, lambda r: "  " + r["targets"] + "\n")
    assert set(perfect) == metrics
    assert all(v == pytest.approx(100.0) for v in perfect.values())
    assert all(isinstance(t, str) and t == t.strip() for t in targets)
    wrong, _ = evaluate(name, lambda r: "zzzz qqqq")
    assert all(v < 50.0 for v in wrong.values())
