"""The vocabulary for gin model configs: the very object the registered tasks use.

T5X refuses a run whose model vocabulary differs (by path and settings) from the task's. Gin cannot
read environment variables, so the model gins call `vocabulary()` here, which reads the same
`MT0_VOCAB` setting as `multilingual_t0.tasks` (see `vocab.py`):

    from multilingual_t0 import gin_vocab
    VOCABULARY = @gin_vocab.vocabulary()

Not imported by `tasks.py`; importing it only registers `multilingual_t0.vocabulary` with gin.
"""

from __future__ import annotations

import gin

from multilingual_t0.pipeline import vocab


def vocabulary():
    """`vocab.get_vocabulary()`: the SentencePiece model named by `$MT0_VOCAB` (mT5's by default)."""
    return vocab.get_vocabulary()


# Also reachable as `@multilingual_t0.vocabulary()` from gin files without dynamic registration.
gin.register(vocabulary, module="multilingual_t0")
