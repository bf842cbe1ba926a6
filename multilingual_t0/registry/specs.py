"""What gets registered, as plain data: task and mixture specs built from the catalog and the
installed promptsource templates. Building them renders nothing and reads no dataset.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import os
from typing import Dict, List, Tuple

from multilingual_t0.catalog.datasets import DatasetSpec, load_catalog
from multilingual_t0.catalog.tables import DATA_DIR
from multilingual_t0.catalog.templates import TemplateInfo, list_templates
from multilingual_t0.registry import naming, rates

BLACKLIST_PATH = os.path.join(DATA_DIR, "task_blacklist.csv")
PROMPTED = "prompted"
SCORE_EVAL = "score_eval"
TRAIN_COLLECTIONS = {  # mixture collection -> catalog train roles it takes
    "d4": ("d4",), "gpt": ("gpt",), "sglue": ("sglue",),
    "d4_gpt": ("d4", "gpt"), "d4_gpt_sglue": ("d4", "gpt", "sglue"),
}


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    name: str
    kind: str  # PROMPTED or SCORE_EVAL
    dataset: DatasetSpec
    template: TemplateInfo
    num_templates: int  # templates of the dataset (the rate rule divides by it)

    @property
    def base_task(self) -> str:
        return naming.task_name(self.dataset.dataset, self.dataset.subset, self.template.name,
                                self.dataset.variant)


@dataclasses.dataclass(frozen=True)
class MixtureSpec:
    name: str
    tasks: Tuple[Tuple[str, int], ...]  # (task name, rate)
    description: str


@functools.lru_cache(maxsize=None)
def load_blacklist(path: str = BLACKLIST_PATH) -> Dict[str, str]:
    """Task name -> why it is left out of the mixtures (tests check every entry names a task)."""
    with open(path, newline="", encoding="utf-8") as f:
        return {row["task"]: row["reason"] for row in csv.DictReader(f)}


@functools.lru_cache(maxsize=None)
def build_task_specs() -> Tuple[TaskSpec, ...]:
    """One prompted task per (catalog row, template), plus a score-eval twin per template with choices."""
    specs: List[TaskSpec] = []
    for ds in load_catalog():
        templates = list_templates(ds.dataset, ds.subset)
        for info in templates:
            name = naming.task_name(ds.dataset, ds.subset, info.name, ds.variant)
            specs.append(TaskSpec(name, PROMPTED, ds, info, len(templates)))
            if info.has_answer_choices:
                specs.append(TaskSpec(naming.score_eval_name(name), SCORE_EVAL, ds, info, len(templates)))
    _check_unique([s.name for s in specs])
    return tuple(specs)


def _check_unique(names: List[str]) -> None:
    seen, dupes = set(), set()
    for n in names:
        (dupes if n in seen else seen).add(n)
    if dupes:
        raise ValueError(f"Two templates clean to the same task name: {sorted(dupes)}")


def datasets_without_tasks() -> Dict[str, str]:
    """Catalog rows that register no task, with the reason."""
    return {ds.label: "promptsource 0.2.3 has no templates for it"
            for ds in load_catalog() if not list_templates(ds.dataset, ds.subset)}


def is_blacklisted(spec: TaskSpec, blacklist: Dict[str, str]) -> bool:
    """A task is left out of mixtures when it, or the prompted task it is the twin of, is listed."""
    return spec.name in blacklist or spec.base_task in blacklist


@functools.lru_cache(maxsize=None)
def build_mixture_specs(blacklist_path: str = BLACKLIST_PATH) -> Tuple[MixtureSpec, ...]:
    """The T0 mixtures; tasks named in the blacklist table at `blacklist_path` stay out."""
    blacklist = load_blacklist(blacklist_path)
    tasks = [t for t in build_task_specs() if not is_blacklisted(t, blacklist)]
    prompted = [t for t in tasks if t.kind == PROMPTED]
    mixtures = []
    for collection, roles in TRAIN_COLLECTIONS.items():
        members = tuple((t.name, rates.train_rate(t.dataset.train_size, t.num_templates))
                        for t in prompted if t.dataset.train_role in roles)
        mixtures.append(MixtureSpec(naming.mixture_name(collection, "train"), members,
                                    f"T0 training datasets ({' + '.join(roles)}), every template; "
                                    "rate = train size, or 500,000 // templates above 500,000"))

    def eval_pair(role: str, original_only: bool, about: str):
        base = [t for t in prompted if t.dataset.eval_role == role
                and (t.template.original_task or not original_only)]
        base_names = {t.name for t in base}
        twins = [t for t in tasks if t.kind == SCORE_EVAL and t.base_task in base_names]
        for kind, members in (("eval", base), ("score_eval", twins)):
            mixtures.append(MixtureSpec(
                naming.mixture_name(role, kind),
                tuple((t.name, rates.eval_rate(t.dataset)) for t in members),
                f"{about} ({'rank classification' if kind == 'score_eval' else 'generation'}); "
                "rate = examples capped at 500,000"))

    eval_pair("d4", True, "T0 held-out datasets, original-task templates")
    eval_pair("bias_fairness", False, "bias and fairness datasets, every template")
    return tuple(m for m in mixtures if m.tasks)

