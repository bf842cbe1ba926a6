"""Zero-shot evaluation tasks: mT0's multilingual benchmarks and T0's held-out datasets, by rank classification.

`data/xeval.csv` lists the multilingual benchmarks (XNLI, XCOPA, XStoryCloze, XWinograd): where each one's
data is, which languages it has, and which English promptsource templates are applied to every language
(e.g. `super_glue/copa` templates on XCOPA's Estonian records). Each (benchmark, language) becomes a
catalog-style `DatasetSpec` whose data sits at `<benchmark>/<lang>/<split>` in a mirror or the samples;
each (benchmark, language, template) a rank-classification task named `<benchmark>.<lang>_<template>_score_eval`
(family `<benchmark>.<lang>`, as mT5's `mc4.<lang>`).

Registered by `register()` (called once from `multilingual_t0.tasks`):
* those tasks, and mixtures `mt5_xnli_score_eval`, `mt5_xcopa_score_eval`, `mt5_xstory_cloze_score_eval`,
  `mt5_xwinograd_score_eval` and `mt5_xeval_score_eval` (all four);
* `mt5_t0_heldout_score_eval`: the `_score_eval` twins of every template of T0's held-out datasets (the
  foundation's tasks; evaluate them on split `validation`).
Building the specs reads two small tables and template metadata only: no dataset, no Jinja.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Dict, List, Optional, Tuple

from multilingual_t0 import naming, rates
from multilingual_t0.catalog import DATA_DIR, DatasetSpec, SplitSpec, parse_field_map, parse_splits, read_table
from multilingual_t0.task_specs import (BLACKLIST_PATH, SCORE_EVAL, MixtureSpec, build_task_specs,
                                        is_blacklisted, load_blacklist)
from multilingual_t0.templates import TemplateInfo, list_templates

XEVAL_PATH = os.path.join(DATA_DIR, "xeval.csv")
COLUMNS = ("benchmark", "hub_id", "hub_config", "hub_revision", "template_dataset", "template_subset",
           "languages", "splits", "split_sizes", "field_map", "notes")
ALL_BENCHMARKS = "xeval"  # the collection name of the mixture of every benchmark
HELDOUT = "t0_heldout"
HELDOUT_ROLE = "d4"  # catalog eval role of T0's held-out datasets


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """One row of xeval.csv: a multilingual benchmark evaluated with another dataset's templates."""

    name: str
    hub_id: Optional[str]
    hub_config: Optional[str]  # may hold {lang}
    hub_revision: Optional[str]
    template_dataset: str
    template_subset: Optional[str]
    languages: Tuple[str, ...]
    splits: Tuple[SplitSpec, ...]
    split_sizes: Tuple[Tuple[str, int], ...]  # per-language sizes overriding those in `splits`
    field_map: Tuple[Tuple[str, str], ...]
    notes: str

    def dataset_spec(self, lang: str) -> DatasetSpec:
        """The language's data as a catalog dataset: mirror/sample path `<benchmark>/<lang>/<split>`."""
        if lang not in self.languages:
            from multilingual_t0.errors import UnknownNameError

            err = UnknownNameError(f"language of {self.name}", lang, self.languages)
            err.args = (f"{err.args[0]} It has: {' '.join(self.languages)}.",)
            raise err
        size = dict(self.split_sizes).get(lang)
        splits = tuple(dataclasses.replace(s, num_examples=size) for s in self.splits) if size else self.splits
        return DatasetSpec(
            dataset=self.name, subset=lang, variant=None, task_by_convention="evaluation",
            train_role=None, eval_role=None, train_size=None, splits=splits, hub_id=self.hub_id,
            hub_config=self.hub_config.format(lang=lang) if self.hub_config else None,
            hub_revision=self.hub_revision, field_map=self.field_map, notes=self.notes,
        )


@dataclasses.dataclass(frozen=True)
class EvalTaskSpec:
    name: str
    benchmark: str
    language: str
    dataset: DatasetSpec  # the language's data
    template_dataset: str  # where the (English) template comes from
    template_subset: Optional[str]
    template: TemplateInfo


def task_name(benchmark: str, lang: str, template: str) -> str:
    """`<benchmark>.<lang>_<template>_score_eval`, cleaned to seqio's rule."""
    return naming.score_eval_name(naming.task_name(f"{benchmark}.{lang}", None, template))


def _parse_sizes(text: str, languages: Tuple[str, ...]) -> Tuple[Tuple[str, int], ...]:
    pairs = []
    for item in text.split():
        lang, sep, size = item.partition("=")
        if not sep or not size.isdigit():
            raise ValueError(f"split_sizes item {item!r} is not lang=number")
        if lang not in languages:
            raise ValueError(f"split_sizes names language {lang!r}, not one of the row's languages")
        pairs.append((lang, int(size)))
    return tuple(pairs)


