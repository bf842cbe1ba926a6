"""LM adaptation for training outside T5X: a streaming `datasets.IterableDataset` of prefix-LM examples.

`lm_adapt_stream()` interleaves one stream per mC4 language with probabilities p(L) ∝ pages^α
(normalised, as the seqio mixture `mt5_lm_adapt`) and yields
    {"inputs": [token ids..., EOS], "targets": [token ids..., EOS], "language": "<code>"}
Token ids, not text: the split point is defined on tokens (t5's objective), and cutting decoded text
at a token boundary is lossy with byte fallback. The ids are the project vocabulary's (`MT0_VOCAB`,
default mT5's SentencePiece model, whose ids are those of the Hub's `google/mt5-*` tokenizers).

The objective is t5's `prefix_lm` written out for Python lists (the seqio path runs t5's own code):
a random chunk of ≤ 65,536 tokens (starting at a multiple of 65,536), cut into segments of
inputs_length - 1 tokens; each segment of L ≥ 2 tokens is split at k uniform in [1, L-1]; prefix ->
inputs, suffix -> targets (trimmed to targets_length - 1); EOS appended to both.

Documents: the Hub's `allenai/c4` mC4 files (source="hub"), or local files laid out as the mirror
(<data_dir>/mc4/<lang>/<split>.jsonl[.gz]) or the embedded samples.
"""

from __future__ import annotations

import dataclasses
import zlib
from typing import Any, Dict, Iterator, List, Optional, Sequence

import numpy as np

from multilingual_t0 import settings
from multilingual_t0.catalog import mc4
from multilingual_t0.pipeline.vocab import _vocabulary, vocabulary_path
from multilingual_t0.sources.layouts import mc4_split, mc4_texts
from multilingual_t0.sources.located import LocatedSplit, locate

CHUNK_MAX_LENGTH = 65536  # t5's prefix_lm: select_random_chunk(max_length=65536)
DEFAULT_LENGTHS = {"inputs": 1024, "targets": 256}
# Languages repeat (epochs) as seqio repeats each task of a mixture; if streams are finite
# (repeat=False), "all_exhausted" restarts a finished language instead of ending the whole stream when
# the smallest one runs out ("first_exhausted"), which keeps p(L) as stated.
STOPPING_STRATEGY = "all_exhausted"


