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

import collections
import dataclasses
import itertools
import logging
import math
import random
from typing import Any, Iterator, List, Optional, Sequence, Tuple

from multilingual_t0 import settings as settings_module
from multilingual_t0.sources import fileio
from multilingual_t0.sources.files import (file_offsets, parquet_row_groups, read_file, read_files,
                                           read_jsonl_range, read_parquet_row_group)

log = logging.getLogger(__name__)

# Shuffled reading of small files: files open at once. A mixture reads hundreds of tasks at once, so this
# and the shuffle buffer (MT0_SHUFFLE_BUFFER records, settings.py) bound memory per task.
SHUFFLE_CYCLE = 4
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


@dataclasses.dataclass(frozen=True)
class VirtualShard:
    """A part of one file read on its own: bytes [start, end) of a JSONL file, one Parquet row group, or a
    whole file. `base` is the split-wide index of the file's byte 0 (or, for whole files and row groups,
    of its first record)."""

    path: str
    start: int = 0
    end: int = 0
    row_group: int = -1  # >= 0: a Parquet row group; its rows start at index `base`
    whole: bool = False
    base: int = 0

    def records(self, block: int = SHARD_BLOCK_BYTES) -> Iterator[Tuple[int, Any]]:
        if self.whole:
            return ((self.base + j, r) for j, r in enumerate(read_file(self.path)))
        if self.row_group >= 0:
            return ((self.base + j, r) for j, r in enumerate(read_parquet_row_group(self.path, self.row_group)))
        return ((self.base + offset, r) for offset, r in read_jsonl_range(self.path, self.start, self.end, block))


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

    Split of small files: a split stored as >= num_shards files is divided by file (each host opens only
    its files); otherwise every host reads all and keeps index % n == i. shuffle=False: file order.
    shuffle=True: the files in a seeded random order (another per epoch), SHUFFLE_CYCLE read at once, then
    a MT0_SHUFFLE_BUFFER-record buffer; memory stays bounded.
    Split with a large JSONL or Parquet file: read by virtual shards (see the module docstring).
    """
    if not 0 <= shard_index < num_shards:
        raise ValueError(f"shard index {shard_index} is not in [0, {num_shards})")
    files = list(files)
    shards = virtual_shards(files)
    if shards is not None:
        yield from _read_shards(shards, shuffle, seed, shard_index, num_shards, epoch)
        return
    _warn_uncuttable(files, num_shards, shuffle)
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
                               rng, settings_module.current().shuffle_buffer)


def _read_shards(shards: List[VirtualShard], shuffle: bool, seed: Optional[int], shard_index: int,
                 num_shards: int, epoch: int) -> Iterator[Tuple[int, Any]]:
    """This host's virtual shards (every n-th): in order, or all of them interleaved at random, then the
    shuffle buffer."""
    mine = shards[shard_index::num_shards]
    if not shuffle and num_shards == 1:  # every shard in file order: read each file straight through
        for path, group in itertools.groupby(mine, key=lambda shard: shard.path):
            group = list(group)
            if group[0].whole or group[0].row_group >= 0:
                for shard in group:
                    yield from shard.records()
            else:
                yield from VirtualShard(path, 0, group[-1].end, base=group[0].base).records(STRAIGHT_BLOCK_BYTES)
        return
    if not shuffle:
        for shard in mine:
            yield from shard.records()
        return
    rng = random.Random(f"{resolve_seed(seed)}:{epoch}:{shard_index}:{num_shards}")
    rng.shuffle(mine)
    block = max(MIN_SHARD_BLOCK_BYTES, min(SHARD_BLOCK_BYTES, SHUFFLE_READ_BUDGET // max(1, len(mine))))
    streams = [shard.records(block) for shard in mine]  # lazy: a shard reads its first block when first drawn
    yield from _buffer_shuffle(_interleave(streams, rng, len(streams)), rng,
                               settings_module.current().shuffle_buffer)
