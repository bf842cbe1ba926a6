import json
import logging
import random
import re

import pytest
from promptsource.templates import Template

from multilingual_t0.errors import BadRecordError
from multilingual_t0.prompting.renderer import NOT_APPLICABLE, RENDER_STATS, UNLABELED, CompiledTemplate, Renderer
from multilingual_t0.sources.files import InvalidRecord


def make_renderer(jinja, answer_choices=None, task="unit_task", **kwargs):
    """A renderer around a hand-written promptsource Template (same class the catalog uses)."""
    renderer = Renderer(task, "super_glue", "rte", "GPT-3 style",
                        with_choices=answer_choices is not None, **kwargs)
    renderer.template = Template("unit template", jinja, "test", answer_choices=answer_choices)
    renderer.compiled = CompiledTemplate(renderer.template)
    return renderer


def test_template_that_does_not_apply_is_dropped_and_counted():
    r = make_renderer("{% if label == 0 %}{{premise}} ||| yes{% endif %}")
    out = list(r.render_all([{"premise": "A", "label": 0}, {"premise": "B", "label": 1}], "train"))
    assert out == [{"inputs": "A", "targets": "yes"}]
    stats = RENDER_STATS[("unit_task", "train")]
    assert (stats.records, stats.rendered, stats.skipped[NOT_APPLICABLE]) == (2, 1, 1)


def test_whitespace_is_stripped_and_choices_kept():
    r = make_renderer("{{premise}}   |||    {{answer_choices[label]}}  ", answer_choices="Yes ||| No")
    out = list(r.render_all([{"premise": "  P ", "label": 1}], "train"))
    assert out == [{"inputs": "P", "targets": "No", "answer_choices": ["Yes", "No"]}]


def test_unlabeled_records_are_counted_not_errors():
    r = make_renderer("{{premise}} ||| {% if label != -1 %}{{answer_choices[label]}}{% endif %}",
                      answer_choices="Yes ||| No")
    assert list(r.render_all([{"premise": "P", "label": -1}], "test")) == []
    stats = RENDER_STATS[("unit_task", "test")]
    assert stats.skipped[UNLABELED] == 1 and stats.num_errors == 0


def test_bad_records_are_skipped_counted_and_logged_once(caplog):
    r = make_renderer("{% set x = 10 // label %}{{premise}} ||| {{x}}")
    records = [{"premise": "a", "label": 0}, {"premise": "b", "label": 5},
               {"premise": "c", "label": 0}, InvalidRecord("f.jsonl:4", "invalid JSON"),
               {"premise": "d", "label": 0}]
    with caplog.at_level(logging.WARNING, logger="multilingual_t0.prompting.renderer"):
        out = list(r.render_all(records, "train"))
    assert out == [{"inputs": "b", "targets": "2"}]
    stats = RENDER_STATS[("unit_task", "train")]
    assert stats.errors == {"ZeroDivisionError": 3, "ValueError": 1}
    assert stats.first_error["ZeroDivisionError"][0] == 0
    assert stats.first_error["ValueError"][0] == 3
    per_record = [m for m in caplog.messages if "could not be rendered" in m]
    assert len(per_record) == 2  # once per error type, not once per record
    assert "record 0" in per_record[0] and "unit template" in per_record[0]
    assert "3 bad (ZeroDivisionError; first at record 0)" in stats.summary()


def test_strict_mode_raises_with_names(monkeypatch):
    monkeypatch.setenv("MT0_STRICT", "1")
    r = make_renderer("{% set x = 10 // label %}{{premise}} ||| {{x}}")
    with pytest.raises(BadRecordError, match=r"task 'unit_task' split 'train': record 1 .*'unit template'"):
        list(r.render_all([{"premise": "b", "label": 5}, {"premise": "a", "label": 0}], "train"))


def test_rank_classification_needs_the_answer_among_the_choices():
    """An answer that is no choice cannot be scored (skipped, counted); one that appears twice can (kept)."""
    r = make_renderer("{{premise}} ||| {{target}}", answer_choices="yes ||| no ||| yes",
                      require_answer_among_choices=True)
    out = list(r.render_all([{"premise": "p", "target": "no"}, {"premise": "p", "target": "yes"},
                             {"premise": "p", "target": "maybe"}], "validation"))
    assert [(o["targets"], o["answer_choices"]) for o in out] == [("no", ["yes", "no", "yes"]),
                                                                   ("yes", ["yes", "no", "yes"])]
    stats = RENDER_STATS[("unit_task", "validation")]
    assert stats.errors["ValueError"] == 1 and "'maybe' is not among the answer choices" in stats.first_error["ValueError"][1]


def test_choice_filter_is_deterministic_per_record_and_leaves_global_random_alone():
    jinja = '{{ ["a", "b", "c", "d", "e", "f", "g", "h"] | choice }} {{premise}} ||| x'
    state = random.getstate()
    first = [e["inputs"] for e in make_renderer(jinja).render_all([{"premise": str(i)} for i in range(20)], "train")]
    again = [e["inputs"] for e in make_renderer(jinja).render_all([{"premise": str(i)} for i in range(20)], "train")]
    assert first == again
    assert len({x.split()[0] for x in first}) > 1  # different records may pick differently
    assert random.getstate() == state


