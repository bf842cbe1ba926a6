"""Contamination guard: is an evaluation zero-shot for a model trained on a given mixture?

Zero-shot (T0, mT0) means the *task cluster* was never trained on, not only the dataset: a model trained on
COPA is not zero-shot on XCOPA. A dataset's cluster is its row in `data/task_clusters.csv` (the benchmarks
of data/xeval.csv, and COPA, which T0's catalog files under QA but the papers hold out as sentence
completion), else the catalog's `task_by_convention` (data/datasets.csv). A training mixture's clusters are
those of its tasks' datasets; a mixture whose tasks are not catalog tasks (xP3) declares the evaluation
clusters it trains on in `data/mixture_clusters.csv`.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from typing import Dict, FrozenSet, Iterable, List, Optional, Tuple

import seqio

from multilingual_t0.catalog.datasets import load_catalog
from multilingual_t0.catalog.tables import DATA_DIR, read_table
from multilingual_t0.errors import UnknownNameError
from multilingual_t0.registry.all_tasks import register_all
from multilingual_t0.registry.naming import report_name
from multilingual_t0.registry.specs import build_mixture_specs, build_task_specs

CLUSTERS_PATH = os.path.join(DATA_DIR, "task_clusters.csv")
MIXTURE_CLUSTERS_PATH = os.path.join(DATA_DIR, "mixture_clusters.csv")
CONFIG_GIN = "config.gin"  # what t5x/train.py writes into MODEL_DIR: the run's operative gin config
_MIXTURE_MACRO = re.compile(r"^\s*MIXTURE_OR_TASK_NAME\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class DeclaredMixture:
    name: str
    trained_clusters: FrozenSet[str]
    notes: str


@functools.lru_cache(maxsize=None)
def load_cluster_table(path: str = CLUSTERS_PATH) -> Dict[str, str]:
    """dataset (a benchmark or `dataset[/subset]`) -> cluster, for the datasets the catalog cannot tell."""
    def parse(row):
        if not row["dataset"].strip() or not row["cluster"].strip():
            raise ValueError("dataset and cluster must not be empty")
        return row["dataset"].strip(), row["cluster"].strip()

    return dict(read_table(path, ("dataset", "cluster", "notes"), parse, key=lambda item: item[0]))


@functools.lru_cache(maxsize=None)
def load_declared_mixtures(path: str = MIXTURE_CLUSTERS_PATH) -> Dict[str, DeclaredMixture]:
    def parse(row):
        return DeclaredMixture(row["mixture"].strip(), frozenset(row["trained_clusters"].split()),
                               row["notes"].strip())

    rows = read_table(path, ("mixture", "trained_clusters", "notes"), parse, key=lambda m: m.name)
    return {m.name: m for m in rows}


@functools.lru_cache(maxsize=None)
def _catalog_clusters() -> Dict[str, str]:
    """Every catalog dataset under the names the report uses (`anli/r1`) and without its variant (`anli`)."""
    out = {}
    for ds in load_catalog():
        out[report_name(ds)] = ds.task_by_convention
        out.setdefault("/".join(ds.path_parts), ds.task_by_convention)
    return out


def dataset_cluster(name: str) -> Optional[str]:
    """The task cluster of a dataset as the report names it (`xcopa`, `super_glue/copa`, `anli/r1`)."""
    table = load_cluster_table()
    parts = name.split("/")
    for prefix in ("/".join(parts[:n]) for n in range(len(parts), 0, -1)):
        if prefix in table:
            return table[prefix]
    return _catalog_clusters().get(name)


def _training_mixtures() -> Dict[str, Tuple[str, ...]]:
    return {m.name: tuple(t for t, _ in m.tasks) for m in build_mixture_specs() if m.name.endswith("_train")}


def _registered_mixture_tasks(mixture: str) -> Optional[Tuple[str, ...]]:
    """Leaf tasks of a mixture registered by another module (None when seqio does not know it)."""
    register_all()  # every task and mixture of the package (idempotent), so seqio knows them
    try:
        found = seqio.get_mixture_or_task(mixture)
    except ValueError:
        return None
    return tuple(t.name for t in found.tasks) if isinstance(found, seqio.Mixture) else (found.name,)


def trained_clusters(mixture: str) -> Dict[str, Tuple[str, ...]]:
    """cluster -> the tasks of `mixture` in it (a declared mixture: its declaration as the one "task")."""
    declared = load_declared_mixtures()
    if mixture in declared:
        why = f"{mixture} (declared in data/mixture_clusters.csv)"
        return {c: (why,) for c in sorted(declared[mixture].trained_clusters)}
    mixtures = _training_mixtures()
    tasks = mixtures.get(mixture) or _registered_mixture_tasks(mixture)
    if tasks is None:
        raise UnknownNameError("training mixture", mixture, list(mixtures) + list(declared))
    datasets = {t.name: report_name(t.dataset) for t in build_task_specs()}
    unknown = [t for t in tasks if t not in datasets]
    if unknown:
        raise ValueError(
            f"{len(unknown)} task(s) of mixture {mixture!r} are not T0 catalog tasks (e.g. {', '.join(unknown[:3])}), "
            f"so their task clusters are unknown: declare the clusters it trains on in {MIXTURE_CLUSTERS_PATH}")
    out: Dict[str, List[str]] = {}
    for task in tasks:
        cluster = dataset_cluster(datasets[task])
        if cluster:
            out.setdefault(cluster, []).append(task)
    return {c: tuple(sorted(ts)) for c, ts in out.items()}


def not_zero_shot(datasets: Iterable[str], mixture: str) -> Dict[str, Tuple[str, ...]]:
    """Evaluation dataset -> the training tasks of `mixture` in its cluster, for every dataset that is not
    zero-shot after training on `mixture` (datasets whose cluster is unknown are left out)."""
    trained = trained_clusters(mixture)
    out = {}
    for name in datasets:
        cluster = dataset_cluster(name)
        if cluster in trained:
            out[name] = trained[cluster]
    return out


def by_dataset(tasks: Iterable[str]) -> Dict[str, int]:
    """Training tasks grouped by their dataset (`super_glue/copa` -> 12), for a short message; a task
    that is not a catalog task (a declaration) stands for itself."""
    datasets = {t.name: report_name(t.dataset) for t in build_task_specs()}
    out: Dict[str, int] = {}
    for task in tasks:
        key = datasets.get(task, task)
        out[key] = out.get(key, 0) + 1
    return out


def mixture_from_config(text: str, path: str = CONFIG_GIN) -> str:
    """MIXTURE_OR_TASK_NAME of a T5X run's config.gin (the operative config t5x/train.py writes)."""
    found = _MIXTURE_MACRO.findall(text)
    if not found:
        raise ValueError(f"{path}: no MIXTURE_OR_TASK_NAME = '...' line; pass the training mixture by name "
                         "(--trained-on MIXTURE)")
    return found[-1]  # later bindings win in gin


def config_candidates(path: str) -> List[str]:
    """Where a run's config.gin may be, given the file, MODEL_DIR or a checkpoint_N inside it."""
    if path.endswith(".gin"):
        return [path]
    path = path.rstrip("/")
    return [os.path.join(path, CONFIG_GIN), os.path.join(os.path.dirname(path), CONFIG_GIN)]
