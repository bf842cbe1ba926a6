"""The one vocabulary setting, and the output features every task uses.

T5X checks that a task's vocabulary equals the model's by path and settings, so the same setting must
drive the tasks (here) and the gin model configs: both read `MT0_VOCAB`.
"""

from __future__ import annotations

import functools
import os
from typing import Dict

MT5_VOCAB = "gs://t5-data/vocabs/mc4.250000.100extra/sentencepiece.model"
VOCAB_ENV = "MT0_VOCAB"
# mT5's model already holds its 100 sentinels, so seqio must add none (as T5X's mt5 gin files).
EXTRA_IDS = 0


def vocabulary_path() -> str:
    """The SentencePiece model in use: `$MT0_VOCAB`, else mT5's."""
    return os.environ.get(VOCAB_ENV) or MT5_VOCAB


@functools.lru_cache(maxsize=None)
def _vocabulary(path: str):
    import seqio

    return seqio.SentencePieceVocabulary(path, extra_ids=EXTRA_IDS)


def get_vocabulary():
    """A seqio vocabulary for the current setting (the model file is read on first use)."""
    return _vocabulary(vocabulary_path())


def output_features() -> Dict[str, "seqio.Feature"]:
    """`inputs` and `targets`. As in T0's tasks, EOS ends the targets only."""
    import seqio
    import tensorflow as tf

    vocab = get_vocabulary()
    return {
        "inputs": seqio.Feature(vocab, add_eos=False, dtype=tf.int32),
        "targets": seqio.Feature(vocab, add_eos=True, dtype=tf.int32),
    }


def check_vocabulary() -> str:
    """Loads the model once, turning an unreachable path into one clear error (tools call this)."""
    path = vocabulary_path()
    try:
        get_vocabulary().tokenizer  # reads the file
    except Exception as err:  # gfile raises per filesystem (FailedPreconditionError, NotFoundError, ...)
        raise FileNotFoundError(
            f"Cannot read the SentencePiece vocabulary {path!r} ({type(err).__name__}). "
            f"Set {VOCAB_ENV} to a readable model, e.g. the sample model `make demo` trains at "
            ".cache/demo/sample_spm.model, or give this machine access to GCS."
        ) from err
    return path
