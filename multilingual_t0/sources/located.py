"""One split, located: files (local or gs://) or a Hub stream, and the one way every family reads it.

`locate(layout)` turns a family's `SplitLayout` (sources/layouts.py) into a `LocatedSplit` in the source
the settings choose (mirror, embedded samples, Hugging Face Hub), or raises DataNotFoundError naming every
path or Hub call tried and the fix; so a missing split fails when a dataset is built, not inside tf.data.
`LocatedSplit.records()` then reads it for one host shard and epoch, in file or seeded shuffled order
(sources/reading.py), applying the family's field mapping.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from typing import Any, Iterable, Iterator, Optional, Sequence, Tuple

from multilingual_t0 import settings as settings_module
from multilingual_t0.catalog.tables import SAMPLES_DIR
from multilingual_t0.errors import DataNotFoundError, NotResumableError
from multilingual_t0.sources import fileio, hub, tfds_files
from multilingual_t0.sources.files import InvalidRecord, Record, find_files, glob_files, read_files
from multilingual_t0.sources.layouts import SplitLayout
from multilingual_t0.sources.reading import read_split, resolve_seed

KIND_LABELS = {"mirror": "mirror", "samples": "embedded samples", "hub": "Hugging Face Hub", "tfds": "TFDS"}
HUB_SHUFFLE_BUFFER = 10_000  # datasets' own shuffle buffer for Hub streams
# How many records `check_fields` reads before deciding a column is missing from a file.
PEEK_RECORDS = 20


class MissingColumnError(KeyError):
    """Files whose records lack a field the task reads; names the file, the field and the fields it has."""

    def __str__(self) -> str:  # KeyError's str() would quote the message
        return self.args[0]


def normalize(record: Record, field_map: Sequence[Tuple[str, str]], jinja_keys: bool = True) -> Record:
    """Renames columns the Hub copy names differently, and `-` to `_` in keys (Jinja can't read `-`)."""
    if field_map:
        record = dict(record)
        for source, target in field_map:
            if source in record and target not in record:
                record[target] = record.pop(source)
    if jinja_keys and any("-" in k for k in record):
        record = {k.replace("-", "_"): v for k, v in record.items()}
    return record


@dataclasses.dataclass(frozen=True)
class LocatedSplit:
    """A split found as `files` or as a Hub stream (`hub_stream`); `records()` reads this host's part."""

    layout: SplitLayout
    kind: str  # mirror | samples | hub | files (a custom task's own files)
    origin: str  # what is read, for messages and manifests
    files: Tuple[str, ...] = ()
    hub_stream: Any = None
    counts: Optional[Tuple[int, ...]] = None  # records per file, when the source says (TFDS)

    @property
    def num_records(self) -> Optional[int]:
        """The split's record count when the tables know it."""
        return self.layout.num_records

    def __iter__(self) -> Iterator[Any]:
        return (record for _, record in self.records())

    def raw_records(self, shard_index: int = 0, num_shards: int = 1, *, shuffle: bool = False,
                    seed: Optional[int] = None, epoch: int = 0, state: Optional[dict] = None) -> Iterator[Tuple[int, Any]]:
        """(index in the split, raw record) of host `shard_index` of `num_shards`: a SplitReader (sources/
        reading.py: its `state()` resumes it, given back as `state`) for files, a plain iterator for a Hub
        stream, whose position cannot be saved (NotResumableError when `state` is given)."""
        if self.hub_stream is None:
            return read_split(self.files, shuffle=shuffle, seed=seed, shard_index=shard_index,
                              num_shards=num_shards, epoch=epoch, state=state, counts=self.counts,
                              count_files=self.layout.count_files)
        if state is not None:
            raise hub_stream_not_resumable(self.origin)
        return self._hub_records(shard_index, num_shards, shuffle, seed, epoch)

    def records(self, shard_index: int = 0, num_shards: int = 1, *, shuffle: bool = False,
                seed: Optional[int] = None, epoch: int = 0) -> Iterator[Tuple[int, Any]]:
        """(index in the split, record) of host `shard_index` of `num_shards`, the family's field mapping
        applied; InvalidRecord for what could not be decoded (counted by the caller)."""
        return self.mapped(self.raw_records(shard_index, num_shards, shuffle=shuffle, seed=seed, epoch=epoch))

    def mapped(self, raw: Iterable[Tuple[int, Any]]) -> Iterator[Tuple[int, Any]]:
        """`raw` (index, record) pairs with the family's field mapping applied, read one at a time."""
        layout = self.layout
        if not (layout.field_map or layout.jinja_keys):
            return iter(raw)
        return ((i, r if isinstance(r, InvalidRecord) else normalize(r, layout.field_map, layout.jinja_keys))
                for i, r in raw)

    def _hub_records(self, shard_index: int, num_shards: int, shuffle: bool, seed: Optional[int],
                     epoch: int) -> Iterator[Tuple[int, Any]]:
        """This host's records of the Hub stream. Which records are a host's never depends on the seed:
        hosts that drew seeds of their own (seqio's seed=None) must still read disjoint parts covering the
        split. With at least as many files as hosts a host reads its own files (datasets' `shard`), shuffled
        by datasets (file order and a buffer, reseeded per epoch by set_epoch); with fewer, every host reads
        the stream in file order, keeps every n-th record, and shuffles those in a seeded buffer of its own."""
        stream = self.hub_stream
        if num_shards > 1 and stream.num_shards >= num_shards:
            stream = stream.shard(num_shards=num_shards, index=shard_index, contiguous=False)
            shard_index, num_shards = 0, 1
        if num_shards == 1:
            if shuffle:
                stream = stream.shuffle(seed=resolve_seed(seed), buffer_size=HUB_SHUFFLE_BUFFER)
                stream.set_epoch(epoch)
            return enumerate(stream)  # the index: the position in this host's stream (the Hub gives no other)
        mine = ((i, r) for i, r in enumerate(stream) if i % num_shards == shard_index)  # i: position in the split
        if not shuffle:
            return mine
        return buffer_shuffled(mine, HUB_SHUFFLE_BUFFER, random.Random(f"{resolve_seed(seed)}:{epoch}:{shard_index}"))


def buffer_shuffled(items: Iterable[Any], size: int, rng: random.Random) -> Iterator[Any]:
    """`items` in a random order drawn through a buffer of `size` (tf.data's shuffle): each item read
    takes the place of a random one in the full buffer, which is emitted."""
    buffer: list = []
    for item in items:
        if len(buffer) < size:
            buffer.append(item)
            continue
        k = rng.randrange(size)
        yield buffer[k]
        buffer[k] = item
    rng.shuffle(buffer)
    yield from buffer


def hub_stream_not_resumable(what: str) -> NotResumableError:
    """The error for saving or restoring the position of data read as a Hub stream, naming `what`."""
    return NotResumableError(f"{what} is read as a Hugging Face Hub stream, whose position cannot be saved in a "
                             "dataset checkpoint; read a mirror instead (`mt0 download`, then MT0_DATA_SOURCE=mirror).")


def source_kind(layout: SplitLayout, settings: Optional[settings_module.DataSettings] = None) -> str:
    """mirror | samples | hub | tfds for this family under `settings` (default: the environment's)."""
    settings = settings or settings_module.current()
    return settings.resolved_source(layout.published)


def locate(layout: SplitLayout, settings: Optional[settings_module.DataSettings] = None) -> LocatedSplit:
    """Finds the split in the source `settings` choose; raises DataNotFoundError naming all it tried."""
    settings = settings or settings_module.current()
    if layout.patterns:  # the user's own files: the same whatever the source setting
        return _with_files(layout, "files", _pattern_files(layout))
    kind = source_kind(layout, settings)
    what = f"{layout.what} ({KIND_LABELS[kind]})"
    if kind == "hub":
        if layout.hub is None:
            raise DataNotFoundError(what, ["no Hub copy in the catalog"],
                                    f"{layout.no_hub_fix or 'download it manually'}; then set MT0_DATA_DIR")
        fix = f"check network access to the Hub, or {layout.hub_fix}"
        if layout.hub_as_files:
            return _with_files(layout, kind, hub.find_files(layout.hub, what, fix))
        stream = hub.open_stream(layout.hub, what, fix)
        return LocatedSplit(layout, kind, layout.hub.origin, hub_stream=stream)
    if kind == "tfds":
        if layout.tfds is None:
            raise DataNotFoundError(what, [f"{layout.what} has no TFDS copy"],
                                    "set MT0_DATA_SOURCE to mirror, hub or samples (tfds serves only mC4)")
        files, counts = tfds_files.locate_files(layout.tfds, what)
        return _with_files(layout, kind, files, counts)
    if kind == "samples":
        root, fix = SAMPLES_DIR, layout.samples_fix
    else:
        if not settings.data_dir:
            raise DataNotFoundError(what, ["$MT0_DATA_DIR (not set)"],
                                    f"set MT0_DATA_DIR to a directory (or gs:// prefix) laid out as "
                                    f"{layout.mirror_pattern}")
        root = settings.data_dir
        fix = layout.mirror_fix.replace("{target}", layout.mirror_target(root))
    files, tried = _rule_files(layout, root)
    if not files:
        raise DataNotFoundError(what, tried, fix)
    return _with_files(layout, kind, files)


def _rule_files(layout: SplitLayout, root: str) -> Tuple[list, list]:
    """(files found, paths and patterns tried) below `root`: `<base>.<ext>` or shards `<base>-*.<ext>`, or
    every data file of a folder."""
    if layout.base:
        return find_files(fileio.join(root, *layout.base))
    folder = fileio.join(root, *layout.folder)
    tried = [fileio.join(folder, "*" + ext) for ext in layout.folder_extensions]
    return sorted({f for pattern in tried for f in glob_files(pattern)}), tried


def _pattern_files(layout: SplitLayout) -> list:
    files = sorted({f for pattern in layout.patterns for f in glob_files(pattern)})
    if not files:
        raise DataNotFoundError(layout.what, list(layout.patterns), layout.mirror_fix)
    unsupported = [f for f in files if not f.endswith(layout.folder_extensions)]
    if unsupported:
        raise ValueError(f"{layout.what}: {unsupported[0]} is not a supported file type; use "
                         f"{', '.join(layout.folder_extensions)} (narrow the pattern, e.g. '*.jsonl')")
    return files


def _with_files(layout: SplitLayout, kind: str, files: Sequence[str],
                counts: Optional[Sequence[int]] = None) -> LocatedSplit:
    what = layout.what if kind == "files" else f"{layout.what} ({KIND_LABELS[kind]})"
    if layout.check_files is not None:
        layout.check_files(files, what)
    if layout.required_fields:
        check_fields(files, layout.required_fields, what)
    origin = files[0] if len(files) == 1 else f"{files[0]} (+{len(files) - 1} files)"
    return LocatedSplit(layout, kind, origin, tuple(files), counts=tuple(counts) if counts is not None else None)


def check_fields(files: Sequence[str], fields: Iterable[str], what: str) -> None:
    """Raises MissingColumnError when no record among the first few of `files[0]` has every field.

    A wrong column name would otherwise skip every record (counted, but an empty task); this catches it
    when a task is added or a split located, reading a handful of records."""
    fields = list(fields)
    first_keys = None
    for record in itertools.islice(read_files(files[:1]), PEEK_RECORDS):
        if isinstance(record, InvalidRecord):
            continue
        if all(f in record for f in fields):
            return
        first_keys = first_keys or sorted(map(str, record))
    if first_keys is None:
        return  # an empty or undecodable file: the records are counted when read
    missing = [f for f in fields if f not in first_keys]
    raise MissingColumnError(
        f"{what}: {files[0]} has no column {', '.join(map(repr, missing))}; its records have: "
        f"{', '.join(first_keys)}. Pass inputs_field=/targets_field= naming the columns that hold the "
        "model's input and target text.")
