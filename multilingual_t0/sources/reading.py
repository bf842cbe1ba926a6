"""Reading a split stored as files: this host's part, in file order or a seeded shuffled order.

`read_split` is the one place that decides which records a host reads and in which order, for every data
family (catalog datasets, eval benchmarks, xP3, custom files, mC4). Each record carries its index in the
split, which seeds its rendering (`choice`), so every host renders a record the same way.

Two ways, chosen by the files alone (never by the host count or the order asked, so a record's index is
the same everywhere):
* files: a split of small files (the samples, `mt0 download`'s permuted shards). The index is the record's
  position in the split; a host reads its own files when there are enough, else every n-th record.
* byte ranges: a split with a large uncompressed JSONL file (xP3's merged_<lang>.jsonl: 37 GB for English,
  sorted by source) or a large Parquet file. Each such file is cut into virtual shards (byte ranges cut at
  line boundaries; Parquet row groups), with no pass over the file and no index file. A host reads every
  n-th shard (about 1/n of the bytes); shuffled, it reads all of its shards interleaved, a record at a
  time from a random one, so the stream samples the whole file from its first records. The index is the
  record's byte offset in the split (files counted one after the other), whatever the hosts.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import random
from typing import Any, Iterator, List, Optional, Sequence, Tuple

from multilingual_t0 import settings as settings_module
from multilingual_t0.sources import fileio
from multilingual_t0.sources.files import (file_offsets, is_tfrecord, parse_tf_example, parquet_row_groups,
                                           read_file, read_jsonl_range, read_parquet_row_group, read_tfrecord)

log = logging.getLogger(__name__)

# Shuffled reading of small files: files open at once. A mixture reads hundreds of tasks at once, so this
# and the shuffle buffer (MT0_SHUFFLE_BUFFER records, settings.py) bound memory per task.
SHUFFLE_CYCLE = 4
# Shuffled reading emits windows of 8, 16, 32 ... records, up to MT0_SHUFFLE_BUFFER (SplitReader).
FIRST_WINDOW = 8
# A file this large is read in byte ranges (virtual shards): smaller ones are read whole, as before.
CUT_MIN_BYTES = 4 * 1024 * 1024
# Virtual shards of a file: at least this size, and at most this many per file (37 GB: ~9 MB shards).
SHARD_MIN_BYTES = 64 * 1024
MAX_SHARDS_PER_FILE = 4096
# Bytes fetched at a time from a shard while shards are read interleaved (one block held per shard); a task
# holding many shards at once uses smaller blocks, so a task's read buffers stay near SHUFFLE_READ_BUDGET
# (a mixture reads hundreds of tasks at once).
SHARD_BLOCK_BYTES = 16 * 1024
MIN_SHARD_BLOCK_BYTES = 4 * 1024
SHUFFLE_READ_BUDGET = 4 * 1024 * 1024
# Straight (in order) reading: one block held per task (hundreds of tasks read at once in a mixture).
STRAIGHT_BLOCK_BYTES = 16 * 1024
_WARNED_GZIP: set = set()


# Record indices of a split whose files are not counted (`count_files=False`): file k's records are numbered
# from k * FILE_INDEX_STRIDE, the same on every host and in every order, without reading any file to count.
FILE_INDEX_STRIDE = 1 << 40


@dataclasses.dataclass(frozen=True)
class VirtualShard:
    """A part of one file read on its own: bytes [start, end) of a JSONL file, one Parquet row group, or a
    whole file. `base` is the split-wide index of the file's byte 0 (or, for whole files and row groups,
    of its first record).

    Its position (where a reader stands in it, JSON-able) is a byte offset in a JSONL byte range (one past
    the last record's first byte), a [records, byte offset] pair in a TFRecord file (seekable), and a record
    count otherwise (a whole JSONL/Parquet file or a row group, read again from its start to resume)."""

    path: str
    start: int = 0
    end: int = 0
    row_group: int = -1  # >= 0: a Parquet row group; its rows start at index `base`
    whole: bool = False
    base: int = 0

    def records(self, position: Any = 0, block: int = SHARD_BLOCK_BYTES) -> Iterator[Tuple[int, Any, Any]]:
        """(index in the split, record, the position after it) from `position` on."""
        if self.whole and is_tfrecord(self.path):
            count, offset = position or (0, 0)
            return ((self.base + count + j, parse_tf_example(data, f"{self.path}@{at}"), (count + j + 1, after))
                    for j, (at, after, data) in enumerate(read_tfrecord(self.path, offset)))
        if self.whole or self.row_group >= 0:
            rows = read_file(self.path) if self.whole else read_parquet_row_group(self.path, self.row_group)
            return ((self.base + j, r, j + 1) for j, r in enumerate(rows) if j >= position)
        return ((self.base + offset, r, offset + 1)
                for offset, r in read_jsonl_range(self.path, max(position, self.start), self.end, block))


def _cuttable(path: str, size: int) -> bool:
    return size >= CUT_MIN_BYTES and (path.endswith(".jsonl") or path.endswith(".parquet"))


def virtual_shards(files: Sequence[str]) -> Optional[List[VirtualShard]]:
    """The split's virtual shards in file order, or None when no file is large enough to cut (then the
    split is read by files, as `read_split` always did)."""
    # Only an uncompressed JSONL or a Parquet file can be cut: the others are never asked their size here
    # (a split of many gzip shards in a bucket costs no request per file and epoch).
    if not any(f.endswith((".jsonl", ".parquet")) and _cuttable(f, fileio.size(f)) for f in files):
        return None
    sizes = [fileio.size(f) for f in files]
    shards: List[VirtualShard] = []
    base = 0
    for path, size in zip(files, sizes):
        if not _cuttable(path, size):
            shards.append(VirtualShard(path, whole=True, base=base))
        elif path.endswith(".parquet"):
            row = 0
            for k, rows in enumerate(parquet_row_groups(path)):
                shards.append(VirtualShard(path, row_group=k, base=base + row))
                row += rows
        else:
            step = max(SHARD_MIN_BYTES, math.ceil(size / MAX_SHARDS_PER_FILE))
            shards += [VirtualShard(path, start, min(start + step, size), base=base)
                       for start in range(0, size, step)]
        base += size  # a file's indices stay below the next file's (a record takes at least a byte)
    return shards


def _warn_uncuttable(files: Sequence[str], num_shards: int, shuffle: bool) -> None:
    """A large .jsonl.gz cannot be cut (gzip has no random access): say so once per file."""
    if not (shuffle or num_shards > 1) or len(files) >= max(num_shards, 2 * SHUFFLE_CYCLE):
        return
    for path in files:
        if path.endswith(".gz") and path not in _WARNED_GZIP and fileio.size(path) >= CUT_MIN_BYTES:
            _WARNED_GZIP.add(path)
            log.warning("%s is one gzip file of %.0f MB: it cannot be cut into shards, so shuffled reading mixes "
                        "it only within the shuffle buffer and every host reads all of it. Fix: `mt0 download` "
                        "the split (permuted shards), or decompress it (gunzip) to be read in byte ranges.",
                        path, fileio.size(path) / 1e6)


def resolve_seed(seed: Optional[int]) -> int:
    """seqio passes seed=None for "not deterministic": then a fresh random seed."""
    return random.SystemRandom().randrange(2 ** 31) if seed is None else int(seed)


def _units(files: Sequence[str], shuffle: bool, shard_index: int, num_shards: int,
           counts: Optional[Sequence[int]], count_files: bool) -> Tuple[List[VirtualShard], Optional[int], bool]:
    """(this host's units in file order, the index modulus when every host reads every unit and keeps
    index % n == i (else None), whether the units are virtual shards)."""
    shards = virtual_shards(files)
    if shards is not None:
        mine = shards[shard_index::num_shards]
        if not shuffle and num_shards == 1:  # every shard in file order: read each file straight through
            merged: List[VirtualShard] = []
            for path, group in itertools.groupby(mine, key=lambda shard: shard.path):
                group = list(group)
                if group[0].whole or group[0].row_group >= 0:
                    merged += group
                else:
                    merged.append(VirtualShard(path, 0, group[-1].end, base=group[0].base))
            mine = merged
        return mine, None, True
    _warn_uncuttable(files, num_shards, shuffle)
    by_file = 1 < num_shards <= len(files)
    if counts is not None:  # the files' record counts are known (TFDS's shard lengths)
        offsets = [0, *itertools.accumulate(counts)][:len(files)]
    elif not count_files:
        offsets = [k * FILE_INDEX_STRIDE for k in range(len(files))]
    else:
        offsets = file_offsets(files) if len(files) > 1 and (shuffle or by_file) else None
    chosen = list(range(len(files)))[shard_index::num_shards] if by_file else list(range(len(files)))
    # base -1: not known yet (read in order, a file's base is the records before it, counted on the way)
    units = [VirtualShard(files[k], whole=True, base=offsets[k] if offsets else (0 if k == 0 else -1))
             for k in chosen]
    return units, (None if by_file else num_shards), False


class SplitReader:
    """(index in the split, raw record) of one host's part of a split stored as `files`, for one epoch, with
    a position that `state()` captures and `SplitReader(..., state=...)` resumes from exactly.

    In order (shuffle=False): the host's units (files, or virtual shards of large files) one after another.
    Shuffled: the units in a seeded order per epoch and host, up to `cycle` of them open at once (all of
    them for virtual shards), read in windows: a window takes its next records each from a random open unit
    and is emitted permuted. Windows grow 8, 16, 32 ... up to MT0_SHUFFLE_BUFFER records, so a task's first
    example costs a few records (a mixture starts hundreds of tasks at once) and memory stays bounded by
    the buffer. Each window's randomness is seeded by (seed, epoch, host, window), so the state is where each
    open unit stood when the current window began, plus how much of the window was emitted: restoring reads
    one window again, whatever the position in the epoch.
    A unit's position is VirtualShard's: a byte offset (virtual shards of large JSONL files, TFRecord files) or
    a record count (whole JSONL and Parquet files and row groups, read again from their start on restore).
    `state()` costs the same wherever the reader stands (nothing is copied), so it can be taken per record.
    """

    def __init__(self, files: Sequence[str], *, shuffle: bool = False, seed: Optional[int] = None,
                 shard_index: int = 0, num_shards: int = 1, epoch: int = 0, state: Optional[dict] = None,
                 counts: Optional[Sequence[int]] = None, count_files: bool = True):
        if not 0 <= shard_index < num_shards:
            raise ValueError(f"shard index {shard_index} is not in [0, {num_shards})")
        self.shuffle = shuffle
        self.key = f"{resolve_seed(seed) if shuffle else seed}:{epoch}:{shard_index}:{num_shards}"
        self.shard_index = shard_index
        self.units, self.modulus, cut = _units(list(files), shuffle, shard_index, num_shards, counts, count_files)
        self.buffer = settings_module.current().shuffle_buffer
        self.cycle = len(self.units) if cut else SHUFFLE_CYCLE
        self.block = (max(MIN_SHARD_BLOCK_BYTES, min(SHARD_BLOCK_BYTES, SHUFFLE_READ_BUDGET // max(1, len(self.units))))
                      if shuffle else STRAIGHT_BLOCK_BYTES if num_shards == 1 else SHARD_BLOCK_BYTES)
        self._open: dict = {}  # unit -> its live record iterator
        if shuffle:
            self.order = list(range(len(self.units)))
            random.Random(self.key).shuffle(self.order)
            start = state or {"window": 0, "next": 0, "active": [], "emitted": 0}
            self._window_no = start["window"]
            self._next = start["next"]
            self._active = [list(a) for a in start["active"]]  # [unit, position]
            self._fill_window()
            del self._window[len(self._window) - start["emitted"]:]
            self._emitted = start["emitted"]
        else:
            start = state or {"unit": 0, "position": 0, "base": self.units[0].base if self.units else 0}
            self._unit, self._position, self._base = start["unit"], start["position"], start["base"]

    def _records(self, k: int, position: Any, base: int) -> Iterator[Tuple[int, Any, Any]]:
        """Unit k's (index, record, position after it) from `position` on; `base`: the unit's first index."""
        return dataclasses.replace(self.units[k], base=base).records(position, self.block)

    def _kept(self, index: int) -> bool:
        return self.modulus is None or index % self.modulus == self.shard_index

    def state(self) -> dict:
        """Where this reader stands (JSON-able): give it back as `state=` to continue from here. The window's
        start is shared, not copied (it never changes once made)."""
        if self.shuffle:
            return {"window": self._window_no, "next": self._window_start[0], "active": self._window_start[1],
                    "emitted": self._emitted}
        return {"unit": self._unit, "position": self._position, "base": self._base}

    # -- reading ---------------------------------------------------------------------------------------
    def __iter__(self) -> "SplitReader":
        return self

    def __next__(self) -> Tuple[int, Any]:
        return self._next_shuffled() if self.shuffle else self._next_in_order()

    def _next_in_order(self) -> Tuple[int, Any]:
        while self._unit < len(self.units):
            it = self._open.get(self._unit)
            if it is None:
                it = self._open[self._unit] = self._records(self._unit, self._position, self._base)
            for index, record, self._position in it:
                if self._kept(index):
                    return index, record
            # The next file's base: known, or (read in order) this one's base plus its records.
            self._open.pop(self._unit)
            following = self._unit + 1
            if following < len(self.units):
                known = self.units[following].base
                read = self._position[0] if isinstance(self._position, (list, tuple)) else self._position
                self._base = known if known >= 0 else self._base + read
            self._unit, self._position = following, 0
        raise StopIteration

    def _fill_window(self) -> None:
        self._window_start = (self._next, tuple(tuple(a) for a in self._active))
        rng = random.Random(f"{self.key}:{self._window_no}")
        size = min(FIRST_WINDOW << min(self._window_no, 30), self.buffer)
        window: List[Tuple[int, Any]] = []
        while len(window) < size:
            while self._next < len(self.order) and len(self._active) < self.cycle:
                self._active.append([self.order[self._next], 0])
                self._next += 1
            if not self._active:
                break
            j = rng.randrange(len(self._active))
            k, position = self._active[j]
            it = self._open.get(k)
            if it is None:
                it = self._open[k] = self._records(k, position, self.units[k].base)
            item = next(it, None)
            if item is None:
                self._open.pop(k)
                self._active.pop(j)
                continue
            index, record, self._active[j][1] = item
            if self._kept(index):
                window.append((index, record))
        rng.shuffle(window)
        window.reverse()  # emitted front to back by popping from the end
        self._window, self._emitted = window, 0

    def _next_shuffled(self) -> Tuple[int, Any]:
        while not self._window:
            if not self._active and self._next >= len(self.order):
                raise StopIteration
            self._window_no += 1
            self._fill_window()
        self._emitted += 1
        return self._window.pop()


def read_split(files: Sequence[str], *, shuffle: bool = False, seed: Optional[int] = None,
               shard_index: int = 0, num_shards: int = 1, epoch: int = 0, state: Optional[dict] = None,
               counts: Optional[Sequence[int]] = None, count_files: bool = True) -> SplitReader:
    """(index in the split, raw record) for this host's part of a split stored as `files` (SplitReader).

    Split of small files: a split stored as >= num_shards files is divided by file (each host opens only
    its files); otherwise every host reads all and keeps index % n == i. shuffle=False: file order.
    shuffle=True: the files in a seeded random order (another per epoch), SHUFFLE_CYCLE read at once, in
    windows of up to MT0_SHUFFLE_BUFFER records; memory stays bounded.
    Split with a large JSONL or Parquet file: read by virtual shards (see the module docstring).
    Record indices of split of several small files: `counts` (records per file) when known, else counted
    (`file_offsets`), or with `count_files=False` file k's records are numbered from k * FILE_INDEX_STRIDE
    (splits too large to count, whose indices only need to be the same on every host).
    """
    return SplitReader(files, shuffle=shuffle, seed=seed, shard_index=shard_index, num_shards=num_shards,
                       epoch=epoch, state=state, counts=counts, count_files=count_files)
