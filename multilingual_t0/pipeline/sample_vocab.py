"""A small SentencePiece model trained on the embedded sample text, for offline runs and tests.

mT5's vocabulary lives on GCS; this stands in for it with the same id conventions (pad 0, eos 1,
unk 2, no bos) and byte fallback, so text in any script still tokenizes. Point `MT0_VOCAB` at it.
"""

from __future__ import annotations

import glob
import io
import json
import os
from typing import Iterable, Iterator

from multilingual_t0.catalog.tables import SAMPLES_DIR

DEFAULT_VOCAB_SIZE = 1000
# Sample folders left out of the training text: xP3's 46 scripts need more distinct characters than a
# 1,000-piece model holds; byte fallback tokenizes them.
EXCLUDED_SAMPLE_DIRS = ("xP3", "xP3mt")


def _strings(value) -> Iterator[str]:
    if isinstance(value, str):
        if value.strip():
            yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def sample_texts(root: str = SAMPLES_DIR) -> Iterator[str]:
    """Every string in every embedded sample record (xP3's excepted), in a stable order."""
    for path in sorted(glob.glob(os.path.join(root, "**", "*.jsonl"), recursive=True)):
        if os.path.relpath(path, root).split(os.sep)[0] in EXCLUDED_SAMPLE_DIRS:
            continue
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield from _strings(json.loads(line))


def train_vocab(model_path: str, texts: Iterable[str] = (), vocab_size: int = DEFAULT_VOCAB_SIZE) -> str:
    """Trains (deterministically) and writes `<model_path>`; returns its path."""
    import sentencepiece as spm

    corpus = [t.replace("\n", " ") for t in (list(texts) or list(sample_texts()))]
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus), model_writer=model, vocab_size=vocab_size,
        model_type="unigram", byte_fallback=True, character_coverage=0.9995,
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, hard_vocab_limit=False,
        num_threads=1, minloglevel=2, shuffle_input_sentence=False,
    )
    os.makedirs(os.path.dirname(os.path.abspath(model_path)), exist_ok=True)
    tmp = model_path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(model.getvalue())
    os.replace(tmp, model_path)  # readers never see a half-written model
    return model_path


def ensure_vocab(model_path: str, vocab_size: int = DEFAULT_VOCAB_SIZE) -> str:
    """Reuses `model_path` when it exists, else trains it."""
    return model_path if os.path.exists(model_path) else train_vocab(model_path, vocab_size=vocab_size)
