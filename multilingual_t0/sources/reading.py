"""Reading a split stored as files: this host's part, in file order or a seeded shuffled order.

`read_split` is the one place that decides which records a host reads and in which order, for every data
family (catalog datasets, eval benchmarks, xP3, custom files, mC4). Each record carries its index in the
split, which seeds its rendering (`choice`), so every host renders a record the same way.
"""

from __future__ import annotations

import collections
import random
from typing import Any, Iterator, List, Optional, Sequence, Tuple

from multilingual_t0 import settings as settings_module
from multilingual_t0.sources.files import file_offsets, read_file, read_files

# Shuffled reading: files open at once. A mixture reads hundreds of tasks at once, so this and the
# shuffle buffer (MT0_SHUFFLE_BUFFER records, settings.py) bound memory per task.
SHUFFLE_CYCLE = 4


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
                               rng, settings_module.current().shuffle_buffer)
