"""Fetch catalog datasets from the Hugging Face Hub into the mirror layout the sources read, in a local
directory or a bucket (`--to gs://...`):

    <to>/<dataset>[/<subset>]/<source_split>-00000-of-000NN.jsonl.gz ...   shards of permuted records
    <to>/<dataset>[/<subset>]/<source_split>.counts.json                  records per shard (written last)

Records are spread over the shards at random and each shard is permuted (the TFDS approach), so a split
the Hub stores sorted (by label, by source) is read in mixed order; a shuffled reader then only mixes
shards (sources/reading.py). The counts file marks a split complete and gives each record its
position in the split without reading the shards; a rerun skips complete splits.
"""

from __future__ import annotations

import json
import math
import os
import random
import tempfile
from typing import Callable, Dict, Iterable, List, Optional, Sequence

from multilingual_t0 import settings
from multilingual_t0.catalog.datasets import DatasetSpec, find_dataset, load_catalog
from multilingual_t0.sources import fileio
from multilingual_t0.sources.files import COUNTS_SUFFIX, FILE_EXTENSIONS
from multilingual_t0.sources.layouts import catalog_split
from multilingual_t0.sources.located import locate

SHARD_RECORDS = 10_000  # records per shard: one shard is permuted in memory
MAX_SHARDS = 1024
UNKNOWN_SIZE_SHARDS = 16  # splits whose size the catalog does not give
DOWNLOAD_SEED = 0  # fixed: the same Hub data gives the same shards


def select(names: Sequence[str]) -> List[DatasetSpec]:
    """Catalog rows for names `dataset` or `dataset/subset`; all rows with a Hub copy when empty."""
    if not names:
        return [s for s in load_catalog() if s.hub_id]
    out: List[DatasetSpec] = []
    for name in names:
        dataset, _, subset = name.partition("/")
        out += [s for s in find_dataset(dataset, subset or None) if s not in out]
    return out


def shard_count(num_examples: Optional[int]) -> int:
    if not num_examples:
        return UNKNOWN_SIZE_SHARDS
    return max(1, min(MAX_SHARDS, math.ceil(num_examples / SHARD_RECORDS)))


def shard_name(base: str, index: int, count: int) -> str:
    return f"{base}-{index:05d}-of-{count:05d}.jsonl.gz"


def write_shuffled_shards(records: Iterable[dict], base: str, num_shards: int, seed: int = DOWNLOAD_SEED,
                          progress: Optional[Callable[[int], None]] = None) -> List[str]:
    """Writes `records` as `num_shards` gzipped JSONL shards of randomly permuted records, then the
    counts file. Streams: records are spooled to local temporary files, one shard is held at a time."""
    import gzip

    rng = random.Random(f"{seed}:{fileio.basename(base)}")
    fileio.makedirs(fileio.dirname(base))
    with tempfile.TemporaryDirectory(prefix="mt0_download_") as spool:
        buckets = [open(os.path.join(spool, f"{k}.jsonl"), "w", encoding="utf-8") for k in range(num_shards)]
        try:
            for i, record in enumerate(records, start=1):
                buckets[rng.randrange(num_shards)].write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
                if progress and i % 1000 == 0:
                    progress(i)
        finally:
            for f in buckets:
                f.close()
        written, counts = [], {}
        for k in range(num_shards):
            with open(os.path.join(spool, f"{k}.jsonl"), encoding="utf-8") as f:
                lines = f.readlines()
            rng.shuffle(lines)
            path = shard_name(base, k, num_shards)
            partial = path + ".partial"
            with fileio.open(partial, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
                gz.write("".join(lines).encode("utf-8"))
            fileio.rename(partial, path)
            written.append(path)
            counts[fileio.basename(path)] = len(lines)
    fileio.write_text(base + COUNTS_SUFFIX, json.dumps(counts, indent=1, sort_keys=True) + "\n")
    return written


def split_base(spec: DatasetSpec, split: str, to: str) -> str:
    return fileio.join(to, *spec.path_parts, spec.split(split).source)


def is_complete(base: str) -> bool:
    """Shards with their counts file, or a single file (from an earlier version or put there by hand)."""
    return any(fileio.exists(base + ext) for ext in (COUNTS_SUFFIX,) + FILE_EXTENSIONS)


def download_split(spec: DatasetSpec, split: str, to: str,
                   progress: Optional[Callable[[int], None]] = None) -> List[str]:
    """Streams one split from the Hub into the mirror as permuted shards; returns the files written."""
    hub = settings.current().replace(source="hub")
    stream = locate(catalog_split(spec, spec.split(split)), hub)  # DataNotFoundError naming the Hub id
    base = split_base(spec, split, to)
    fileio.makedirs(fileio.dirname(base))
    return write_shuffled_shards(iter(stream), base, shard_count(spec.split(split).num_examples),
                                 progress=progress)


def download(names: Sequence[str], to: str, on_split: Optional[Callable[[str], None]] = None) -> Dict[str, str]:
    """Every split of the selected datasets; skips splits already complete. Returns label:split -> base
    path of its files (`<base>-*.jsonl.gz`)."""
    written = {}
    for spec in select(names):
        for split in spec.splits:
            base = split_base(spec, split.name, to)
            if not is_complete(base):
                download_split(spec, split.name, to)
            written[f"{spec.label}:{split.name}"] = base
            if on_split:
                on_split(f"{spec.label} {split.name} -> {base}-*.jsonl.gz")
    return written
