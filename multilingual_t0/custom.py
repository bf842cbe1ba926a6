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
import functools
import re
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import gin

from multilingual_t0.errors import DataNotFoundError

EXTENSIONS = (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".parquet")
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


def resolve_files(name: str, split: str, patterns: Sequence[str]) -> List[str]:
    """The files of one split (sorted, deduplicated); raises DataNotFoundError when none match and
    ValueError for a file of an unsupported type."""
    from multilingual_t0.sources import glob_files

    files = sorted({f for pattern in patterns for f in glob_files(pattern)})
    if not files:
        raise DataNotFoundError(
            f"custom task {name!r} split {split!r}", list(patterns),
            "check the paths or glob patterns (they are matched when the task is added and when data is read); "
            f"files must end in {', '.join(EXTENSIONS)}")
    unsupported = [f for f in files if not f.endswith(EXTENSIONS)]
    if unsupported:
        raise ValueError(f"custom task {name!r} split {split!r}: {unsupported[0]} is not a supported file type; "
                         f"use {', '.join(EXTENSIONS)} (narrow the pattern, e.g. '*.jsonl')")
    return files


def locate(name: str, split: str, patterns: Sequence[str], inputs_field: str, targets_field: str):
    """Finds one split's files when data is read (files added since `add_task` count)."""
    from multilingual_t0.record_source import Located, check_fields
    from multilingual_t0.sources import read_files

    files = resolve_files(name, split, patterns)
    check_fields(files, (inputs_field, targets_field), f"custom task {name!r} split {split!r}")
    origin = files[0] if len(files) == 1 else f"{files[0]} (+{len(files) - 1} files)"
    return Located(origin, functools.partial(read_files, files), files=files)


class _SplitLocator:
    """split -> Located, dispatching to the split's patterns (a plain object, so it pickles)."""

    def __init__(self, spec: CustomTaskSpec):
        self.spec = spec

    def __call__(self, split: str):
        patterns = dict(self.spec.splits)[split]
        return locate(self.spec.name, split, patterns, self.spec.inputs_field, self.spec.targets_field)


@gin.configurable(module="custom")
def add_task(name: str, splits: Mapping[str, Paths], inputs_field: str = "inputs",
             targets_field: str = "targets") -> str:
    """Registers a seqio task reading `splits` ({split: path, glob or list}) and returns its name.

    Checks now, so a typo fails here and not hours into a run: every split matches at least one file
    (DataNotFoundError), the files' records have `inputs_field` and `targets_field` (MissingColumnError,
    a KeyError), and `name` is free or was added with the same settings (ValueError otherwise).
    Adding the same task again is a no-op, so gin may evaluate `@custom.add_task()` more than once."""
    import seqio

    from multilingual_t0 import preprocessors, vocab
    from multilingual_t0.record_source import RecordsDataSource, check_fields

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
    for split, patterns in spec.splits:
        files = resolve_files(name, split, patterns)
        check_fields(files, (inputs_field, targets_field), f"custom task {name!r} split {split!r}")
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