def test_hyphenated_fields_reach_the_template(tmp_path, monkeypatch):
    """Old copies of trec name fields `label-coarse`; its templates read `label_coarse` (Jinja can't read `-`)."""
    import json

    from multilingual_t0 import settings
    from multilingual_t0.catalog.datasets import find_dataset
    from multilingual_t0.sources.layouts import catalog_split
    from multilingual_t0.sources.located import locate

    monkeypatch.setenv("MT0_DATA_DIR", str(tmp_path))
    (tmp_path / "trec").mkdir()
    (tmp_path / "trec" / "train.jsonl").write_text(
        json.dumps({"text": "How many legs does a spider have ?", "label-coarse": 4, "label-fine": 13}) + "\n",
        encoding="utf-8")
    spec = find_dataset("trec")[0]
    records = list(locate(catalog_split(spec, spec.split("train")), settings.current().replace(source="mirror")))
    assert records == [{"text": "How many legs does a spider have ?", "label_coarse": 4, "label_fine": 13}]
    renderer = Renderer("trec_t", "trec", None, "what_category_best_describe", with_choices=True)
    assert [e["targets"] for e in renderer.render_all(records, "train")] == ["Quantity"]


# promptsource's `choice` filter, however spaced: `x | choice`, `x|choice`
CHOICE_FILTER = re.compile(r"\|\s*choice\b")


def test_compiled_template_matches_promptsource_on_every_template_and_sample():
    """CompiledTemplate is promptsource's apply + get_answer_choices_list, only compiled once: compared on
    every record of every sample split, for every one of the 592 templates, those that draw with
    `choice` included (promptsource's apply draws the answer choices first, then the body; we reseed the
    per-record generator before each call so both sides draw the same)."""
    from multilingual_t0 import settings
    from multilingual_t0.catalog.datasets import load_catalog
    from multilingual_t0.catalog.templates import list_templates, load_template
    from multilingual_t0.prompting.renderer import _local
    from multilingual_t0.sources.layouts import catalog_split
    from multilingual_t0.sources.located import locate

    templates, with_choice, records_compared = 0, 0, 0
    for spec in load_catalog():
        samples = settings.current().replace(source="samples")
        records = [r for s in spec.split_names for r in locate(catalog_split(spec, spec.split(s)), samples)]
        for info in list_templates(spec.dataset, spec.subset):
            template = load_template(spec.dataset, spec.subset, info.name)
            compiled = CompiledTemplate(template)
            templates += 1
            with_choice += bool(CHOICE_FILTER.search(template.jinja))
            compared_here = 0
            for i, record in enumerate(records):
                try:
                    _local.rng = random.Random(i)
                    expected_parts = template.apply(dict(record))
                    _local.rng = random.Random(i)
                    expected_choices = template.get_answer_choices_list(dict(record))
                except Exception as err:  # noqa: BLE001 - both must fail alike
                    _local.rng = random.Random(i)
                    with pytest.raises(type(err)):
                        compiled.apply(dict(record))
                    continue
                finally:
                    _local.rng = None
                _local.rng = random.Random(i)
                try:
                    got = compiled.apply(dict(record))
                finally:
                    _local.rng = None
                assert got == (expected_parts, expected_choices), (spec.label, info.name, i)
                compared_here += 1
            assert compared_here, f"{spec.label} {info.name}: no sample record renders, nothing compared"
            records_compared += compared_here
    assert (templates, with_choice) == (592, 103)
    assert records_compared > 5000


_RENDER_IN_A_PROCESS = """
import json, sys
from promptsource.templates import Template
from multilingual_t0.prompting.renderer import CompiledTemplate, Renderer
renderer = Renderer("unit_task", "super_glue", "rte", "GPT-3 style", with_choices=False)
renderer.template = Template("unit template", sys.argv[1], "test")
renderer.compiled = CompiledTemplate(renderer.template)
print(json.dumps([e["inputs"] for e in renderer.render_all([{"premise": str(i)} for i in range(40)], "train")]))
"""


def test_choice_picks_are_the_same_in_every_process():
    """Two hosts (processes with different hash seeds) render every record the same way."""
    import os
    import subprocess
    import sys

    jinja = '{{ ["a", "b", "c", "d", "e", "f", "g", "h"] | choice }} {{premise}} ||| x'
    here = [e["inputs"] for e in make_renderer(jinja).render_all([{"premise": str(i)} for i in range(40)], "train")]
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        result = subprocess.run([sys.executable, "-c", _RENDER_IN_A_PROCESS, jinja], env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
        assert json.loads(result.stdout.strip().splitlines()[-1]) == here, f"PYTHONHASHSEED={hash_seed}"
