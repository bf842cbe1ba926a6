"""Where records come from: a local mirror directory, the Hugging Face Hub, or the embedded samples.

Chosen by configuration, read when a dataset is built (never at import):
  MT0_DATA_SOURCE  auto (default) | mirror | hub | samples
  MT0_DATA_DIR     the mirror: <dir>/<dataset>[/<subset>]/<source_split>.{jsonl,jsonl.gz,parquet}
                   (or shards <source_split>-*.<ext>); a local directory or a gs:// prefix (fileio);
                   `auto` uses it when set, else the Hub.
Every reader streams: memory does not grow with the size of a split. A damaged file (truncated gzip or
parquet, bytes that are not UTF-8) raises DamagedFileError naming it; a corrupt JSON line is counted.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import gzip
import io
import json
import os
import random
import re
import zlib
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from multilingual_t0 import hub_probe
from multilingual_t0 import fileio
from multilingual_t0.catalog import DATA_DIR, DatasetSpec, SplitSpec
from multilingual_t0.errors import DamagedFileError, DataNotFoundError

SOURCE_ENV = "MT0_DATA_SOURCE"
DATA_DIR_ENV = "MT0_DATA_DIR"
SOURCE_KINDS = ("auto", "mirror", "hub", "samples")
SAMPLES_DIR = os.path.join(DATA_DIR, "samples")
FILE_EXTENSIONS = (".jsonl", ".jsonl.gz", ".parquet")
COUNTS_SUFFIX = ".counts.json"  # beside shards: records per shard file (written by `mt0 download`)
# Shuffled reading (read_split): files open at once, and records held in the shuffle buffer. A mixture
# reads hundreds of tasks at once, so these bound memory per task (~10k records, a few blocks).
SHUFFLE_CYCLE = 4
SHUFFLE_BUFFER = 10_000
HUB_SHUFFLE_BUFFER = 10_000
SHUFFLE_BUFFER_ENV = "MT0_SHUFFLE_BUFFER"  # records per task's buffer (default SHUFFLE_BUFFER)


def shuffle_buffer_size() -> int:
    """`$MT0_SHUFFLE_BUFFER` or SHUFFLE_BUFFER: records held per task while reading shuffled."""
    value = os.environ.get(SHUFFLE_BUFFER_ENV, "").strip().replace("_", "")
    if not value:
        return SHUFFLE_BUFFER
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{SHUFFLE_BUFFER_ENV}={os.environ[SHUFFLE_BUFFER_ENV]!r} is not a positive number of "
                         f"records; unset it for the default ({SHUFFLE_BUFFER:,}).")
    return int(value)


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
    """(files found, patterns tried) for one split below `root` (a directory or a gs:// prefix)."""
    return find_files(fileio.join(root, *spec.path_parts, split.source))


def find_files(base: str) -> Tuple[List[str], List[str]]:
    """(files found, paths and patterns tried) for `<base>.<ext>`, else shards `<base>-*.<ext>`."""
    tried = []
    for ext in FILE_EXTENSIONS:
        tried.append(base + ext)
        if fileio.isfile(base + ext):
            return [base + ext], tried
    for ext in FILE_EXTENSIONS:
        pattern = f"{fileio.escape(base)}-*{ext}"
        tried.append(f"{base}-*{ext}")
        shards = fileio.glob(pattern)
        if shards:
            return shards, tried
    return [], tried


# Read errors that mean the bytes on disk are not a whole, valid file (truncated download, bit rot).
_DAMAGE = (EOFError, gzip.BadGzipFile, zlib.error, UnicodeDecodeError)


def _damaged(path: str, records: int, err: BaseException) -> DamagedFileError:
    return DamagedFileError(path, records, f"{type(err).__name__}: {err}")


def glob_files(pattern: str) -> List[str]:
    """Files (not directories) matching a glob pattern (`**` recurses), local or gs://, sorted."""
    return [p for p in fileio.glob(pattern) if fileio.isfile(p)]


def read_jsonl(path: str) -> Iterator[Any]:
    """Records of a .jsonl or .jsonl.gz file, streamed; a corrupt line becomes an InvalidRecord (counted
    by the caller), a damaged file raises DamagedFileError naming it."""
    records = 0
    try:
        with fileio.open(path, "rb") as raw:
            binary = gzip.GzipFile(fileobj=raw, mode="rb") if path.endswith(".gz") else raw
            text = io.TextIOWrapper(binary, encoding="utf-8", newline="\n")  # lines as count_records sees them
            for line_no, line in enumerate(text, start=1):
                if not line.strip():
                    continue
                records += 1
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    yield InvalidRecord(f"{path}:{line_no}", f"invalid JSON: {err}")
                    continue
                if not isinstance(record, dict):
                    yield InvalidRecord(f"{path}:{line_no}", f"expected a JSON object, got {type(record).__name__}")
                    continue
                yield record
    except _DAMAGE as err:
        raise _damaged(path, records, err) from err


def read_parquet(path: str, batch_size: int = 1024) -> Iterator[Record]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = 0
    try:
        with fileio.open(path, "rb") as f:
            for batch in pq.ParquetFile(f).iter_batches(batch_size=batch_size):
                rows = batch.to_pylist()
                records += len(rows)
                yield from rows
    except (pa.ArrowException, OSError, EOFError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise _damaged(path, records, err) from err


def read_file(path: str) -> Iterator[Any]:
    return read_parquet(path) if path.endswith(".parquet") else read_jsonl(path)


def read_files(paths: Sequence[str]) -> Iterator[Any]:
    for path in paths:
        yield from read_file(path)


def count_records(path: str) -> int:
    """Records in one file as read_file counts them (a corrupt JSON line counts: it has an index)."""
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        with fileio.open(path, "rb") as f:
            return pq.ParquetFile(f).metadata.num_rows
    count = 0
    try:
        with fileio.open(path, "rb") as raw:
            binary = gzip.GzipFile(fileobj=raw, mode="rb") if path.endswith(".gz") else raw
            count = sum(1 for line in binary if line.strip())
    except _DAMAGE as err:
        raise _damaged(path, count, err) from err
    return count


def counts_path(files: Sequence[str]) -> str:
    """The sidecar `mt0 download` writes beside shards: {"<shard file name>": records, ...}."""
    return re.sub(r"-\d+-of-\d+\.[^/]+$", "", files[0]) + COUNTS_SUFFIX


def file_offsets(files: Sequence[str]) -> List[int]:
    """Index of each file's first record in the split (so a record keeps its position in the split
    however files are sharded or shuffled): from the counts sidecar when present, else by counting."""
    counts: Dict[str, int] = {}
    sidecar = counts_path(files)
    if len(files) > 1 and fileio.exists(sidecar):
        counts = json.loads(fileio.read_text(sidecar))
    offsets, total = [], 0
    for path in files:
        offsets.append(total)
        n = counts.get(fileio.basename(path))
        total += n if isinstance(n, int) else _counted(path, fileio.size(path))
    return offsets


@functools.lru_cache(maxsize=4096)
def _counted(path: str, size: int) -> int:
    del size  # part of the cache key: a rewritten file is counted again
    return count_records(path)


def resolve_seed(seed: Optional[int]) -> int:
    """seqio passes seed=None for "not deterministic": then a fresh random seed."""
    return random.SystemRandom().randrange(2 ** 31) if seed is None else int(seed)


def _interleave(streams: List[Iterator], rng: random.Random, cycle: int) -> Iterator:
    """Items of `streams`, at most `cycle` open at once, each next item from a random open one."""
    pending = collections.deque(streams)
    active: List[Iterator] = []
    while pending or active:
        while pending and len(active) < cycle:
            active.append(iter(pending.popleft()))
        k = rng.randrange(len(active))
        try:
            yield next(active[k])
        except StopIteration:
            active.pop(k)


def _buffer_shuffle(items: Iterator, rng: random.Random, size: int) -> Iterator:
    """A `size`-item shuffle buffer (as tf.data's): memory bounded by `size`, not by the split.

    While filling, it already yields one random item for every two it takes in, so a task's first example
    costs a few records, not `size` of them (a mixture starts hundreds of tasks before its first batch)."""
    buffer: List[Any] = []
    for taken, item in enumerate(items):
        if len(buffer) < size:
            buffer.append(item)
            if taken % 2:
                k = rng.randrange(len(buffer))
                buffer[k], buffer[-1] = buffer[-1], buffer[k]
                yield buffer.pop()
            continue
        k = rng.randrange(size)
        yield buffer[k]
        buffer[k] = item
    rng.shuffle(buffer)
    yield from buffer


def read_split(files: Sequence[str], *, shuffle: bool = False, seed: Optional[int] = None,
               shard_index: int = 0, num_shards: int = 1, epoch: int = 0) -> Iterator[Tuple[int, Any]]:
    """(index in the split, raw record) for this host's part of a split stored as `files`.

    Sharding (host `shard_index` of `num_shards`): a split stored as >= num_shards files is divided by
    file (each host opens only its files); otherwise every host reads all and keeps index % n == i.
    shuffle=False: file order. shuffle=True: the files in a seeded random order (another per epoch),
    SHUFFLE_CYCLE read at once, then a SHUFFLE_BUFFER-record buffer; memory stays bounded. A split
    stored as one sorted file is mixed only within the buffer: `mt0 download` writes permuted shards.
    """
    if not 0 <= shard_index < num_shards:
        raise ValueError(f"shard index {shard_index} is not in [0, {num_shards})")
    files = list(files)
    by_file = 1 < num_shards <= len(files)
    offsets = file_offsets(files) if len(files) > 1 and (shuffle or by_file) else None
    chosen = list(range(len(files)))[shard_index::num_shards] if by_file else list(range(len(files)))

    def records_of(k: int) -> Iterator[Tuple[int, Any]]:
        start = offsets[k] if offsets else 0
        for j, record in enumerate(read_file(files[k])):
            index = start + j
            if by_file or index % num_shards == shard_index:
                yield index, record

    if not shuffle:
        if offsets is None:
            yield from ((i, r) for i, r in enumerate(read_files(files)) if i % num_shards == shard_index)
        else:
            for k in chosen:
                yield from records_of(k)
        return
    rng = random.Random(f"{resolve_seed(seed)}:{epoch}:{shard_index}:{num_shards}")
    rng.shuffle(chosen)
    yield from _buffer_shuffle(_interleave([records_of(k) for k in chosen], rng, SHUFFLE_CYCLE),
                               rng, shuffle_buffer_size())


@dataclasses.dataclass
class RecordStream:
    """One split, located (so a missing split fails here, not inside tf.data); iterate to read it.

    Iteration yields normalized records (file order unless `shuffle`); `records()` yields them with
    their index in the split (the render seed) for one host's shard and epoch."""

    spec: DatasetSpec
    split: SplitSpec
    origin: str  # what is read, for messages and manifests
    files: Tuple[str, ...] = ()  # the split's files (empty for the Hub)
    shuffle: bool = False
    seed: Optional[int] = None
    _hub: Any = None  # the Hub's streaming dataset, when read from the Hub

    def __iter__(self) -> Iterator[Any]:
        return (record for _, record in self.records())

    def records(self, shard_index: int = 0, num_shards: int = 1, epoch: int = 0) -> Iterator[Tuple[int, Any]]:
        if self._hub is not None:
            raw = self._hub_records(shard_index, num_shards, epoch)
        else:
            raw = read_split(self.files, shuffle=self.shuffle, seed=self.seed, shard_index=shard_index,
                             num_shards=num_shards, epoch=epoch)
        for index, record in raw:
            yield index, (record if isinstance(record, InvalidRecord) else normalize(record, self.spec.field_map))

    def _hub_records(self, shard_index: int, num_shards: int, epoch: int) -> Iterator[Tuple[int, Any]]:
        stream = self._hub
        if self.shuffle:  # datasets' own: shard order and a buffer, reseeded per epoch by set_epoch
            stream = stream.shuffle(seed=resolve_seed(self.seed), buffer_size=HUB_SHUFFLE_BUFFER)
            stream.set_epoch(epoch)
        # The index is the position in this stream (shuffled, the Hub gives no other).
        return ((i, r) for i, r in enumerate(stream) if i % num_shards == shard_index)


def _files_or_raise(root: str, spec: DatasetSpec, split: SplitSpec, kind: str, fix: str) -> List[str]:
    files, tried = split_files(root, spec, split)
    if not files:
        raise DataNotFoundError(f"{spec.label} split {split.name!r} ({kind})", tried, fix)
    return files


def _file_stream(spec: DatasetSpec, split: SplitSpec, files: List[str], shuffle: bool,
                 seed: Optional[int]) -> RecordStream:
    origin = files[0] if len(files) == 1 else f"{files[0]} (+{len(files) - 1} shards)"
    return RecordStream(spec, split, origin, tuple(files), shuffle, seed)


def open_mirror(spec: DatasetSpec, split: SplitSpec, data_dir: Optional[str] = None, *,
                shuffle: bool = False, seed: Optional[int] = None) -> RecordStream:
    root = data_dir or os.environ.get(DATA_DIR_ENV)
    if not root:
        raise DataNotFoundError(
            f"{spec.label} split {split.name!r} (mirror)", [f"${DATA_DIR_ENV} (not set)"],
            f"set {DATA_DIR_ENV} to a directory (or gs:// prefix) laid out as <dataset>[/<subset>]/<split>.jsonl",
        )
    target = fileio.join(root, *spec.path_parts, split.source) + ".jsonl"
    fix = f"put the split at {target} (or .jsonl.gz / .parquet)"
    fix += f", e.g. from the Hub id {spec.hub_id!r}" if spec.hub_id else f"; {spec.notes}"
    return _file_stream(spec, split, _files_or_raise(root, spec, split, "mirror", fix), shuffle, seed)


def open_samples(spec: DatasetSpec, split: SplitSpec, *, shuffle: bool = False,
                 seed: Optional[int] = None) -> RecordStream:
    fix = "the package ships no sample for this split; use MT0_DATA_SOURCE=mirror or hub"
    return _file_stream(spec, split, _files_or_raise(SAMPLES_DIR, spec, split, "embedded samples", fix),
                        shuffle, seed)


def open_hub(spec: DatasetSpec, split: SplitSpec, *, shuffle: bool = False,
             seed: Optional[int] = None) -> RecordStream:
    what = f"{spec.label} split {split.name!r} (Hugging Face Hub)"
    if not spec.hub_id:
        raise DataNotFoundError(what, ["no Hub copy in the catalog"],
                                f"{spec.notes or 'download it manually'}; then set {DATA_DIR_ENV}")
    hub_probe.require_hub(what, spec.hub_id)  # seconds, not datasets' ~25 s of retries, when offline
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
    origin = f"hf://{spec.hub_id}" + (f"/{spec.hub_config}" if spec.hub_config else "")
    return RecordStream(spec, split, origin, (), shuffle, seed, _hub=stream)


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


def open_split(spec: DatasetSpec, split_name: str, kind: Optional[str] = None, *, shuffle: bool = False,
               seed: Optional[int] = None) -> RecordStream:
    """Locates one split in the configured source; raises DataNotFoundError naming all it tried.
    shuffle/seed: the order iteration reads it in (see read_split)."""
    split = spec.split(split_name)
    kind = kind or source_kind()
    opener = {"mirror": open_mirror, "samples": open_samples, "hub": open_hub}[kind]
    return opener(spec, split, shuffle=shuffle, seed=seed)
