"""Rank-classification twins: expansion, and scoring through the task's own postprocessor and metric."""

import pytest
import seqio

from conftest import EVAL_LENGTHS


def expanded(name, split="validation"):
    task = seqio.get_mixture_or_task(name)
    ds = task.get_dataset(EVAL_LENGTHS, split=split, shuffle=False, use_cached=False)
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
    records = {int(e["idx"][0]) for e in examples}
    # COPA's sample record 5 has its answer as both choices: every copy is correct, so no score makes it wrong.
    all_correct = records - {int(e["idx"][0]) for e in examples if not e["is_correct"]}
    assert len(records) == 6 and len(all_correct) == 1
    # The longest wrong choice scores best (each wrong choice scores its length), the correct one -100.
    longest_wrong = [float(len(e["targets"])) if not e["is_correct"] else -100.0 for e in examples]
    assert score(task, examples, longest_wrong)["accuracy"] == pytest.approx(100.0 * len(all_correct) / len(records))
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
    assert set(perfect) == metrics | {"records_scored", "records_answer_repeated"}
    assert all(perfect[m] == pytest.approx(100.0) for m in metrics)
    assert perfect["records_scored"] == len({int(e["idx"][0]) for e in examples})


# ---- every choice scored whole: the eval gin's lengths, through seqio's Evaluator as t5x/eval.py builds it ----

COPA = "super_glue_copa_best_option_score_eval"
LONG = 4  # COPA's sample validation record 4: choice 0 is a 614-character story (427 tokens + EOS here)
EOS = 1


def _eval_gin_lengths(tmp_path, *overrides):
    """TASK_FEATURE_LENGTHS as scripts/eval.sh hands it to t5x/eval.py (the launcher's command, its gin stack)."""
    from conftest import write_fake_t5x_gins
    from multilingual_t0.jobs import gin_macros, launch

    t5x = write_fake_t5x_gins(tmp_path / "t5x")
    env = {"CHECKPOINT_PATH": "gs://b/c", "EVAL_OUTPUT_DIR": "gs://b/e", "T5X_DIR": t5x, "PYTHON": "python3"}
    (argv, _), = launch.commands("eval", env, list(overrides))
    return gin_macros.resolve(*gin_macros.from_command(argv, [t5x])).macros["TASK_FEATURE_LENGTHS"]


def _evaluate(task, lengths, log_dir):
    """t5x/eval.py's evaluator (seqio.Evaluator, EncDecFeatureConverter, JSONLogger) with a model whose score of a
    choice is minus its token count; returns {(example, choice): the decoder target tokens the model was given}."""
    log_dir.mkdir()
    evaluator = seqio.Evaluator(task, seqio.EncDecFeatureConverter(pack=False), eval_split="validation",
                                sequence_length=lengths, logger_cls=[seqio.JSONLogger], log_dir=str(log_dir),
                                async_compute_metrics=False)
    examples = list(evaluator.cached_task_datasets[task].as_numpy_iterator())
    given = {}

    def score_fn(ds, model_feature_shapes=None):
        out = []
        for i, features in ds.as_numpy_iterator():
            tokens = features["decoder_target_tokens"]
            given[tuple(int(x) for x in examples[int(i)]["idx"])] = tokens[tokens != 0].tolist()
            out.append((int(i), -float((tokens != 0).sum())))
        return out

    evaluator.evaluate(compute_metrics=True, step=1, score_fn=score_fn)[0].result()
    return given


def test_eval_gin_scores_a_long_choice_whole(registered, tmp_path):
    """scripts/eval.sh's lengths: the 427-token choice reaches the model whole, EOS included, and T5X's inference
    file records its full length; nothing of any choice or input is cut."""
    import json

    given = _evaluate(COPA, _eval_gin_lengths(tmp_path), tmp_path / "log")  # None: the evaluator measures the set
    task = seqio.get_mixture_or_task(COPA)
    vocab = task.output_features["targets"].vocabulary
    rendered = list(task.source.iter_examples("validation"))
    for (example, choice), tokens in given.items():
        assert tokens == vocab.encode(rendered[example]["answer_choices"][choice]) + [EOS], (example, choice)
    assert len(given[(LONG, 0)]) == 428 and max(len(t) for t in given.values()) == 428
    rows = [json.loads(line) for line in open(tmp_path / "log" / f"{COPA}-000001.jsonl")]
    assert {tuple(r["target"][0]): r["target"][3] for r in rows}[(LONG, 0)] == 428  # t5's target length


@pytest.mark.parametrize("override, message, least", [
    # the lengths eval_score.gin had before: the choice would have been scored on its first 256 tokens
    ("{'inputs': 1024, 'targets': 256}",
     f"Task {COPA}, example {LONG}, answer choice 0: 428 tokens with EOS, longer than the targets length 256: the "
     "choice would be scored on its first 256 tokens, without its EOS", "give targets a length of at least 428."),
    ("{'inputs': 256, 'targets': 512}",
     f"Task {COPA}, example {LONG}: an input of 519 tokens, longer than the inputs length 256: every choice would "
     "be scored against its first 256 tokens", "give inputs a length of at least 519."),
])
def test_fixed_lengths_that_would_cut_an_example_stop_the_eval(registered, tmp_path, override, message, least):
    """Given lengths too short for the eval set, t5x/eval.py's evaluator stops while it caches the data (before
    the model loads), naming the task, example, choice and length and what to set, instead of cutting."""
    import tensorflow as tf

    lengths = _eval_gin_lengths(tmp_path, f"TASK_FEATURE_LENGTHS={override}")
    assert isinstance(lengths, dict)
    with pytest.raises(tf.errors.InvalidArgumentError) as err:
        _evaluate(COPA, lengths, tmp_path / "log")
    assert message in str(err.value) and least in str(err.value)
    assert "Set TASK_FEATURE_LENGTHS = None" in str(err.value)


def test_records_scored_and_answers_repeated_are_counted(registered):
    """The metric reports, beside the accuracy, how many records a prompt scored and in how many the answer is
    more than one of the choices (COPA's sample record 5 has it as both): a prompt that renders only the cause
    or only the effect items scores fewer."""
    counts = {}
    for name in (COPA, "super_glue_copa__why_C1_or_C2_score_eval", "super_glue_copa__As_a_result_C1_or_C2__score_eval"):
        task, examples = expanded(name)
        result = score(task, examples, [0.0 if e["is_correct"] else -5.0 for e in examples])
        counts[name] = (result["records_scored"], result["records_answer_repeated"], result["accuracy"])
    assert counts == {COPA: (6, 1, 100.0), "super_glue_copa__why_C1_or_C2_score_eval": (3, 1, 100.0),
                      "super_glue_copa__As_a_result_C1_or_C2__score_eval": (3, 0, 100.0)}
