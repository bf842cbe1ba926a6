"""LM adaptation for training outside T5X: a streaming `datasets.IterableDataset` of prefix-LM examples.

`lm_adapt_stream()` interleaves one stream per mC4 language with probabilities p(L) ∝ pages^α
(normalised, as the seqio mixture `mt5_lm_adapt`) and yields
    {"inputs": [token ids..., EOS], "targets": [token ids..., EOS], "language": "<code>"}
Token ids, not text: the split point is defined on tokens (t5's objective), and cutting decoded text
at a token boundary is lossy with byte fallback. The ids are the project vocabulary's (`MT0_VOCAB`,
default mT5's SentencePiece model, whose ids are those of the Hub's `google/mt5-*` tokenizers).

Each language's examples are the T5X feed's for that task: the same reader (the package's, shuffled with
`seed`, one epoch after another), the same objective and split points (pipeline/prefix_lm.py, drawn from
(seed, language, epoch, record index)), trimmed and ended by EOS as the task's chain does. Only the order in
which languages take turns differs (datasets' own interleaving draws, not seqio's).

Documents: the Hub's `allenai/c4` mC4 files (source="hub"), local files laid out as the mirror
(<data_dir>/mc4/<lang>/<split>.jsonl[.gz]), the embedded samples, or TFDS `c4/multilingual` (source="tfds").
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Iterator, Optional, Sequence

from multilingual_t0 import settings
from multilingual_t0.catalog import mc4
from multilingual_t0.pipeline.prefix_lm import DEFAULT_LENGTHS, documents_examples
from multilingual_t0.pipeline.vocab import _vocabulary, vocabulary_path
from multilingual_t0.sources.layouts import mc4_documents, mc4_split
from multilingual_t0.sources.located import LocatedSplit, locate

# Languages repeat (epochs) as seqio repeats each task of a mixture; if streams are finite
# (repeat=False), "all_exhausted" restarts a finished language instead of ending the whole stream when
# the smallest one runs out ("first_exhausted"), which keeps p(L) as stated.
STOPPING_STRATEGY = "all_exhausted"


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
                       hub_id: str, hub_revision: Optional[str], shuffle: bool) -> Iterator[Dict[str, Any]]:
    """Generator behind one language's stream: epoch after epoch of the T5X feed's examples of the language
    (host 0 of 1), each pass the same."""
    vocabulary = _vocabulary(vocab_path)
    encode, eos_id = vocabulary.tokenizer.EncodeAsIds, vocabulary.eos_id
    lengths = {"inputs": inputs_length, "targets": targets_length}
    located = _locate(code, split, source, data_dir, hub_id, hub_revision)
    epoch = 0
    while True:
        documents = mc4_documents(located.records(shuffle=shuffle, seed=seed, epoch=epoch), located.origin)
        produced = False
        for inputs, targets in documents_examples(documents, encode, code, seed, epoch, lengths, eos_id):
            produced = True
            yield {"inputs": inputs, "targets": targets, "language": code}
        epoch += 1
        if not repeat or not produced:  # a source with no usable segment would loop forever
            return


def lm_adapt_stream(languages: Optional[Sequence[str]] = None, *, alpha: float = mc4.DEFAULT_ALPHA,
                    split: str = "train", source: Optional[str] = None, data_dir: Optional[str] = None,
                    inputs_length: int = DEFAULT_LENGTHS["inputs"],
                    targets_length: int = DEFAULT_LENGTHS["targets"], seed: int = 0, repeat: bool = True,
                    shuffle: bool = True, shuffle_buffer_size: int = 0, hub_id: str = mc4.HUB_ID,
                    hub_revision: Optional[str] = None):
    """A streaming `datasets.IterableDataset` of prefix-LM examples over `languages` (default: all 107)
    with p(L) ∝ pages^α. `source`: hub | mirror | samples | tfds (default: MT0_DATA_SOURCE; `auto` is the mirror
    when a data dir is set, else the Hub; `mirror` reads `data_dir` or $MT0_DATA_DIR). Every language is
    located (and checked non-empty) here, so a missing one fails now with DataNotFoundError. `shuffle`: the
    package reader's seeded order (MT0_SHUFFLE_BUFFER), as the T5X feed reads; `shuffle_buffer_size` > 1 adds
    datasets' own buffer per language on top. Deterministic for a given seed."""
    import datasets

    if inputs_length < 3 or targets_length < 2:
        raise ValueError(f"inputs_length must be >= 3 and targets_length >= 2, got {inputs_length}, "
                         f"{targets_length}")
    mc4.check_split(split)
    chosen = settings.current()
    source = source or chosen.replace(**({"data_dir": data_dir} if data_dir else {})).resolved_source("hub")
    if source not in ("hub", "mirror", "samples", "tfds"):
        raise ValueError(f"source must be hub, mirror, samples or tfds; got {source!r}")
    rates = mc4.sampling_rates(languages, alpha)
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
                            shuffle=shuffle))
        if shuffle_buffer_size > 1:
            stream = stream.shuffle(seed=seed, buffer_size=shuffle_buffer_size)
        streams.append(stream)
    if len(streams) == 1:
        return streams[0]
    return datasets.interleave_datasets(streams, probabilities=list(rates.values()), seed=seed,
                                        stopping_strategy=STOPPING_STRATEGY)
