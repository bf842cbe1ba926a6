"""Fine-tune on your own data: a seqio task from files whose records hold the input and target text.

    from multilingual_t0 import custom
    custom.add_task("my_task", {"train": "/data/mine/train-*.jsonl.gz", "validation": "/data/mine/dev.jsonl"})

or, in a T5X gin file (the function is gin-configurable as `custom.add_task`):

    from multilingual_t0 import custom
    custom.add_task.name = 'my_task'
    custom.add_task.splits = {'train': '/data/mine/train-*.jsonl.gz'}
    MIXTURE_OR_TASK_NAME = @custom.add_task()

Files are JSON lines (`.jsonl`, `.json`, optionally `.gz`) or Parquet, found by path or glob pattern
(every split: one pattern or a list). Records are read as every other dataset of the package (bad
records are skipped and counted, `MT0_STRICT=1` raises); the task tokenizes with the package vocabulary
and ends the targets with EOS, exactly as the prompted and xP3 tasks.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import gin
import seqio

from multilingual_t0.pipeline import preprocessors, vocab
from multilingual_t0.pipeline.records_source import RecordsDataSource
from multilingual_t0.sources.layouts import custom_split
from multilingual_t0.sources.located import LocatedSplit, locate
_NAME_RULE = re.compile(r"^[\w\d\.\:_]+$")  # seqio's rule for task names

Paths = Union[str, Sequence[str]]


@dataclasses.dataclass(frozen=True)
class CustomTaskSpec:
    """What a custom task was registered with: adding the same name again must match it."""

    name: str
    splits: Tuple[Tuple[str, Tuple[str, ...]], ...]  # (split, paths or patterns)
    inputs_field: str
    targets_field: str


# name -> spec of the tasks this module registered (to tell a repeat from a clash).
_REGISTERED: Dict[str, CustomTaskSpec] = {}


def _normalize_splits(name: str, splits: Mapping[str, Paths]) -> Tuple[Tuple[str, Tuple[str, ...]], ...]:
    if not isinstance(splits, Mapping) or not splits:
        raise ValueError(f"custom task {name!r}: splits must map split names to a path, a glob pattern or a "
                         f"list of them, e.g. {{'train': '/data/train.jsonl'}}; got {splits!r}")
    out = []
    for split, paths in splits.items():
        if not isinstance(split, str) or not _NAME_RULE.match(split):
            raise ValueError(f"custom task {name!r}: split name {split!r} must be letters, digits, '_', '.' or ':'")
        items = (paths,) if isinstance(paths, str) else tuple(paths)
        if not items or not all(isinstance(p, str) and p for p in items):
            raise ValueError(f"custom task {name!r} split {split!r}: expected a path, a glob pattern or a list "
                             f"of them, got {paths!r}")
        out.append((split, items))
    return tuple(out)


def locate_split(spec: CustomTaskSpec, split: str) -> LocatedSplit:
    """Finds one split's files when data is read (files added since `add_task` count): DataNotFoundError
    when none match, ValueError for a file of an unsupported type, MissingColumnError for a missing field."""
    layout = custom_split(spec.name, split, dict(spec.splits)[split], spec.inputs_field, spec.targets_field)
    return locate(layout)


class _SplitLocator:
    """split -> Located, dispatching to the split's patterns (a plain object, so it pickles)."""

    def __init__(self, spec: CustomTaskSpec):
        self.spec = spec

    def __call__(self, split: str) -> LocatedSplit:
        return locate_split(self.spec, split)


@gin.configurable(module="custom")
def add_task(name: str, splits: Mapping[str, Paths], inputs_field: str = "inputs",
             targets_field: str = "targets") -> str:
    """Registers a seqio task reading `splits` ({split: path, glob or list}) and returns its name.

    Checks now, so a typo fails here and not hours into a run: every split matches at least one file
    (DataNotFoundError), the files' records have `inputs_field` and `targets_field` (MissingColumnError,
    a KeyError), and `name` is free or was added with the same settings (ValueError otherwise).
    Adding the same task again is a no-op, so gin may evaluate `@custom.add_task()` more than once."""
    if not isinstance(name, str) or not _NAME_RULE.match(name):
        raise ValueError(f"task name {name!r} must be letters, digits, '_', '.' or ':' (seqio's rule)")
    for label, field in (("inputs_field", inputs_field), ("targets_field", targets_field)):
        if not isinstance(field, str) or not field:
            raise ValueError(f"custom task {name!r}: {label} must be a column name, got {field!r}")
    spec = CustomTaskSpec(name, _normalize_splits(name, splits), inputs_field, targets_field)
    if name in _REGISTERED and _REGISTERED[name] == spec:
        return name
    if name in seqio.TaskRegistry.names() or name in seqio.MixtureRegistry.names():
        before = _REGISTERED.get(name)
        settings = (f"with other settings ({before})" if before else "by another part of the program")
        raise ValueError(f"task {name!r} is already registered {settings}; pick another name, or pass the same "
                         "splits and fields.")
    for split, _ in spec.splits:
        locate_split(spec, split)
    features = vocab.output_features()
    source = RecordsDataSource(name, [split for split, _ in spec.splits], _SplitLocator(spec),
                               inputs_field=inputs_field, targets_field=targets_field, tokenize_features=features)
    seqio.TaskRegistry.add(name, source, output_features=features,
                           preprocessors=preprocessors.prompted_chain(), metric_fns=[])
    _REGISTERED[name] = spec
    return name


def registered_spec(name: str) -> Optional[CustomTaskSpec]:
    """The settings a custom task was added with (None if this module did not add it)."""
    return _REGISTERED.get(name)
