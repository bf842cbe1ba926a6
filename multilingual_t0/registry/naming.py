"""Every task and mixture name, built and parsed here, cleaned to what seqio accepts (`^[\\w\\d\\.\\:_]+$`).

Families:  T0 prompted `{dataset}_{subset}_{template}` (ANLI `..._r1`), twins `<task>_score_eval`,
eval `<benchmark>.<lang>_<template>_score_eval`, xP3 `xp3.<lang>` / `xp3mt.<lang>`, LM adaptation
`mt5_lm_adapt.<lang>`, mixtures `mt5_<collection>_<train|eval|score_eval>`.
"""

from __future__ import annotations

import re
from typing import Optional, Tuple

from multilingual_t0.catalog.datasets import DatasetSpec

SCORE_EVAL_SUFFIX = "_score_eval"
LM_ADAPT_PREFIX = "mt5_lm_adapt"
_INVALID = re.compile(r"[^\w\d\._]+")
# `<benchmark>.<lang>_<template>_score_eval` (eval_task_name's form), read back by the report.
_EVAL_TASK = re.compile(r"^(?P<bench>[A-Za-z0-9_]+)\.(?P<lang>[a-z]{2,3})_(?P<template>.+)_score_eval$")


def clean(text: str) -> str:
    """T0's rule: every run of characters outside [\\w\\d._] becomes one underscore."""
    return _INVALID.sub("_", text)


def task_name(dataset: str, subset: Optional[str], template: str, variant: Optional[str] = None) -> str:
    """`{dataset}_{subset}_{template}`, then `_{variant}` (ANLI's round) as T0's registry names them.

    T0 (bigscience-workshop/t-zero, t0/seqio_tasks/tasks.py) registers ANLI as
    `get_task_name("anli", None, template) + f"_{round}"`, e.g. `anli_GPT_3_style_r1`; keeping its form
    lets T0's task names and per-prompt results carry over unchanged.
    """
    name = clean("_".join([dataset] + ([subset] if subset else []) + [template]))
    return f"{name}_{clean(variant)}" if variant else name


def score_eval_name(task: str) -> str:
    """The rank-classification twin of a task."""
    return task + SCORE_EVAL_SUFFIX


def eval_task_name(benchmark: str, lang: str, template: str) -> str:
    """`<benchmark>.<lang>_<template>_score_eval`, cleaned to seqio's rule."""
    return score_eval_name(task_name(f"{benchmark}.{lang}", None, template))


def parse_eval_task(name: str) -> Optional[Tuple[str, str, str]]:
    """(benchmark, language, template) of an `eval_task_name`, or None for another form."""
    match = _EVAL_TASK.match(name)
    return (match["bench"], match["lang"], match["template"]) if match else None


def family_task_name(family: str, code: str) -> str:
    """`<family>.<lang>` as mT5's `mc4.<lang>` (xp3.sw, mt5_lm_adapt.zh_Latn): `-` is not allowed."""
    return f"{family}.{code.replace('-', '_')}"


def mixture_name(collection: str, kind: str) -> str:
    """`mt5_<collection>_<train|eval|score_eval>`."""
    return f"mt5_{collection}_{kind}"


def report_name(dataset: DatasetSpec) -> str:
    """How the report names a catalog dataset: `dataset/subset[/variant]` (`anli/r1`, `super_glue/rte`)."""
    return "/".join(p for p in (dataset.dataset, dataset.subset, dataset.variant) if p)
