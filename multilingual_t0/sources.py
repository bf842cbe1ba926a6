"""Where records come from: a local mirror directory, the Hugging Face Hub, or the embedded samples.

Chosen by configuration, read when a dataset is built (never at import):
  MT0_DATA_SOURCE  auto (default) | mirror | hub | samples
  MT0_DATA_DIR     the mirror: <dir>/<dataset>[/<subset>]/<source_split>.{jsonl,jsonl.gz,parquet}
                   (or shards <source_split>-*.<ext>); `auto` uses it when set, else the Hub.
Every reader streams: memory does not grow with the size of a split.
"""

from __future__ import annotations

import dataclasses
import glob
import gzip
import io
import json
import os
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from multilingual_t0.catalog import DATA_DIR, DatasetSpec, SplitSpec
from multilingual_t0.errors import DataNotFoundError

SOURCE_ENV = "MT0_DATA_SOURCE"
DATA_DIR_ENV = "MT0_DATA_DIR"
SOURCE_KINDS = ("auto", "mirror", "hub", "samples")
SAMPLES_DIR = os.path.join(DATA_DIR, "samples")
FILE_EXTENSIONS = (".jsonl", ".jsonl.gz", ".parquet")


@dataclasses.dataclass(frozen=True)
class InvalidRecord:
    """A record that could not be decoded (e.g. a corrupt JSON line); counted, never fatal."""

    where: str
    error: str


Record = Dict[str, Any]


def source_kind() -> str:
    kind = os.environ.get(SOURCE_ENV, "auto").strip().lower() or "auto"
    if kind not in SOURCE_KINDS:
        raise ValueError(f"{SOURCE_ENV}={kind!r} is not one of {', '.join(SOURCE_KINDS)}.")
    if kind == "auto":
        return "mirror" if os.environ.get(DATA_DIR_ENV) else "hub"
    return kind


def split_files(root: str, spec: DatasetSpec, split: SplitSpec) -> Tuple[List[str], List[str]]:
    """(files found, patterns tried) for one split below `root`."""
    return find_files(os.path.join(root, *spec.path_parts, split.source))


def find_files(base: str) -> Tuple[List[str], List[str]]:
    """(files found, paths and patterns tried) for `<base>.<ext>`, else shards `<base>-*.<ext>`."""
    tried = []
    for ext in FILE_EXTENSIONS:
        tried.append(base + ext)
        if os.path.isfile(base + ext):
            return [base + ext], tried
    for ext in FILE_EXTENSIONS:
        pattern = f"{base}-*{ext}"
        tried.append(pattern)
        shards = sorted(glob.glob(pattern))
        if shards:
            return shards, tried
    return [], tried


def glob_files(pattern: str) -> List[str]:
    """Files (not directories) matching a glob pattern (`**` recurses), sorted."""
    return sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))


def read_jsonl(path: str) -> Iterator[Any]:
    opener = gzip.open if path.endswith(".gz") else io.open
    with opener(path, "rt", encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                yield InvalidRecord(f"{path}:{line_no}", f"invalid JSON: {err}")
                continue
            if not isinstance(record, dict):
                yield InvalidRecord(f"{path}:{line_no}", f"expected a JSON object, got {type(record).__name__}")
                continue
            yield record


def read_parquet(path: str, batch_size: int = 1024) -> Iterator[Record]:
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_size):
        yield from batch.to_pylist()


def read_files(paths: Sequence[str]) -> Iterator[Any]:
    for path in paths:
        yield from (read_parquet(path) if path.endswith(".parquet") else read_jsonl(path))


@dataclasses.dataclass
class RecordStream:
    """One split, located (so a missing split fails here, not inside tf.data); iterate to read it."""

    spec: DatasetSpec
    split: SplitSpec
    origin: str  # what is read, for messages and manifests
    _open: Any  # () -> iterator of raw records

    def __iter__(self) -> Iterator[Any]:
        for record in self._open():
            yield record if isinstance(record, InvalidRecord) else normalize(record, self.spec.field_map)


