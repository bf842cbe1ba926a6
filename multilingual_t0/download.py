"""Fetch catalog datasets from the Hugging Face Hub into the local mirror layout the sources read:
<to>/<dataset>[/<subset>]/<source_split>.jsonl, written atomically (a `.partial` file until complete).
"""

from __future__ import annotations

import json
import os
from typing import Callable, Dict, List, Optional, Sequence

from multilingual_t0.catalog import DatasetSpec, find_dataset, load_catalog
from multilingual_t0.sources import open_hub


def select(names: Sequence[str]) -> List[DatasetSpec]:
    """Catalog rows for names `dataset` or `dataset/subset`; all rows with a Hub copy when empty."""
    if not names:
        return [s for s in load_catalog() if s.hub_id]
    out: List[DatasetSpec] = []
    for name in names:
        dataset, _, subset = name.partition("/")
        out += [s for s in find_dataset(dataset, subset or None) if s not in out]
    return out


def download_split(spec: DatasetSpec, split: str, to: str,
                   progress: Optional[Callable[[int], None]] = None) -> str:
    """Streams one split from the Hub into the mirror; returns the file written."""
    stream = open_hub(spec, spec.split(split))  # DataNotFoundError (naming the Hub id) when unreachable
    path = os.path.join(to, *spec.path_parts, spec.split(split).source + ".jsonl")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = path + ".partial"
    with open(partial, "w", encoding="utf-8") as f:
        for i, record in enumerate(stream, start=1):
            f.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            if progress and i % 1000 == 0:
                progress(i)
    os.replace(partial, path)
    return path


def download(names: Sequence[str], to: str, on_split: Optional[Callable[[str], None]] = None) -> Dict[str, str]:
    """Every split of the selected datasets; skips files already complete. Returns label:split -> path."""
    written = {}
    for spec in select(names):
        for split in spec.splits:
            path = os.path.join(to, *spec.path_parts, split.source + ".jsonl")
            if not os.path.exists(path):
                download_split(spec, split.name, to)
            written[f"{spec.label}:{split.name}"] = path
            if on_split:
                on_split(f"{spec.label} {split.name} -> {path}")
    return written
