"""Shared benchmark helpers: synthetic records, a throwaway vocabulary, CPU-time measurement."""

from __future__ import annotations

import json
import os
import random
import resource
import time
from contextlib import contextmanager
from typing import Dict, Iterator

WORDS = ("the museum river council library storm market teacher village engine garden winter "
         "reported announced collected repaired visited opened closed because although while after "
         "quickly slowly bright narrow ancient modern local regional national small large").split()


def make_rte_mirror(root: str, num_records: int, words_per_premise: int = 40, seed: int = 0,
                    split: str = "train") -> str:
    """A mirror with `num_records` made-up super_glue/rte records of `split` (real field names/types)."""
    rng = random.Random(seed)
    folder = os.path.join(root, "super_glue", "rte")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{split}.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for i in range(num_records):
            premise = " ".join(rng.choice(WORDS) for _ in range(words_per_premise)).capitalize() + "."
            hypothesis = " ".join(rng.choice(WORDS) for _ in range(8)).capitalize() + "."
            f.write(json.dumps({"premise": premise, "hypothesis": hypothesis, "idx": i,
                                "label": i % 2}) + "\n")
    return path


def setup_env(work: str) -> None:
    """Local vocabulary + mirror source, set before multilingual_t0.tasks is imported."""
    from multilingual_t0.local_vocab import ensure_vocab

    os.environ["MT0_VOCAB"] = ensure_vocab(os.path.join(work, "spm.model"))
    os.environ["MT0_DATA_SOURCE"] = "mirror"
    os.environ["MT0_DATA_DIR"] = work


@contextmanager
def cpu_timer() -> Iterator[Dict[str, float]]:
    """Wall and CPU (user+sys, all threads) seconds of the block."""
    out: Dict[str, float] = {}
    r0, w0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    yield out
    r1, w1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    out["wall"] = w1 - w0
    out["cpu"] = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def rate(count: int, timing: Dict[str, float]) -> Dict[str, float]:
    return {"examples": count, "wall_s": timing["wall"], "cpu_s": timing["cpu"],
            "per_second": count / timing["wall"], "per_cpu_second": count / max(timing["cpu"], 1e-9)}
