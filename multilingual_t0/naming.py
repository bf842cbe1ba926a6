"""Task and mixture names, cleaned to what seqio accepts (`^[\\w\\d\\.\\:_]+$`)."""

from __future__ import annotations

import re
from typing import Optional

SCORE_EVAL_SUFFIX = "_score_eval"
_INVALID = re.compile(r"[^\w\d\._]+")


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


def mixture_name(collection: str, kind: str) -> str:
    """`mt5_<collection>_<train|eval|score_eval>`."""
    return f"mt5_{collection}_{kind}"
