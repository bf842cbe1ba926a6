"""Zero-shot evaluation tasks: mT0's multilingual benchmarks and T0's held-out datasets, by rank classification.

`data/xeval.csv` lists the multilingual benchmarks (XNLI, XCOPA, XStoryCloze, XWinograd): where each one's
data is, which languages it has, and which English promptsource templates are applied to every language
(e.g. `super_glue/copa` templates on XCOPA's Estonian records). Each (benchmark, language) becomes a
catalog-style `DatasetSpec` whose data sits at `<benchmark>/<lang>/<split>` in a mirror or the samples;
each (benchmark, language, template) a rank-classification task named `<benchmark>.<lang>_<template>_score_eval`
(family `<benchmark>.<lang>`, as mT5's `mc4.<lang>`).

The mT0 paper's protocol is the default: `data/paper_prompts.csv` names the 5 English prompts the paper
scored per template source (XNLI/ANLI/CB share the `xnli/en` prompt names, XCOPA/COPA those of
`super_glue/copa`, ...) and xeval.csv's `paper_languages` the languages it averaged (XStoryCloze: 10, no `en`).

Registered by `register()` (called once from `multilingual_t0.tasks`):
* those tasks; per benchmark the paper mixture `mt5_<benchmark>_score_eval` (5 prompts x paper languages)
  and `mt5_<benchmark>_all_prompts_score_eval` (every template x every language); `mt5_xeval_score_eval`
  and `mt5_xeval_all_prompts_score_eval` (all four benchmarks);
* `mt5_mt0_heldout_score_eval`: the paper's English held-out set (ANLI r1-r3 dev, CB, RTE, COPA, StoryCloze
  2016, WinoGrande XL; 5 prompts each) and `mt5_mt0_heldout_all_prompts_score_eval` (every template), made
  of the foundation's `_score_eval` twins, so their names follow `naming` (evaluate on split `validation`);
* `mt5_t0_heldout_score_eval`: the `_score_eval` twins of every template of T0's held-out datasets.
Building the specs reads small tables and template metadata only: no dataset, no Jinja.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Dict, List, Optional, Tuple

from multilingual_t0 import naming, rates
from multilingual_t0.catalog import DATA_DIR, DatasetSpec, SplitSpec, parse_field_map, parse_splits, read_table
from multilingual_t0.errors import CatalogError
from multilingual_t0.task_specs import (BLACKLIST_PATH, SCORE_EVAL, MixtureSpec, build_task_specs,
                                        is_blacklisted, load_blacklist)
from multilingual_t0.templates import TemplateInfo, list_templates

XEVAL_PATH = os.path.join(DATA_DIR, "xeval.csv")
PAPER_PROMPTS_PATH = os.path.join(DATA_DIR, "paper_prompts.csv")
COLUMNS = ("benchmark", "hub_id", "hub_config", "hub_revision", "template_dataset", "template_subset",
           "languages", "splits", "paper_languages", "split_sizes", "field_map", "notes")
PAPER_COLUMNS = ("template_dataset", "template_subset", "prompts", "choices", "english_heldout", "notes")
PROMPT_SEPARATOR = "|"
ALL_BENCHMARKS = "xeval"  # the collection name of the mixture of every benchmark
ALL_PROMPTS = "all_prompts"  # `mt5_<collection>_all_prompts_score_eval`: every template, every language
HELDOUT = "t0_heldout"
MT0_HELDOUT = "mt0_heldout"  # the mT0 paper's English held-out set
HELDOUT_ROLE = "d4"  # catalog eval role of T0's held-out datasets


@dataclasses.dataclass(frozen=True)
class PaperPrompts:
    """One row of paper_prompts.csv: the 5 prompts the mT0 paper scored with one dataset's templates."""

    template_dataset: str
    template_subset: Optional[str]
    prompts: Tuple[str, ...]
    choices: int  # answer choices per item: chance accuracy is 100 / choices
    english_heldout: bool  # the catalog dataset itself is in the English held-out set
    notes: str

    @property
    def chance(self) -> float:
        return 100.0 / self.choices


def _row_to_paper_prompts(row: Dict[str, str]) -> PaperPrompts:
    dataset, subset = row["template_dataset"].strip(), row["template_subset"].strip() or None
    prompts = tuple(p.strip() for p in row["prompts"].split(PROMPT_SEPARATOR) if p.strip())
    if len(set(prompts)) != len(prompts):
        raise ValueError(f"prompts repeat: {row['prompts']!r}")
    known = {t.name: t for t in list_templates(dataset, subset)}
    for name in prompts:
        if name not in known:
            raise ValueError(f"promptsource has no template {name!r} for {dataset}/{subset}; it has: "
                             f"{', '.join(sorted(known))}")
        if not known[name].has_answer_choices:
            raise ValueError(f"template {name!r} of {dataset}/{subset} has no answer choices")
    if not row["choices"].strip().isdigit() or int(row["choices"]) < 2:
        raise ValueError(f"choices {row['choices']!r} is not a whole number >= 2")
    if row["english_heldout"].strip() not in ("yes", "no"):
        raise ValueError(f"english_heldout {row['english_heldout']!r} is not yes or no")
    return PaperPrompts(dataset, subset, prompts, int(row["choices"]), row["english_heldout"].strip() == "yes",
                        row["notes"].strip())


@functools.lru_cache(maxsize=None)
def load_paper_prompts(path: str = PAPER_PROMPTS_PATH) -> Dict[Tuple[str, Optional[str]], PaperPrompts]:
    """(template dataset, subset) -> the paper's prompts for it; errors name file:row."""
    rows = read_table(path, PAPER_COLUMNS, _row_to_paper_prompts,
                      key=lambda p: f"{p.template_dataset}/{p.template_subset}")
    return {(p.template_dataset, p.template_subset): p for p in rows}


