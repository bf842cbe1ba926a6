"""Every registered task yields examples from the sample data, through seqio as T5X calls it."""

import pytest
import seqio

from conftest import TEST_LENGTHS
from multilingual_t0.prompts import RENDER_STATS
from multilingual_t0.task_specs import SCORE_EVAL, build_task_specs, load_blacklist

SPECS = build_task_specs()
BLACKLIST = load_blacklist()


def labelled_split(spec):
    names = spec.dataset.split_names
    return next(s for s in ("train", "validation", "test") if s in names)


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_task_yields_examples_through_seqio(registered, spec):
    task = seqio.get_mixture_or_task(spec.name)
    split = labelled_split(spec)
    ds = task.get_dataset(TEST_LENGTHS, split=split, shuffle=False, use_cached=False)
    examples = list(ds.as_numpy_iterator())
    if spec.name in BLACKLIST:
        assert not examples, f"{spec.name} renders now: drop it from task_blacklist.csv"
        return
    assert examples, RENDER_STATS[(spec.name, split)].summary()
    for ex in examples:
        assert ex["inputs"].size and ex["targets"].size
        assert ex["targets"][-1] == 1  # EOS ends the targets
        assert ex["inputs"][-1] != 1 or ex["inputs"].size == 1  # inputs carry no EOS (as T0)
    if spec.kind == SCORE_EVAL:
        groups = {}
        for ex in examples:
            groups.setdefault(int(ex["idx"][0]), []).append(bool(ex["is_correct"]))
        assert all(flags.count(True) == 1 for flags in groups.values())


@pytest.mark.parametrize("spec", [s for s in SPECS if s.kind != SCORE_EVAL], ids=lambda s: s.name)
def test_every_labelled_split_renders(registered, spec):
    """Python-level pass over every split (cheap): no sample record is a bad record."""
    source = seqio.get_mixture_or_task(spec.name).source
    for split in spec.dataset.split_names:
        examples = list(source.iter_examples(split))
        stats = RENDER_STATS[(spec.name, split)]
        assert stats.num_errors == 0, stats.summary()
        if split != "test":  # test splits of GLUE-style datasets carry no labels
            assert examples, stats.summary()
