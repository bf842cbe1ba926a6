"""The one vocabulary setting, and the output features every task uses.

T5X checks that a task's vocabulary equals the model's by path and settings, so the same setting must
drive the tasks (here) and the gin model configs: both read `MT0_VOCAB` (settings.py).
"""

from __future__ import annotations

import functools
import threading
from typing import Dict

from multilingual_t0 import settings

MT5_VOCAB = settings.MT5_VOCAB
# mT5's model already holds its 100 sentinels, so seqio must add none (as T5X's mt5 gin files).
EXTRA_IDS = 0


def vocabulary_path() -> str:
    """The SentencePiece model in use: `$MT0_VOCAB`, else mT5's."""
    return settings.current().vocab


# One TF SentencePiece tokenizer per (model file, extra ids) in this process; see SharedTokenizerVocabulary.
_TF_TOKENIZERS: Dict[tuple, object] = {}
_TF_TOKENIZERS_LOCK = threading.Lock()


@functools.lru_cache(maxsize=None)
def _shared_vocabulary_class():
    import seqio
    import tensorflow as tf

    class SharedTokenizerVocabulary(seqio.SentencePieceVocabulary):
        """seqio's SentencePieceVocabulary whose TensorFlow tokenizer is built once per process.

        seqio builds a new `tf_text.SentencepieceTokenizer` on every `tf_tokenizer` access, i.e. in every
        traced tokenize function: each graph then embeds the serialized model as an op attribute and its
        kernel loads its own copy (~4 MB file for mT5, several times that loaded) — per task, per split.
        Here the tokenizer is created once, outside any graph (`tf.init_scope`), and every dataset's
        functions capture its resource handle. Same op, same model: the same ids. Equality with seqio's
        class is unchanged (T5X compares vocabularies by path and settings).
        The tokenizer's resource belongs to its eager kernel: `tf.random.set_seed`, which clears TensorFlow's
        kernel cache, deletes it, and pipelines built before then fail ("SentencepieceOp ... does not
        exist"). Set TensorFlow's global seed before building datasets, not after (T5X does not set it).
        """

        @property
        def tf_tokenizer(self):
            with tf.init_scope():
                if not tf.executing_eagerly():  # TF1-style graph: a resource cannot outlive it
                    return super().tf_tokenizer
                key = (self.sentencepiece_model_file, self._extra_ids)
                with _TF_TOKENIZERS_LOCK:
                    if key not in _TF_TOKENIZERS:
                        _TF_TOKENIZERS[key] = super().tf_tokenizer
                    return _TF_TOKENIZERS[key]

    SharedTokenizerVocabulary.__module__ = __name__
    SharedTokenizerVocabulary.__qualname__ = "SharedTokenizerVocabulary"
    return SharedTokenizerVocabulary


def __getattr__(name: str):
    # The class is built on first use (importing this module stays free of TensorFlow); pickle (Beam
    # caching ships vocabularies to workers) finds it here by name.
    if name == "SharedTokenizerVocabulary":
        return _shared_vocabulary_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.lru_cache(maxsize=None)
def _vocabulary(path: str):
    return _shared_vocabulary_class()(path, extra_ids=EXTRA_IDS)


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
            f"Set MT0_VOCAB to a readable model, e.g. the sample model `make demo` trains at "
            ".cache/demo/sample_spm.model, or give this machine access to GCS."
        ) from err
    return path