def paper_prompts(template_dataset: str, template_subset: Optional[str]) -> PaperPrompts:
    found = load_paper_prompts().get((template_dataset, template_subset))
    if found is None:
        raise CatalogError(f"{PAPER_PROMPTS_PATH}: no row for templates {template_dataset}/{template_subset}; "
                           "add the paper's prompts for them")
    return found


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
    paper_languages: Tuple[str, ...]  # the languages the mT0 paper averaged over
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
    paper: bool  # in the mT0 paper's protocol (one of its 5 prompts, one of its languages)


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
    paper_languages = tuple(row["paper_languages"].split()) or languages
    if set(paper_languages) - set(languages):
        raise ValueError(f"paper_languages {' '.join(sorted(set(paper_languages) - set(languages)))} "
                         "are not in languages")
    return Benchmark(
        name=row["benchmark"].strip(),
        hub_id=row["hub_id"].strip() or None,
        hub_config=row["hub_config"].strip() or None,
        hub_revision=row["hub_revision"].strip() or None,
        template_dataset=template_dataset,
        template_subset=template_subset,
        languages=languages,
        splits=parse_splits(row["splits"]),
        paper_languages=paper_languages,
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
        paper = set(paper_prompts(bench.template_dataset, bench.template_subset).prompts)
        for lang in bench.languages:
            ds = bench.dataset_spec(lang)
            specs.extend(EvalTaskSpec(task_name(bench.name, lang, t.name), bench.name, lang, ds,
                                      bench.template_dataset, bench.template_subset, t,
                                      paper=t.name in paper and lang in bench.paper_languages)
                         for t in templates)
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


def mt0_heldout_twins(all_prompts: bool = False) -> Tuple:
    """The mT0 paper's English held-out set: twins of the catalog datasets marked `english_heldout` in
    paper_prompts.csv (ANLI's rounds, CB, RTE, COPA, StoryCloze, WinoGrande), the paper's 5 prompts each
    (every template when `all_prompts`). Names come from the foundation's specs (naming.task_name)."""
    table = load_paper_prompts()
    chosen = []
    for twin in heldout_twins():
        row = table.get((twin.dataset.dataset, twin.dataset.subset))
        if row and row.english_heldout and (all_prompts or twin.template.name in row.prompts):
            chosen.append(twin)
    return tuple(chosen)


def report_name(dataset: DatasetSpec) -> str:
    """How the report names a catalog dataset: `dataset/subset[/variant]` (`anli/r1`, `super_glue/rte`)."""
    return "/".join(p for p in (dataset.dataset, dataset.subset, dataset.variant) if p)


@functools.lru_cache(maxsize=None)
def paper_protocol() -> Dict[str, Tuple[Tuple[str, ...], Optional[Tuple[str, ...]], float]]:
    """Report dataset name -> (the paper's prompts, its languages (None: English only), chance accuracy %),
    for every benchmark and every dataset of the English held-out set."""
    out = {}
    for bench in load_benchmarks():
        row = paper_prompts(bench.template_dataset, bench.template_subset)
        out[bench.name] = (row.prompts, bench.paper_languages, row.chance)
    for ds in sorted({t.dataset for t in mt0_heldout_twins(all_prompts=True)}, key=report_name):
        row = paper_prompts(ds.dataset, ds.subset)
        out[report_name(ds)] = (row.prompts, None, row.chance)
    return out


@functools.lru_cache(maxsize=None)
def build_eval_mixture_specs() -> Tuple[MixtureSpec, ...]:
    specs = build_eval_task_specs()
    mixtures, paper, every = [], [], []
    for bench in load_benchmarks():
        members = [s for s in specs if s.benchmark == bench.name]
        source = f"{bench.template_dataset}/{bench.template_subset}"
        for chosen, collection, about in (
                ([s for s in members if s.paper], bench.name,
                 f"the mT0 paper's 5 {source} prompts on its {len(bench.paper_languages)} languages"),
                (members, f"{bench.name}_{ALL_PROMPTS}",
                 f"every {source} template on {len(bench.languages)} languages")):
            tasks = tuple((s.name, rates.eval_rate(s.dataset)) for s in chosen)
            (paper if collection == bench.name else every).extend(tasks)
            mixtures.append(MixtureSpec(naming.mixture_name(collection, SCORE_EVAL), tasks,
                                        f"{bench.name}: {about} (rank classification)"))
    mixtures.append(MixtureSpec(naming.mixture_name(ALL_BENCHMARKS, SCORE_EVAL), tuple(paper),
                                "every multilingual benchmark, the mT0 paper's prompts and languages"))
    mixtures.append(MixtureSpec(naming.mixture_name(f"{ALL_BENCHMARKS}_{ALL_PROMPTS}", SCORE_EVAL), tuple(every),
                                "every multilingual benchmark, every template and language"))
    for all_prompts, collection in ((False, MT0_HELDOUT), (True, f"{MT0_HELDOUT}_{ALL_PROMPTS}")):
        mixtures.append(MixtureSpec(
            naming.mixture_name(collection, SCORE_EVAL),
            tuple((t.name, rates.eval_rate(t.dataset)) for t in mt0_heldout_twins(all_prompts)),
            "the mT0 paper's English held-out sets (ANLI r1-r3, CB, RTE, COPA, StoryCloze 2016, WinoGrande XL), "
            f"{'every template' if all_prompts else 'its 5 prompts each'} (rank classification; split validation)"))
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