def _row_to_benchmark(row: Dict[str, str]) -> Benchmark:
    languages = tuple(row["languages"].split())
    if not languages:
        raise ValueError("no languages given")
    if len(set(languages)) != len(languages):
        raise ValueError(f"languages repeat: {row['languages']!r}")
    template_dataset = row["template_dataset"].strip()
    template_subset = row["template_subset"].strip() or None
    if not list_templates(template_dataset, template_subset):
        raise ValueError(f"promptsource has no templates for {template_dataset}/{template_subset}")
    return Benchmark(
        name=row["benchmark"].strip(),
        hub_id=row["hub_id"].strip() or None,
        hub_config=row["hub_config"].strip() or None,
        hub_revision=row["hub_revision"].strip() or None,
        template_dataset=template_dataset,
        template_subset=template_subset,
        languages=languages,
        splits=parse_splits(row["splits"]),
        split_sizes=_parse_sizes(row["split_sizes"], languages),
        field_map=parse_field_map(row["field_map"]),
        notes=row["notes"].strip(),
    )


def read_benchmarks(path: str = XEVAL_PATH) -> Tuple[Benchmark, ...]:
    """Reads and validates the benchmark table; errors name file:row."""
    return read_table(path, COLUMNS, _row_to_benchmark, key=lambda bench: f"benchmark {bench.name!r}")


@functools.lru_cache(maxsize=None)
def load_benchmarks() -> Tuple[Benchmark, ...]:
    return read_benchmarks(XEVAL_PATH)


def find_benchmark(name: str) -> Benchmark:
    for bench in load_benchmarks():
        if bench.name == name:
            return bench
    from multilingual_t0.errors import UnknownNameError

    raise UnknownNameError("benchmark", name, [b.name for b in load_benchmarks()])


@functools.lru_cache(maxsize=None)
def build_eval_task_specs() -> Tuple[EvalTaskSpec, ...]:
    """One task per (benchmark, language, template with answer choices)."""
    specs: List[EvalTaskSpec] = []
    for bench in load_benchmarks():
        templates = [t for t in list_templates(bench.template_dataset, bench.template_subset)
                     if t.has_answer_choices]
        for lang in bench.languages:
            ds = bench.dataset_spec(lang)
            specs.extend(EvalTaskSpec(task_name(bench.name, lang, t.name), bench.name, lang, ds,
                                      bench.template_dataset, bench.template_subset, t) for t in templates)
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError("Two eval templates clean to the same task name")
    return tuple(specs)


def heldout_twins(blacklist_path: str = BLACKLIST_PATH) -> Tuple:
    """The foundation's `_score_eval` twins of T0's held-out datasets (every template), not blacklisted."""
    blacklist = load_blacklist(blacklist_path)
    return tuple(t for t in build_task_specs()
                 if t.kind == SCORE_EVAL and t.dataset.eval_role == HELDOUT_ROLE
                 and not is_blacklisted(t, blacklist))


@functools.lru_cache(maxsize=None)
def build_eval_mixture_specs() -> Tuple[MixtureSpec, ...]:
    specs = build_eval_task_specs()
    mixtures = []
    for bench in load_benchmarks():
        members = tuple((s.name, rates.eval_rate(s.dataset)) for s in specs if s.benchmark == bench.name)
        mixtures.append(MixtureSpec(naming.mixture_name(bench.name, SCORE_EVAL), members,
                                    f"{bench.name}: {bench.template_dataset}/{bench.template_subset} "
                                    f"templates on {len(bench.languages)} languages (rank classification)"))
    every = tuple(m for mixture in mixtures for m in mixture.tasks)
    mixtures.append(MixtureSpec(naming.mixture_name(ALL_BENCHMARKS, SCORE_EVAL), every,
                                "every multilingual benchmark above (rank classification)"))
    mixtures.append(MixtureSpec(
        naming.mixture_name(HELDOUT, SCORE_EVAL),
        tuple((t.name, rates.eval_rate(t.dataset)) for t in heldout_twins()),
        "T0 held-out datasets, every template with answer choices (rank classification; split validation)"))
    return tuple(mixtures)


def register(features=None) -> None:
    """Registers the eval tasks and mixtures not registered yet (the foundation's tasks must be)."""
    from multilingual_t0 import registration, vocab

    features = features or vocab.output_features()
    registration.add_missing(
        build_eval_task_specs(),
        lambda spec: registration.add_score_eval_task(
            spec.name, spec.dataset, spec.template, features,
            template_from=(spec.template_dataset, spec.template_subset)),
        build_eval_mixture_specs())
