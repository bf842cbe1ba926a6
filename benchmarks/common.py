"""Shared benchmark helpers: made-up records of real words, the benchmark vocabulary, CPU timing.

Vocabulary: `$MT0_VOCAB` when set (e.g. mT5's model, copied locally); else a SentencePiece model trained
once on all the embedded sample text (asked for 8,000 pieces; the text supports ~5,300) and cached under
`.cache/benchmarks/`. On records made of runs of real words from that text it gives ~1.4 pieces per
word, close to mT5 on English; the 1,000-piece test vocabulary gives ~5, which made every benchmark
input longer than 256 tokens (so packing never packed).
"""

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


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_VOCAB = os.path.join(REPO, ".cache", "benchmarks", "spm_samples_8k.model")
BENCH_VOCAB_SIZE = 8000


def _sample_words() -> list:
    from multilingual_t0.pipeline.sample_vocab import sample_texts

    # Whitespace splits CJK sentences into one "word": keep word-sized tokens only.
    return [w for text in sample_texts() for w in text.split() if len(w) <= 15]


def make_rte_mirror(root: str, num_records: int, words_per_premise: int = 40, seed: int = 0,
                    vary: bool = False, split: str = "train") -> str:
    """A mirror with `num_records` made-up super_glue/rte records of `split` (real field names/types).

    `vary`: premises of runs of real words from the sample text, 20-60 words (mean 40), hypotheses 6-14
    (realistic pieces per word; several examples per 256-token row). Else the fixed 40-word premises of
    a few filler words that the memory benchmark streams."""
    rng = random.Random(seed)
    stream = _sample_words() if vary else None

    def words(n):
        if stream is None:
            return " ".join(rng.choice(WORDS) for _ in range(n))
        start = rng.randrange(len(stream) - n)
        return " ".join(stream[start:start + n])

    folder = os.path.join(root, "super_glue", "rte")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{split}.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for i in range(num_records):
            n = rng.randint(20, 60) if vary else words_per_premise
            premise = words(n).capitalize() + "."
            hypothesis = words(rng.randint(6, 14) if vary else 8).capitalize() + "."
            f.write(json.dumps({"premise": premise, "hypothesis": hypothesis, "idx": i,
                                "label": i % 2}) + "\n")
    return path


def bench_vocab() -> str:
    """`$MT0_VOCAB` if set, else the cached sample-text model (trained on first use)."""
    from multilingual_t0.pipeline.sample_vocab import ensure_vocab

    return os.environ.get("MT0_VOCAB") or ensure_vocab(BENCH_VOCAB, vocab_size=BENCH_VOCAB_SIZE)


def setup_env(work: str) -> None:
    """Vocabulary + mirror source, set before multilingual_t0.tasks is imported."""
    os.environ["MT0_VOCAB"] = bench_vocab()
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


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rate(count: int, timing: Dict[str, float]) -> Dict[str, float]:
    return {"examples": count, "wall_s": timing["wall"], "cpu_s": timing["cpu"],
            "per_second": count / timing["wall"], "per_cpu_second": count / max(timing["cpu"], 1e-9)}
