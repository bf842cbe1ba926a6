"""The dataset catalog: `data/datasets.csv` read and validated into frozen dataclasses.

One row per (dataset, subset[, variant]). ANLI's rounds are variants r1/r2/r3: each round has its own
splits (`train_r1`, `dev_r1`, `test_r1`) and becomes its own set of tasks. Everything a special case
needs (source split names, Hub id and revision, column renames) is a column here, not code.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Dict, Mapping, Optional, Sequence, Tuple

from multilingual_t0.catalog.tables import DATA_DIR, read_table
from multilingual_t0.errors import UnknownNameError

CATALOG_PATH = os.path.join(DATA_DIR, "datasets.csv")

COLUMNS = (
    "dataset", "subset", "variant", "task_by_convention", "do_train", "do_eval", "train_size",
    "splits", "hub_id", "hub_config", "hub_revision", "hub_data_dir", "hub_data_files", "field_map", "notes",
)
# The values T0's table uses for roles, and the collection each one puts a dataset in.
TRAIN_ROLES = {"BASE": "d4", "GPT_EVAL": "gpt", "SGLUE": "sglue"}
EVAL_ROLES = {"BASE": "d4", "BIAS_FAIRNESS": "bias_fairness"}
SPLIT_NAMES = ("train", "validation", "test")


@dataclasses.dataclass(frozen=True)
class SplitSpec:
    name: str  # the seqio split name: train / validation / test
    source: str  # the split's name in the source data (ANLI: dev_r1)
    num_examples: Optional[int]


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    dataset: str
    subset: Optional[str]
    variant: Optional[str]
    task_by_convention: str
    train_role: Optional[str]  # d4 / gpt / sglue
    eval_role: Optional[str]  # d4 / bias_fairness
    train_size: Optional[int]
    splits: Tuple[SplitSpec, ...]
    hub_id: Optional[str]
    hub_config: Optional[str]
    hub_revision: Optional[str]
    field_map: Tuple[Tuple[str, str], ...]
    notes: str
    # Where a config name cannot work (a repository or branch without named configs): the folder, or the
    # files per source split (`eval={lang}/x-eval.parquet`), of the split inside the Hub repository.
    hub_data_dir: Optional[str] = None
    hub_data_files: Tuple[Tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        """Human-readable name: dataset[/subset][ (variant)]."""
        text = self.dataset + (f"/{self.subset}" if self.subset else "")
        return text + (f" ({self.variant})" if self.variant else "")

    @property
    def path_parts(self) -> Tuple[str, ...]:
        """Directory parts of this dataset in a mirror: <dataset>[/<subset>]."""
        return (self.dataset, self.subset) if self.subset else (self.dataset,)

    @property
    def split_names(self) -> Tuple[str, ...]:
        return tuple(s.name for s in self.splits)

    def split(self, name: str) -> SplitSpec:
        for s in self.splits:
            if s.name == name:
                return s
        raise KeyError(
            f"{self.label} has no split {name!r}; it has: {', '.join(self.split_names)}."
        )


def parse_splits(text: str) -> Tuple[SplitSpec, ...]:
    """Parses `name[=source][:size]` items separated by spaces."""
    out = []
    for item in text.split():
        head, _, size = item.partition(":")
        name, _, source = head.partition("=")
        if name not in SPLIT_NAMES:
            raise ValueError(f"split {name!r} is not one of {', '.join(SPLIT_NAMES)}")
        if size and not size.isdigit():
            raise ValueError(f"split size {size!r} of {name!r} is not a whole number")
        out.append(SplitSpec(name, source or name, int(size) if size else None))
    if not out:
        raise ValueError("no splits given")
    return tuple(out)


def parse_pairs(text: str, column: str, form: str) -> Tuple[Tuple[str, str], ...]:
    """Space-separated `key=value` items of a table cell."""
    pairs = []
    for item in text.split():
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"{column} item {item!r} is not {form}")
        pairs.append((key, value))
    return tuple(pairs)


def parse_field_map(text: str) -> Tuple[Tuple[str, str], ...]:
    return parse_pairs(text, "field_map", "source=target")


def _role(value: str, roles: Mapping[str, str], column: str) -> Optional[str]:
    if not value:
        return None
    if value not in roles:
        raise ValueError(f"{column} {value!r} is not one of {', '.join(sorted(roles))} (or empty)")
    return roles[value]


def _row_to_spec(row: Dict[str, str]) -> DatasetSpec:
    train_size = row["train_size"].strip()
    if train_size and not train_size.isdigit():
        raise ValueError(f"train_size {train_size!r} is not a whole number")
    return DatasetSpec(
        dataset=row["dataset"].strip(),
        subset=row["subset"].strip() or None,
        variant=row["variant"].strip() or None,
        task_by_convention=row["task_by_convention"].strip(),
        train_role=_role(row["do_train"].strip(), TRAIN_ROLES, "do_train"),
        eval_role=_role(row["do_eval"].strip(), EVAL_ROLES, "do_eval"),
        train_size=int(train_size) if train_size else None,
        splits=parse_splits(row["splits"]),
        hub_id=row["hub_id"].strip() or None,
        hub_config=row["hub_config"].strip() or None,
        hub_revision=row["hub_revision"].strip() or None,
        field_map=parse_field_map(row["field_map"]),
        notes=row["notes"].strip(),
        hub_data_dir=row["hub_data_dir"].strip() or None,
        hub_data_files=parse_pairs(row["hub_data_files"], "hub_data_files", "split=pattern"),
    )


def _checked_row_to_spec(row: Dict[str, str]) -> DatasetSpec:
    spec = _row_to_spec(row)
    if spec.train_role and not spec.train_size:
        raise ValueError(f"{spec.label} is a training dataset without train_size")
    return spec


def read_catalog(path: str = CATALOG_PATH) -> Tuple[DatasetSpec, ...]:
    """Reads and validates a catalog table; errors name file:row and the bad column."""
    return read_table(path, COLUMNS, _checked_row_to_spec, key=lambda spec: spec.label)


@functools.lru_cache(maxsize=None)
def load_catalog() -> Tuple[DatasetSpec, ...]:
    """The shipped catalog (read once)."""
    return read_catalog(CATALOG_PATH)


def find_dataset(dataset: str, subset: Optional[str] = None,
                 specs: Optional[Sequence[DatasetSpec]] = None) -> Tuple[DatasetSpec, ...]:
    """All catalog rows of a dataset (and subset, when given)."""
    specs = load_catalog() if specs is None else specs
    found = tuple(s for s in specs if s.dataset == dataset and (subset is None or s.subset == subset))
    if not found:
        known = sorted({s.dataset + (f"/{s.subset}" if s.subset else "") for s in specs})
        raise UnknownNameError("dataset", dataset + (f"/{subset}" if subset else ""), known)
    return found
