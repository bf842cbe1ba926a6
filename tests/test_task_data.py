"""Every registered prompted task renders the sample data; the shared seqio chain, through seqio as T5X calls it.

Rendering is per task (each template is its own Jinja), so every task and every split is rendered, grouped
by dataset: a bug shared by all tasks fails one test per dataset, each listing its broken templates.
Tokenizing, EOS and the rank-classification expansion are one chain shared by every task: a few
representative tasks go through seqio, checked against their own rendering, instead of all 975.
"""

import pytest
import seqio

from conftest import EVAL_LENGTHS, TEST_LENGTHS
from multilingual_t0.catalog.datasets import load_catalog
from multilingual_t0.prompting.renderer import NOT_APPLICABLE, RENDER_STATS, UNLABELED
from multilingual_t0.registry.specs import SCORE_EVAL, build_task_specs, load_blacklist

SPECS = build_task_specs()
BLACKLIST = load_blacklist()
DATASETS = [ds for ds in load_catalog() if any(s.dataset == ds for s in SPECS)]
EOS = 1


def _render_failures(spec, split):
    """What is wrong with one task's rendering of one sample split ('' when nothing)."""
    source = seqio.get_mixture_or_task(spec.name).source
    examples = list(source.iter_examples(split))
    stats = RENDER_STATS[(spec.name, split)]
    if spec.name in BLACKLIST:
        return f"{spec.name} [{split}] renders now: drop it from task_blacklist.csv" if examples else ""
    if stats.num_errors:
        return stats.summary()
    if stats.rendered + stats.skipped[NOT_APPLICABLE] + stats.skipped[UNLABELED] != stats.records:
        return f"{stats.summary()} (records unaccounted for)"
    if not examples and split != "test":  # test splits of GLUE-style datasets carry no labels
        return f"{stats.summary()} (nothing rendered from a labelled split)"
    if spec.kind == SCORE_EVAL and any(e["targets"] not in e["answer_choices"] for e in examples):
        return f"{spec.name} [{split}]: a target is not among the answer choices"
    return ""


@pytest.mark.parametrize("dataset", DATASETS, ids=[ds.label.replace(" ", "_") for ds in DATASETS])
def test_every_task_of_the_dataset_renders_every_sample_split(registered, dataset):
    """Each prompted task and twin, every split: no bad record, something rendered where labelled."""
    specs = [s for s in SPECS if s.dataset == dataset]
    failures = [f for spec in specs for split in dataset.split_names if (f := _render_failures(spec, split))]
    assert not failures, f"{len(failures)} (task, split) of {dataset.label} fail:\n" + "\n".join(failures)


def test_every_task_shares_the_output_features():
    """EOS ends the targets and not the inputs: one setting for all 975 tasks, checked once."""
    import multilingual_t0.tasks  # noqa: F401

    settings = {(name, f.add_eos, f.dtype.name) for spec in SPECS
                for name, f in seqio.get_mixture_or_task(spec.name).output_features.items()}
    assert settings == {("inputs", False, "int32"), ("targets", True, "int32")}


# One of each kind the chain treats differently: fixed choices, free text, renamed columns (trec's Hub
# names), a rank-classification twin with fixed and one with per-record choices.
THROUGH_SEQIO = ["super_glue_rte_GPT_3_style", "gigaword_TLDR", "trec_what_category_best_describe",
                 "super_glue_cb_GPT_3_style_score_eval", "super_glue_copa_best_option_score_eval"]


def _labelled_split(task):
    return next(s for s in ("train", "validation", "test") if s in task.splits)


def _decode(vocab, ids):
    return vocab.decode([int(i) for i in ids])


def _words(text):
    """SentencePiece folds whitespace runs (newlines too) into one space."""
    return " ".join(text.split())


@pytest.mark.parametrize("name", THROUGH_SEQIO)
def test_task_through_seqio_tokenizes_its_own_rendering(registered, name):
    task = seqio.get_mixture_or_task(name)
    split = _labelled_split(task)
    rendered = list(task.source.iter_examples(split))
    lengths = EVAL_LENGTHS if name.endswith("_score_eval") else TEST_LENGTHS
    examples = list(task.get_dataset(lengths, split=split, shuffle=False, use_cached=False)
                    .as_numpy_iterator())
    assert rendered and examples
    vocab = task.output_features["targets"].vocabulary
    for ex in examples:
        assert ex["targets"][-1] == EOS, "EOS must end the targets"
        assert EOS not in ex["inputs"], "inputs carry no EOS (as T0)"
    if name.endswith("_score_eval"):
        groups = {}
        for ex in examples:
            groups.setdefault(int(ex["idx"][0]), []).append(ex)
        assert len(groups) == len(rendered)
        for i, original in enumerate(rendered):
            group = groups[i]
            assert [int(e["idx"][1]) for e in group] == list(range(len(original["answer_choices"])))
            assert [_decode(vocab, e["targets"][:-1]) for e in group] == [_words(c) for c in original["answer_choices"]]
            # every copy of the answer is correct (COPA's sample record 5 has the answer twice)
            assert [bool(e["is_correct"]) for e in group] == [c == original["targets"] for c in original["answer_choices"]]
            correct = next(e for e in group if e["is_correct"])
            assert _decode(vocab, correct["targets"][:-1]) == _words(original["targets"])
            assert {_decode(vocab, e["inputs"]) for e in group} == {_words(original["inputs"])}
    else:
        assert [(_decode(vocab, e["inputs"]), _decode(vocab, e["targets"][:-1])) for e in examples] == [
            (_words(r["inputs"]), _words(r["targets"])) for r in rendered]
