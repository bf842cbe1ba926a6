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
from typing import Dict, List, Optional, Tuple

from multilingual_t0.catalog.benchmarks import load_benchmarks, load_paper_prompts, paper_prompts
from multilingual_t0.catalog.datasets import DatasetSpec
from multilingual_t0.catalog.templates import TemplateInfo, list_templates
from multilingual_t0.pipeline import vocab
from multilingual_t0.registry import naming, prompted, rates
from multilingual_t0.registry.naming import eval_task_name as task_name, report_name
from multilingual_t0.registry.specs import (BLACKLIST_PATH, SCORE_EVAL, MixtureSpec, build_task_specs,
                                            is_blacklisted, load_blacklist)

ALL_BENCHMARKS = "xeval"  # the collection name of the mixture of every benchmark
ALL_PROMPTS = "all_prompts"  # `mt5_<collection>_all_prompts_score_eval`: every template, every language
HELDOUT = "t0_heldout"
MT0_HELDOUT = "mt0_heldout"  # the mT0 paper's English held-out set
HELDOUT_ROLE = "d4"  # catalog eval role of T0's held-out datasets


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
    features = features or vocab.output_features()
    prompted.add_missing(
        build_eval_task_specs(),
        lambda spec: prompted.add_score_eval_task(
            spec.name, spec.dataset, spec.template, features,
            template_from=(spec.template_dataset, spec.template_subset)),
        build_eval_mixture_specs())
