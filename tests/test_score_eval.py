"""Rank-classification twins: expansion, and scoring through the task's own postprocessor and metric."""

import pytest
import seqio

from conftest import TEST_LENGTHS


def expanded(name, split="validation"):
    task = seqio.get_mixture_or_task(name)
    ds = task.get_dataset(TEST_LENGTHS, split=split, shuffle=False, use_cached=False)
    return task, list(ds.as_numpy_iterator())


def test_twin_expands_one_example_per_choice(registered):
    base = seqio.get_mixture_or_task("super_glue_cb_GPT_3_style")
    originals = list(base.source.iter_examples("validation"))
    task, examples = expanded("super_glue_cb_GPT_3_style_score_eval")
    assert len(examples) == 3 * len(originals)  # cb: entailment / contradiction / neither
    vocab = task.output_features["targets"].vocabulary
    for i, original in enumerate(originals):
        group = [e for e in examples if e["idx"][0] == i]
        assert [int(e["idx"][1]) for e in group] == [0, 1, 2]
        assert [vocab.decode(e["targets"][:-1].tolist()) for e in group] == original["answer_choices"]
        correct = [vocab.decode(e["targets"][:-1].tolist()) for e in group if e["is_correct"]]
        assert correct == [original["targets"]]
        assert len({e["inputs"].tobytes() for e in group}) == 1


def score(task, examples, scores):
    targets = [task.postprocess_fn(None, example=e, is_target=True) for e in examples]
    predictions = [task.postprocess_fn(s, example=e, is_target=False) for e, s in zip(examples, scores)]
    out = {}
    for fn in task.score_metric_fns:
        out.update(fn(targets, predictions))
    return out


def test_known_scores_give_known_accuracy(registered):
    task, examples = expanded("super_glue_rte_GPT_3_style_score_eval")
    perfect = [0.0 if e["is_correct"] else -5.0 for e in examples]
    assert score(task, examples, perfect)["accuracy"] == 100.0
    wrong = [-5.0 if e["is_correct"] else 0.0 for e in examples]
    assert score(task, examples, wrong)["accuracy"] == 0.0
    # Ties: argmax takes the first choice; summed log-likelihood, no length normalisation.
    tied = [0.0 for _ in examples]
    first_correct = sum(bool(e["is_correct"]) for e in examples if e["idx"][1] == 0)
    groups = len({int(e["idx"][0]) for e in examples})
    assert score(task, examples, tied)["accuracy"] == pytest.approx(100.0 * first_correct / groups)


def test_variable_choices_multi_choice(registered):
    """Example-dependent choices (no fixed list): accuracy from argmax per original example."""
    task, examples = expanded("super_glue_copa_best_option_score_eval")
    # The longest wrong choice scores best (each wrong choice scores its length), the correct one -100.
    longest_wrong = [float(len(e["targets"])) if not e["is_correct"] else -100.0 for e in examples]
    assert score(task, examples, longest_wrong)["accuracy"] == 0.0
    assert score(task, examples, [float(e["is_correct"]) for e in examples])["accuracy"] == 100.0
    # Scoring every choice by its token count picks the longest (first on ties): the accuracy is the
    # share of examples whose correct choice is that one.
    longest = [float((e["targets"] != 0).sum()) for e in examples]
    best = {}
    for e, s in zip(examples, longest):
        i = int(e["idx"][0])
        if i not in best or s > best[i][0]:
            best[i] = (s, bool(e["is_correct"]))
    assert score(task, examples, longest)["accuracy"] == pytest.approx(
        100.0 * sum(ok for _, ok in best.values()) / len(best))


@pytest.mark.parametrize("name, metrics", [
    # two fixed choices: t5's binary metrics (the positive class is choice 1)
    ("super_glue_rte_GPT_3_style_score_eval", {"accuracy", "f1", "auc-roc", "auc-pr"}),
    # three fixed choices: accuracy and the mean F1 over the classes
    ("super_glue_cb_GPT_3_style_score_eval", {"accuracy", "mean_3class_f1"}),
    # choices from the record: nothing but accuracy is defined
    ("super_glue_copa_best_option_score_eval", {"accuracy"}),
])
def test_fixed_choices_give_the_class_count_to_the_metric(registered, name, metrics):
    task, examples = expanded(name)
    perfect = score(task, examples, [0.0 if e["is_correct"] else -5.0 for e in examples])
    assert set(perfect) == metrics
    assert all(v == pytest.approx(100.0) for v in perfect.values())