def _files_or_raise(root: str, spec: DatasetSpec, split: SplitSpec, kind: str, fix: str) -> List[str]:
    files, tried = split_files(root, spec, split)
    if not files:
        raise DataNotFoundError(f"{spec.label} split {split.name!r} ({kind})", tried, fix)
    return files


def _file_stream(spec: DatasetSpec, split: SplitSpec, files: List[str]) -> RecordStream:
    origin = files[0] if len(files) == 1 else f"{files[0]} (+{len(files) - 1} shards)"
    return RecordStream(spec, split, origin, lambda: read_files(files))


def open_mirror(spec: DatasetSpec, split: SplitSpec, data_dir: Optional[str] = None) -> RecordStream:
    root = data_dir or os.environ.get(DATA_DIR_ENV)
    if not root:
        raise DataNotFoundError(
            f"{spec.label} split {split.name!r} (mirror)", [f"${DATA_DIR_ENV} (not set)"],
            f"set {DATA_DIR_ENV} to a directory laid out as <dataset>[/<subset>]/<split>.jsonl",
        )
    target = os.path.join(root, *spec.path_parts, split.source) + ".jsonl"
    fix = f"put the split at {target} (or .jsonl.gz / .parquet)"
    fix += f", e.g. from the Hub id {spec.hub_id!r}" if spec.hub_id else f"; {spec.notes}"
    return _file_stream(spec, split, _files_or_raise(root, spec, split, "mirror", fix))


def open_samples(spec: DatasetSpec, split: SplitSpec) -> RecordStream:
    fix = "the package ships no sample for this split; use MT0_DATA_SOURCE=mirror or hub"
    return _file_stream(spec, split, _files_or_raise(SAMPLES_DIR, spec, split, "embedded samples", fix))


def open_hub(spec: DatasetSpec, split: SplitSpec) -> RecordStream:
    what = f"{spec.label} split {split.name!r} (Hugging Face Hub)"
    if not spec.hub_id:
        raise DataNotFoundError(what, ["no Hub copy in the catalog"],
                                f"{spec.notes or 'download it manually'}; then set {DATA_DIR_ENV}")
    import datasets  # heavy; only when the Hub is used

    call = (f"datasets.load_dataset({spec.hub_id!r}, name={spec.hub_config!r}, split={split.source!r}, "
            f"revision={spec.hub_revision!r}, streaming=True)")
    try:
        stream = datasets.load_dataset(spec.hub_id, name=spec.hub_config, split=split.source,
                                       revision=spec.hub_revision, streaming=True)
    except Exception as err:  # datasets raises many types for "not reachable / not found"
        raise DataNotFoundError(
            what, [call, f"failed with {type(err).__name__}: {err}"],
            f"check network access to the Hub, or mirror the data and set {DATA_DIR_ENV} "
            f"(MT0_DATA_SOURCE=mirror)",
        ) from err
    return RecordStream(spec, split, f"hf://{spec.hub_id}" + (f"/{spec.hub_config}" if spec.hub_config else ""),
                        lambda: iter(stream))


def normalize(record: Record, field_map: Sequence[Tuple[str, str]]) -> Record:
    """Renames columns the Hub copy names differently, and `-` to `_` in keys (Jinja can't read `-`)."""
    if field_map:
        record = dict(record)
        for source, target in field_map:
            if source in record and target not in record:
                record[target] = record.pop(source)
    if any("-" in k for k in record):
        record = {k.replace("-", "_"): v for k, v in record.items()}
    return record


def open_split(spec: DatasetSpec, split_name: str, kind: Optional[str] = None) -> RecordStream:
    """Locates one split in the configured source; raises DataNotFoundError naming all it tried."""
    split = spec.split(split_name)
    kind = kind or source_kind()
    opener = {"mirror": open_mirror, "samples": open_samples, "hub": open_hub}[kind]
    return opener(spec, split)