def prefix_lm_examples(tokens: Sequence[int], rng: np.random.Generator, inputs_length: int,
                       targets_length: int, eos_id: int) -> Iterator[Dict[str, List[int]]]:
    """The prefix-LM examples of one tokenized document (see the module docstring)."""
    tokens = list(tokens)
    n = len(tokens)
    if n == 0:
        return
    num_chunks = -(-n // CHUNK_MAX_LENGTH)
    start = CHUNK_MAX_LENGTH * int(rng.integers(num_chunks))
    chunk = tokens[start:start + CHUNK_MAX_LENGTH]
    segment_length = inputs_length - 1  # room for EOS
    for s in range(0, len(chunk), segment_length):
        segment = chunk[s:s + segment_length]
        if len(segment) < 2:  # t5 would give it empty inputs; dropped as in lm_adapt.py
            continue
        k = int(rng.integers(1, len(segment)))  # uniform in [1, L-1]
        yield {"inputs": segment[:k] + [eos_id],
               "targets": segment[k:k + targets_length - 1] + [eos_id]}


def _locate(code: str, split: str, source: str, data_dir: Optional[str], hub_id: str,
            hub_revision: Optional[str]) -> LocatedSplit:
    """One language split as every family locates one (sources/located.py), the Hub call's repository
    and revision as asked."""
    layout = mc4_split(code, split)
    hub = dataclasses.replace(layout.hub, repo=hub_id, revision=hub_revision)
    chosen = settings.current().replace(source=source, **({"data_dir": data_dir} if data_dir else {}))
    return locate(dataclasses.replace(layout, hub=hub), chosen)


def _language_examples(code: str, split: str, source: str, data_dir: Optional[str], seed: int,
                       inputs_length: int, targets_length: int, repeat: bool, vocab_path: str,
                       hub_id: str, hub_revision: Optional[str],
                       shuffle_buffer_size: int) -> Iterator[Dict[str, Any]]:
    """Generator behind one language's stream: a fresh RNG per iteration, so every pass is the same.
    Files are read in their order; the Hub stream in datasets' shuffled order (reseeded per epoch)."""
    vocabulary = _vocabulary(vocab_path)
    processor, eos_id = vocabulary.tokenizer, vocabulary.eos_id
    rng = np.random.default_rng([seed, zlib.crc32(code.encode("utf-8"))])
    located = _locate(code, split, source, data_dir, hub_id, hub_revision)
    shuffle = source == "hub" and shuffle_buffer_size > 1
    epoch = 0
    while True:
        texts = mc4_texts(located.records(shuffle=shuffle, seed=seed, epoch=epoch), located.origin)
        produced = False
        for text in texts:
            for example in prefix_lm_examples(processor.EncodeAsIds(text), rng, inputs_length,
                                              targets_length, eos_id):
                produced = True
                example["language"] = code
                yield example
        epoch += 1
        if not repeat or not produced:  # a source with no usable segment would loop forever
            return


def lm_adapt_stream(languages: Optional[Sequence[str]] = None, *, alpha: float = mc4.DEFAULT_ALPHA,
                    split: str = "train", source: Optional[str] = None, data_dir: Optional[str] = None,
                    inputs_length: int = DEFAULT_LENGTHS["inputs"],
                    targets_length: int = DEFAULT_LENGTHS["targets"], seed: int = 0, repeat: bool = True,
                    shuffle_buffer_size: int = 1000, hub_id: str = mc4.HUB_ID,
                    hub_revision: Optional[str] = None):
    """A streaming `datasets.IterableDataset` of prefix-LM examples over `languages` (default: all 107)
    with p(L) ∝ pages^α. `source`: hub | mirror | samples (default: MT0_DATA_SOURCE; `auto` is the mirror
    when a data dir is set, else the Hub; `mirror` reads `data_dir` or $MT0_DATA_DIR). Local sources are located (and checked non-empty) here,
    so a missing language fails now with DataNotFoundError. Deterministic for a given seed."""
    import datasets

    if inputs_length < 3 or targets_length < 2:
        raise ValueError(f"inputs_length must be >= 3 and targets_length >= 2, got {inputs_length}, "
                         f"{targets_length}")
    mc4.check_split(split)
    chosen = settings.current()
    source = source or chosen.replace(**({"data_dir": data_dir} if data_dir else {})).resolved_source("hub")
    if source not in ("hub", "mirror", "samples"):
        raise ValueError(f"source must be hub, mirror or samples; got {source!r}")
    rates = mc4.sampling_rates(languages, alpha)
    if source != "hub":
        for code in rates:  # fail early, naming the language and the paths
            _locate(code, split, source, data_dir, hub_id, hub_revision)
    features = datasets.Features({"inputs": datasets.Sequence(datasets.Value("int32")),
                                  "targets": datasets.Sequence(datasets.Value("int32")),
                                  "language": datasets.Value("string")})
    streams = []
    for code in rates:
        stream = datasets.IterableDataset.from_generator(
            _language_examples, features=features,
            gen_kwargs=dict(code=code, split=split, source=source, data_dir=data_dir, seed=seed,
                            inputs_length=inputs_length, targets_length=targets_length, repeat=repeat,
                            vocab_path=vocabulary_path(), hub_id=hub_id, hub_revision=hub_revision,
                            shuffle_buffer_size=shuffle_buffer_size))
        if shuffle_buffer_size > 1:  # as seqio shuffles each task's examples before mixing
            stream = stream.shuffle(seed=seed, buffer_size=shuffle_buffer_size)
        streams.append(stream)
    if len(streams) == 1:
        return streams[0]
    return datasets.interleave_datasets(streams, probabilities=list(rates.values()), seed=seed,
                                        stopping_strategy=STOPPING_STRATEGY)
