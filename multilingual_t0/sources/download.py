"""Fetch any data family from the Hugging Face Hub into the mirror layout the sources read, in a local
directory or a bucket (`--to gs://...`), as permuted shards:

    <to>/<base>-00000-of-000NN.jsonl.gz ...   shards of randomly permuted records
    <to>/<base>.counts.json                   records per shard (written last: marks the split complete)

where <base> is each family's layout (sources/layouts.py): `<dataset>[/<subset>]/<split>` for catalog datasets,
`<benchmark>/<lang>/<split>` for eval benchmarks, `xP3/<lang>/train` (`xP3mt/...`), `mc4/<lang>/<split>`.
Records are spread over the shards at random and each shard is permuted (the TFDS approach), so a split
the Hub stores sorted (by label, by source: xP3's merged_<lang>.jsonl) is read in mixed order, and hosts
divide it by file. Memory stays bounded whatever the split's size (English xP3: 37 GB): records are spooled
to local temporary files, buffered a little per shard, and one shard is permuted in memory at a time. A rerun
skips complete splits. `hub_dir` reads local snapshots of the Hub repositories (`<hub_dir>/<owner>/<name>`,
as `huggingface-cli download --local-dir` writes them) through the same `datasets` calls.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import math
import os
import random
import tempfile
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from multilingual_t0 import settings
from multilingual_t0.catalog import mc4 as mc4_table
from multilingual_t0.catalog import xp3 as xp3_table
from multilingual_t0.catalog.benchmarks import find_benchmark, load_benchmarks
from multilingual_t0.catalog.datasets import DatasetSpec, SplitSpec, find_dataset, load_catalog
from multilingual_t0.errors import UnknownNameError
from multilingual_t0.sources import fileio
from multilingual_t0.sources.files import COUNTS_SUFFIX, FILE_EXTENSIONS
from multilingual_t0.sources.layouts import SplitLayout, catalog_split, mc4_split, xp3_language
from multilingual_t0.sources.located import locate

SHARD_RECORDS = 10_000  # records per shard: one shard is permuted in memory
MAX_SHARDS = 1024
UNKNOWN_SIZE_SHARDS = 16  # splits whose size the catalog does not give
DOWNLOAD_SEED = 0  # fixed: the same Hub data gives the same shards
SPOOL_FLUSH_BYTES = 64 * 1024  # lines held per shard before they are appended to its spool file


@dataclasses.dataclass(frozen=True)
class Target:
    """One split to download: its layout (where the Hub has it) and where it goes below the mirror."""

    label: str
    layout: SplitLayout
    base: Tuple[str, ...]


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
    counts file. Streams: records are spooled to local temporary files (a few KB buffered per shard, no
    file kept open), then one shard at a time is read back, permuted and written."""
    rng = random.Random(f"{seed}:{fileio.basename(base)}")
    fileio.makedirs(fileio.dirname(base))
    with tempfile.TemporaryDirectory(prefix="mt0_download_") as spool:
        paths = [os.path.join(spool, f"{k}.jsonl") for k in range(num_shards)]
        pending: List[List[str]] = [[] for _ in range(num_shards)]
        sizes = [0] * num_shards

        def flush(k: int) -> None:
            with open(paths[k], "a", encoding="utf-8") as f:
                f.writelines(pending[k])
            pending[k], sizes[k] = [], 0

        for i, record in enumerate(records, start=1):
            k = rng.randrange(num_shards)
            line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
            pending[k].append(line)
            sizes[k] += len(line)
            if sizes[k] >= SPOOL_FLUSH_BYTES:
                flush(k)
            if progress and i % 1000 == 0:
                progress(i)
        for k in range(num_shards):
            flush(k)
        written, counts = [], {}
        for k in range(num_shards):
            with open(paths[k], encoding="utf-8") as f:
                lines = f.readlines()
            os.remove(paths[k])
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


