"""The fast template index agrees with promptsource's own loader on every catalog dataset."""

import pytest

from multilingual_t0.catalog.datasets import load_catalog
from multilingual_t0.pipeline.metrics import has_fixed_choices
from multilingual_t0.catalog.templates import fixed_answer_choices, list_templates, load_template
from multilingual_t0.errors import UnknownNameError

PAIRS = sorted({(s.dataset, s.subset) for s in load_catalog()}, key=str)


@pytest.mark.parametrize("dataset,subset", PAIRS, ids=[f"{d}/{s}" for d, s in PAIRS])
def test_index_matches_promptsource(dataset, subset):
    from promptsource.templates import DatasetTemplates

    ours = list_templates(dataset, subset)
    theirs = DatasetTemplates(dataset, subset)
    assert [t.name for t in ours] == theirs.all_template_names
    for info in ours:
        template = theirs[info.name]
        assert info.original_task == bool(template.metadata.original_task)
        assert tuple(template.metadata.metrics or ()) == info.metrics
        assert info.has_answer_choices == bool(template.answer_choices)
        fixed = template.get_fixed_answer_choices_list()
        assert has_fixed_choices(dataset, subset, info) == bool(fixed), info.name
        if fixed:
            assert fixed_answer_choices(dataset, subset, info.name) == tuple(fixed)


def test_total_templates():
    total = sum(len(list_templates(d, s)) for d, s in PAIRS)
    assert total == 562  # promptsource 0.2.3 over the 66 catalog pairs (jigsaw has none)


def test_unknown_template_suggests():
    with pytest.raises(UnknownNameError, match="Did you mean: .*GPT-3 style"):
        load_template("super_glue", "rte", "GPT-3 stile")
