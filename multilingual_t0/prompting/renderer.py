"""promptsource Template -> {inputs, targets, answer_choices}, counting what does not render.

promptsource quirks handled here: `apply` returns `[""]` when a template does not apply (dropped);
targets may carry leading whitespace (stripped); answer choices may depend on the record. For rank
classification the target must be one of the choices; a record whose answer appears more than once among
its choices is kept (every copy is correct, as in T0's own tasks), and the eval metric counts such records. A record that
makes a template raise is skipped, counted and logged once per (task, error type) with its index;
strict mode (`MT0_STRICT=1` or `strict=True`) raises `BadRecordError` instead.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import random
import threading
import zlib

import jinja2
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

from multilingual_t0 import settings
from multilingual_t0.catalog.templates import load_template
from multilingual_t0.errors import BadRecordError
from multilingual_t0.sources.files import InvalidRecord

log = logging.getLogger(__name__)
STRICT_ENV = "MT0_STRICT"  # named in messages; read through settings.py

# Outcomes that are not errors: the template does not apply, or the record has no label (test splits).
NOT_APPLICABLE = "not_applicable"
UNLABELED = "unlabeled"


# Some templates pick a phrasing with promptsource's `choice` filter, i.e. the global `random`. We make
# it a per-record seeded choice so every host and every run renders a record the same way.
_local = threading.local()


@jinja2.pass_context  # a context filter is never constant-folded when a template is compiled
def _seeded_choice(context, choices):
    del context
    rng = getattr(_local, "rng", None)
    return (rng or random).choice(choices)


def _install_seeded_choice() -> None:
    from promptsource import templates as ps_templates

    if ps_templates.env.filters.get("choice") is not _seeded_choice:
        ps_templates.env.filters["choice"] = _seeded_choice


class CompiledTemplate:
    """A promptsource Template whose Jinja is compiled once.

    `Template.apply` compiles its Jinja (and the answer-choices Jinja, twice) on every call, which
    costs more than the rendering itself. This does exactly what `apply` and
    `get_answer_choices_list` do — same environment, truncation, '|||' escaping and stripping — with
    the compiled templates kept. tests/test_prompts.py checks the equivalence on every template.
    """

    def __init__(self, template):
        from promptsource import templates as ps

        _install_seeded_choice()  # before compiling: compiled templates bind their filters
        self.template = template
        self._escape, self._unescape = ps.Template._escape_pipe, ps.Template._unescape_pipe
        truncating = template.jinja.replace("}}", f" | string | truncate({ps.TEXT_VAR_LENGTH}) }}}}")
        self._body = ps.env.from_string(truncating)
        self._choices = ps.env.from_string(template.answer_choices) if template.answer_choices else None

    def apply(self, example: Dict[str, Any]) -> Tuple[List[str], Optional[List[str]]]:
        """(parts split on '|||', answer choices or None) as promptsource would give them."""
        protected = self._escape(example)
        if "answer_choices" in protected:
            raise ValueError("Example contains the restricted key 'answer_choices'.")
        choices = None
        if self._choices is not None:
            rendered = self._choices.render(**protected)
            choices = [self._unescape(c.strip()) for c in rendered.split("|||")]
        protected["answer_choices"] = choices
        rendered = self._body.render(**protected)
        return [self._unescape(part).strip() for part in rendered.split("|||")], choices


@dataclasses.dataclass
class RenderStats:
    """What happened to the records of one (task, split)."""

    task: str
    split: str
    records: int = 0
    rendered: int = 0
    skipped: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    errors: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    first_error: Dict[str, Tuple[int, str]] = dataclasses.field(default_factory=dict)

    @property
    def num_errors(self) -> int:
        return sum(self.errors.values())

    def summary(self) -> str:
        parts = [f"{self.task} [{self.split}]: {self.rendered}/{self.records} rendered"]
        parts += [f"{n} {reason}" for reason, n in sorted(self.skipped.items())]
        parts += [f"{n} bad ({kind}; first at record {self.first_error[kind][0]})"
                  for kind, n in sorted(self.errors.items())]
        return ", ".join(parts)


# (task, split) -> stats of the latest pass; read by the demo, the CLI and the tests.
RENDER_STATS: Dict[Tuple[str, str], RenderStats] = {}


class Renderer:
    """Applies one template to the records of one task."""

    def __init__(self, task: str, dataset: str, subset: Optional[str], template_name: str,
                 with_choices: bool, require_answer_among_choices: bool = False,
                 strict: Optional[bool] = None):
        self.task = task
        self.template = load_template(dataset, subset, template_name)
        self.compiled = CompiledTemplate(self.template)
        self.with_choices = with_choices
        self.require_answer_among_choices = require_answer_among_choices
        self.strict = settings.current().strict if strict is None else strict

    def render(self, index: int, record: Any) -> Tuple[Optional[Dict[str, Any]], Optional[str]]:
        """(example, None) or (None, reason). Raises only for bad records in strict mode."""
        if isinstance(record, InvalidRecord):
            raise ValueError(f"{record.error} at {record.where}")
        _local.rng = random.Random(zlib.crc32(f"{self.task}:{index}".encode()))
        try:
            parts, choices = self.compiled.apply(record)
        finally:
            _local.rng = None
        if len(parts) == 1 or not parts[0].strip():
            return None, NOT_APPLICABLE
        if len(parts) != 2:
            raise ValueError(f"template rendered {len(parts)} parts separated by '|||', expected 2")
        inputs, targets = parts[0].strip(), parts[1].strip()
        if not targets:
            return None, UNLABELED
        example: Dict[str, Any] = {"inputs": inputs, "targets": targets}
        if self.with_choices:
            choices = [c.strip() for c in choices or []]
            if self.require_answer_among_choices and targets not in choices:
                raise ValueError(f"target {targets!r} is not among the answer choices {choices}; rank "
                                 "classification needs it there (it may be there more than once)")
            example["answer_choices"] = choices
        return example, None

    def render_all(self, records: Iterable[Any], split: str, start: int = 0, step: int = 1
                   ) -> Iterator[Dict[str, Any]]:
        """Renders records[start::step] (a shard), updating RENDER_STATS[(task, split)]."""
        return self.render_indexed(((i, r) for i, r in enumerate(records) if i % step == start), split)

    def render_indexed(self, indexed_records: Iterable[Tuple[int, Any]], split: str) -> Iterator[Dict[str, Any]]:
        """Renders (index in the split, record) pairs in the order given; the index seeds `choice`, so
        a record renders the same however the split is sharded or shuffled."""
        stats = RenderStats(self.task, split)
        RENDER_STATS[(self.task, split)] = stats
        for index, record in indexed_records:
            stats.records += 1
            try:
                example, reason = self.render(index, record)
            except Exception as err:  # a template can raise anything on odd data
                self._bad_record(stats, index, err)
                continue
            if example is None:
                stats.skipped[reason] += 1
                continue
            stats.rendered += 1
            yield example
        if stats.num_errors:
            log.warning("%s", stats.summary())

    def _bad_record(self, stats: RenderStats, index: int, err: Exception) -> None:
        kind = type(err).__name__
        message = (f"task {self.task!r} split {stats.split!r}: record {index} could not be rendered "
                   f"by template {self.template.get_name()!r}: {kind}: {err}")
        if self.strict:
            raise BadRecordError(message + f" (unset {STRICT_ENV} to skip and count such records)") from err
        if kind not in stats.errors:
            stats.first_error[kind] = (index, str(err))
            log.warning("%s; skipping such records (counted; MT0_STRICT=1 raises)", message)
        stats.errors[kind] += 1