def targets(names: Sequence[str]) -> List[Target]:
    """What `names` ask for: `dataset[/subset]` (catalog), `<benchmark>[/<lang>]` (xnli/fr), `xP3[/<lang>]`,
    `xP3mt[/<lang>]`, `mc4/<lang>`; every catalog dataset with a Hub copy when empty."""
    if not names:
        return [t for spec in select(()) for t in _catalog_targets(spec)]
    collections = {c.folder.lower(): c for c in xp3_table.COLLECTIONS.values()}
    benchmarks = {b.name for b in load_benchmarks()}
    out: List[Target] = []
    for name in names:
        head, _, tail = name.partition("/")
        if head.lower() in collections:
            col = collections[head.lower()]
            codes = [tail] if tail else [lang.code for lang in xp3_table.load_languages(col.name)]
            for code in codes:
                lang = xp3_table.get_language(col.name, code)
                out.append(Target(f"{col.folder}/{lang.code} {xp3_table.SPLIT}", xp3_language(col.name, lang.code),
                                  (col.folder, lang.code, xp3_table.SPLIT)))
        elif head.lower() == "mc4":
            if not tail:
                raise ValueError("mC4 is ~10 TB: name the languages, e.g. mc4/sw mc4/yo")
            lang = mc4_table.get_language(tail)
            out += [Target(f"mc4/{lang.code} {split}", mc4_split(lang.code, split), ("mc4", lang.code, split))
                    for split in mc4_table.SPLITS]
        elif head in benchmarks:
            bench = find_benchmark(head)
            if tail and tail not in bench.languages:
                raise UnknownNameError(f"language of {bench.name}", tail, bench.languages)
            for lang in ([tail] if tail else bench.languages):
                out += _catalog_targets(bench.dataset_spec(lang))
        else:
            for spec in select([name]):
                out += _catalog_targets(spec)
    return out


def _catalog_target(spec: DatasetSpec, split: SplitSpec) -> Target:
    return Target(f"{spec.label} {split.name}", catalog_split(spec, split), spec.path_parts + (split.source,))


def _catalog_targets(spec: DatasetSpec) -> List[Target]:
    return [_catalog_target(spec, split) for split in spec.splits]


def is_complete(base: str) -> bool:
    """Shards with their counts file, or a single file (from an earlier version or put there by hand)."""
    return any(fileio.exists(base + ext) for ext in (COUNTS_SUFFIX,) + FILE_EXTENSIONS)


def download_target(target: Target, to: str, hub_dir: Optional[str] = None,
                    progress: Optional[Callable[[int], None]] = None) -> List[str]:
    """Streams one split from the Hub (or a local snapshot) into the mirror as permuted shards."""
    layout = target.layout
    if hub_dir and layout.hub is not None:
        layout = dataclasses.replace(layout, hub=dataclasses.replace(layout.hub, snapshot_dir=hub_dir))
    stream = locate(layout, settings.current().replace(source="hub"))  # DataNotFoundError naming the Hub call
    base = fileio.join(to, *target.base)
    return write_shuffled_shards(iter(stream), base, shard_count(layout.num_records), progress=progress)


def download_split(spec: DatasetSpec, split: str, to: str, hub_dir: Optional[str] = None,
                   progress: Optional[Callable[[int], None]] = None) -> List[str]:
    """One catalog (or benchmark language) split into the mirror; returns the files written."""
    return download_target(_catalog_target(spec, spec.split(split)), to, hub_dir, progress)


def download(names: Sequence[str], to: str, on_split: Optional[Callable[[str], None]] = None,
             hub_dir: Optional[str] = None) -> Dict[str, str]:
    """Every split `names` ask for (see `targets`); skips splits already complete. Returns label -> base
    path of its files (`<base>-*.jsonl.gz`)."""
    written = {}
    for target in targets(names):
        base = fileio.join(to, *target.base)
        if not is_complete(base):
            download_target(target, to, hub_dir)
        written[target.label] = base
        if on_split:
            on_split(f"{target.label} -> {base}-*.jsonl.gz")
    return written
