"""mC4 for seqio: one language's documents made into prefix-LM examples in Python, as a StreamedSource.

Documents come from where MT0_DATA_SOURCE points, as every other family's records (sources/layouts.py's
`mc4_split`): the mirror, the embedded samples, the Hub's `allenai/c4` files, or TFDS `c4/multilingual`
(`tfds`, and `auto` without a mirror) read as its TFRecord files from T5X's `--tfds_data_dir` /
`$TFDS_DATA_DIR` at version MT0_MC4_VERSION. Every one is read by the package's reader, per host, shuffled,
with a position a dataset checkpoint saves.

Each document is tokenized (the project's SentencePiece model, the ids seqio's tokenize gives) and cut by the
T5 paper's prefix-LM objective (pipeline/prefix_lm.py) with split points drawn from the document's identity
(seed, language, epoch, index), so the examples are the same on every path and after a restore. The examples
cross into TensorFlow as token ids; the task's chain trims the targets and appends EOS to both, as t5's
prefix_lm task did. The objective needs the inputs length: `Mc4Task.get_dataset` gives its
`sequence_length` to the source (seqio does not pass it to a DataSource); without one, DEFAULT_LENGTHS.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple

import seqio
import tensorflow as tf

from multilingual_t0.catalog import mc4
from multilingual_t0.pipeline import vocab
from multilingual_t0.pipeline.prefix_lm import DEFAULT_LENGTHS, documents_examples, segment_length
from multilingual_t0.pipeline.streamed_source import ExampleContext, StreamedSource
from multilingual_t0.sources.layouts import mc4_documents, mc4_split
from multilingual_t0.sources.located import LocatedSplit, locate

# The seed of the split draws when the reading has none (shuffle=False and no seed): fixed, so unshuffled
# reading (evaluation, tools) gives the same examples every time.
UNSEEDED = 0


def output_features() -> Dict[str, seqio.Feature]:
    """EOS ends the inputs AND the targets, as in mT5's own pretraining tasks (unlike the prompted
    tasks, whose inputs carry no EOS): this continues mT5's pretraining, so the encoder keeps seeing
    the input format it was pretrained on. The segments leave a token of room for the inputs' EOS."""
    v = vocab.get_vocabulary()
    return {"inputs": seqio.Feature(v, add_eos=True, required=False, dtype=tf.int32),
            "targets": seqio.Feature(v, add_eos=True, dtype=tf.int32)}


def preprocessors() -> List:
    """After the source's examples (token ids): targets trimmed to their length - 1, EOS appended to both."""
    return [seqio.preprocessors.append_eos_after_trim]


class Mc4DataSource(StreamedSource):
    """Prefix-LM examples {inputs, targets} (token ids) of one mC4 language, from the source MT0_DATA_SOURCE
    names at build time."""

    token_ids = True

    def __init__(self, code: str):
        self.language = mc4.get_language(code)
        self._lengths = threading.local()
        # Not cacheable: the examples depend on the run's feature lengths (and mC4 is ~10 TB).
        super().__init__(splits=mc4.SPLITS, num_input_examples=None, caching_permitted=False)

    @property
    def output_signature(self) -> Dict[str, tf.TensorSpec]:
        return {"inputs": tf.TensorSpec((None,), tf.int32), "targets": tf.TensorSpec((None,), tf.int32)}

    def locate(self, split: str) -> LocatedSplit:
        mc4.check_split(split)
        return locate(mc4_split(self.language.code, split))

    @contextlib.contextmanager
    def made_for(self, sequence_length: Optional[Mapping[str, int]]):
        """Datasets built inside are made for `sequence_length` (Mc4Task.get_dataset)."""
        before = getattr(self._lengths, "value", None)
        self._lengths.value = sequence_length
        try:
            yield
        finally:
            self._lengths.value = before

    def examples(self, located: LocatedSplit, split: str, records: Iterable[Tuple[int, Any]],
                 context: ExampleContext = ExampleContext()) -> Iterator[Dict[str, List[int]]]:
        """Each document tokenized and cut into prefix-LM segments; records without a non-empty text are
        skipped and counted."""
        lengths = context.sequence_length or DEFAULT_LENGTHS
        if "inputs" not in lengths:
            raise ValueError(f"{self.language.code!r}: the prefix-LM objective needs an 'inputs' length; got "
                             f"{dict(lengths)}")
        segment_length(lengths["inputs"])  # a length too short fails here, before any document is read
        seed = UNSEEDED if context.seed is None else context.seed
        for inputs, targets in documents_examples(mc4_documents(records, located.origin),
                                                  vocab.get_vocabulary().tokenizer.EncodeAsIds,
                                                  self.language.code, seed, context.epoch, lengths):
            yield {"inputs": inputs, "targets": targets}

    def get_dataset(self, split: str = "train", shuffle: bool = True, seed: Optional[int] = None,
                    shard_info: Optional[seqio.ShardInfo] = None, *, sequence_length=None,
                    use_cached: bool = False, num_epochs: Optional[int] = 1) -> tf.data.Dataset:
        del use_cached, num_epochs  # the Task repeats and shuffles
        mc4.check_split(split)
        lengths = sequence_length or getattr(self._lengths, "value", None)
        return self._streamed(split, shuffle, seed, shard_info, lengths)

    def __repr__(self) -> str:
        return f"Mc4DataSource({self.language.code!r})"


class Mc4Task(seqio.Task):
    """A seqio Task whose source makes its examples for the feature lengths asked (seqio passes none to a
    DataSource)."""

    def get_dataset(self, sequence_length=None, *args, **kwargs) -> tf.data.Dataset:
        with self.source.made_for(sequence_length):
            return super().get_dataset(sequence_length, *args, **kwargs)

