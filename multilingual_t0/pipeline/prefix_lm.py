"""The T5 paper's prefix-LM objective on token ids, with split points derived from each record's identity.

t5's `t5.data.preprocessors.prefix_lm` (what mT5's LM adaptation ran) does, per tokenized document:
  * `select_random_chunk(max_length=65536)`: a document of n tokens is cut into ceil(n / 65536) chunks of
    65,536 tokens and one is chosen uniformly (a shorter document is its own one chunk); empty documents go;
  * `split_tokens_to_inputs_length`: the chunk is cut into segments of `inputs_length - 1` tokens (one is kept
    for the inputs' EOS); the last one may be shorter;
  * `denoise(random_prefix_noise_mask)`: each segment of L tokens is split at k uniform in [1, L-1]: the k
    first tokens are the inputs, the rest the targets.
The task's chain then trims the targets to `targets_length - 1` and appends EOS to both
(`append_eos_after_trim`). A one-token segment would get empty inputs; those are dropped.

This module does the same on Python lists (`prefix_lm_segments`), with the random choices taken from a
`SplitDraws`: not from TensorFlow's per-map random streams (fixed when a pipeline is traced), but from a hash
of (seed, language, epoch, record index). So a document's split points vary per document and per epoch, are
the same on every host and in every reading order, and are drawn again exactly after a restore.
tests/test_prefix_lm.py checks the segments equal t5's `prefix_lm` on the same split points.
"""

from __future__ import annotations

import hashlib
from typing import Callable, Iterable, Iterator, List, Optional, Sequence, Tuple

CHUNK_MAX_LENGTH = 65536  # t5's prefix_lm: select_random_chunk(max_length=65536)
DEFAULT_LENGTHS = {"inputs": 1024, "targets": 256}  # mT0's plan for the +100K adaptation steps
_MASK64 = (1 << 64) - 1
_CHUNK_SALT = 0x6A09E667F3BCC909  # separates the chunk draw from the segments' draws


def _mix64(z: int) -> int:
    """SplitMix64's finaliser: a well-mixed 64-bit value from a counter."""
    z = (z + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


class SplitDraws:
    """The random choices of one document: which chunk, and where each segment is split.

    Keyed by (seed, stream, epoch, index): `stream` names the data (an mC4 language), `index` the record's
    index in its split (sources/reading.py: the same on every host). Each draw is a 64-bit hash value taken
    modulo the number of choices (a bias below 2^-50 for the lengths used here)."""

    __slots__ = ("key",)

    def __init__(self, seed: int, stream: str, epoch: int, index: int):
        text = f"{int(seed)}:{stream}:{int(epoch)}:{int(index)}".encode("utf-8")
        self.key = int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")

    def chunk(self, num_chunks: int) -> int:
        """The chosen chunk, uniform in [0, num_chunks)."""
        return _mix64(self.key ^ _CHUNK_SALT) % num_chunks

    def split(self, segment: int, length: int) -> int:
        """Where segment number `segment` (of `length` >= 2 tokens) is split: uniform in [1, length - 1]."""
        return 1 + _mix64((self.key + segment * 0x9E3779B97F4A7C15) & _MASK64) % (length - 1)


def segment_length(inputs_length: int) -> int:
    """Tokens per segment: the inputs length less one for the EOS (t5's split_tokens_to_inputs_length)."""
    if inputs_length < 3:
        raise ValueError(f"the prefix-LM objective needs an inputs length >= 3 (a segment of >= 2 tokens and EOS); "
                         f"got {inputs_length}")
    return inputs_length - 1


def prefix_lm_segments(tokens: Sequence[int], length: int, draws: SplitDraws
                       ) -> Iterator[Tuple[List[int], List[int]]]:
    """(inputs, targets) token lists of one document, before trimming and EOS: t5's prefix_lm with the
    chunk and split points of `draws`; `length` = tokens per segment (`segment_length`)."""
    tokens = list(tokens)
    n = len(tokens)
    if n == 0:
        return
    if n > CHUNK_MAX_LENGTH:
        start = CHUNK_MAX_LENGTH * draws.chunk(-(-n // CHUNK_MAX_LENGTH))
        tokens = tokens[start:start + CHUNK_MAX_LENGTH]
    for number, at in enumerate(range(0, len(tokens), length)):
        segment = tokens[at:at + length]
        if len(segment) < 2:  # t5 would give it empty inputs
            continue
        k = draws.split(number, len(segment))
        yield segment[:k], segment[k:]


def with_eos(inputs: List[int], targets: List[int], targets_length: int, eos_id: int
             ) -> Tuple[List[int], List[int]]:
    """seqio's append_eos_after_trim on one example: targets trimmed to `targets_length - 1`, EOS after both."""
    return inputs + [eos_id], targets[:targets_length - 1] + [eos_id]


def document_examples(tokens: Sequence[int], lengths: dict, draws: SplitDraws, eos_id: Optional[int] = None
                      ) -> Iterator[Tuple[List[int], List[int]]]:
    """A document's examples at `lengths` ({'inputs': .., 'targets': ..}); with `eos_id`, trimmed and ended by
    EOS as the task's chain does (for use outside seqio)."""
    for inputs, targets in prefix_lm_segments(tokens, segment_length(lengths["inputs"]), draws):
        yield (inputs, targets) if eos_id is None else with_eos(inputs, targets, lengths["targets"], eos_id)


def documents_examples(documents: Iterable[Tuple[int, str]], encode: Callable[[str], List[int]], stream: str,
                       seed: int, epoch: int, lengths: dict, eos_id: Optional[int] = None
                       ) -> Iterator[Tuple[List[int], List[int]]]:
    """The examples of (index, text) documents of one stream, in order: each tokenized by `encode` and cut with
    the draws of (seed, stream, epoch, index). The seqio source and the Hugging Face stream both read this."""
    for index, text in documents:
        yield from document_examples(encode(text), lengths, SplitDraws(seed, stream, epoch, index), eos_id)
