"""The seqio DataSource every family's task uses: examples made in Python, crossing into TensorFlow in batches.

A `StreamedSource` locates its split when `get_dataset` is called (so a missing split is a clear
DataNotFoundError, not an error from inside tf.data); its examples are then read and made in Python
(`iter_examples`: rendered by a template, taken from records, or documents as they are). Sharding
(multi-host input) reads only this host's files or records; `shuffle` reads in a seeded random order
(sources/reading.py), reshuffled every epoch.

The Python -> TensorFlow crossing (`from_generator`) costs ~100 us per call whatever it carries, more
than rendering an example; so the generator hands over `EXAMPLES_PER_CALL` rendered examples at a time
and tf.data unbatches them (same examples, same order). Given the task's output features
(`tokenize_features`, the prompted training tasks), the source also tokenizes each whole batch before
unbatching — exactly `seqio.preprocessors.tokenize` (ids, `*_pretokenized` strings, answer choices
passed through); the task's `preprocessors.tokenize` then finds nothing left to tokenize, and the cache
placeholder and EOS come after as before. `MT0_INPUT_BOUNDARY=per_example` restores one example per
call and seqio's per-example tokenize (benchmarks compare the two in one run).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import seqio
import tensorflow as tf

from multilingual_t0 import settings
from multilingual_t0.errors import NotResumableError
from multilingual_t0.pipeline.python_calls import CALLS
from multilingual_t0.sources.located import LocatedSplit, hub_stream_not_resumable
from multilingual_t0.sources.reading import SplitReader, resolve_seed

EXAMPLES_PER_CALL = 256
FIRST_CALL = 8  # calls grow 8, 16, 32 ... to EXAMPLES_PER_CALL


def input_boundary() -> str:
    """`batched` (default) or `per_example` (MT0_INPUT_BOUNDARY, read when a dataset is built)."""
    return settings.current().input_boundary


@dataclasses.dataclass(frozen=True)
class ExampleColumns:
    """How a source's examples cross into TensorFlow, a batch at a time: text strings (tokenized there when
    the source has `tokenize_features`), or token ids (`token_ids`: lists of int, crossing as flat values and
    row lengths), plus answer choices flattened with per-example counts."""

    fields: Tuple[str, ...]
    token_ids: bool = False
    with_choices: bool = False

    @property
    def signature(self) -> Dict[str, tf.TensorSpec]:
        if self.token_ids:
            out = {}
            for f in self.fields:
                out[f] = tf.TensorSpec((None,), tf.int32)
                out[f + "_lengths"] = tf.TensorSpec((None,), tf.int64)
            return out
        out = {f: tf.TensorSpec((None,), tf.string) for f in self.fields}
        if self.with_choices:
            out["answer_choices"] = tf.TensorSpec((None,), tf.string)
            out["answer_choice_counts"] = tf.TensorSpec((None,), tf.int64)
        return out

    def columns(self, chunk: List[Dict[str, Any]]) -> Dict[str, np.ndarray]:
        """A list of examples as numpy columns (the signature's)."""
        if self.token_ids:
            out = {}
            for f in self.fields:
                lists = [e[f] for e in chunk]
                out[f] = np.fromiter(itertools.chain.from_iterable(lists), dtype=np.int32)
                out[f + "_lengths"] = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
            return out
        out = {f: _strings([e[f] for e in chunk]) for f in self.fields}
        if self.with_choices:
            out["answer_choices"] = _strings([c for e in chunk for c in e["answer_choices"]])
            out["answer_choice_counts"] = np.array([len(e["answer_choices"]) for e in chunk], dtype=np.int64)
        return out

    def batch(self, columns: Dict[str, tf.Tensor], tokenize_features=None) -> Dict[str, tf.Tensor]:
        """The columns as one batch of examples (to unbatch): token ids and answer choices as ragged tensors,
        text tokenized with `tokenize_features` (exactly `seqio.preprocessors.tokenize`)."""
        if self.token_ids:
            return {f: tf.RaggedTensor.from_row_lengths(columns[f], columns[f + "_lengths"]) for f in self.fields}
        return prepare_batch(columns, self.with_choices, tokenize_features)


def _strings(values: List[Any]) -> np.ndarray:
    """Text as a numpy object column of UTF-8 bytes (an empty column keeps its type)."""
    if not values:
        return np.zeros((0,), dtype=object)
    return np.array([v.encode("utf-8") if isinstance(v, str) else v for v in values], dtype=object)


def chunks(examples: Iterable[Dict[str, Any]], size: int, columns: ExampleColumns) -> Iterator[Dict[str, Any]]:
    """Column batches of FIRST_CALL, 2x, 4x ... up to `size` examples: a task in a 464-task mixture reads
    ahead a few examples at start-up, not `size` (every task's first call happens before the first batch)."""
    it = iter(examples)
    n = min(FIRST_CALL, size)
    while True:
        chunk = list(itertools.islice(it, n))
        if not chunk:
            return
        yield columns.columns(chunk)
        n = min(2 * n, size)


def unbatched(batches: Callable[[], Iterator[Dict[str, Any]]], columns: ExampleColumns,
              tokenize_features=None) -> tf.data.Dataset:
    """Column batches from `batches()` -> [tokenized on the batch] -> one element per example, in order.

    Unbatched variable-length features (ids, answer choices) have a ragged-rank-0 RaggedTensorSpec:
    every map function sees plain Tensors, and the task's next map (EOS, rank classification)
    returns the per-example path's TensorSpecs (tests/test_input_pipeline.py compares them).
    """
    ds = tf.data.Dataset.from_generator(batches, output_signature=columns.signature)
    if columns.token_ids or columns.with_choices or tokenize_features:
        ds = ds.map(functools.partial(columns.batch, tokenize_features=tokenize_features))
    return with_map_fusion(ds.unbatch())


def with_map_fusion(ds: tf.data.Dataset) -> tf.data.Dataset:
    """tf.data's map fusion for the whole pipeline (options pass on to the datasets built on this one):
    the task's per-example maps (EOS, checks, trim) and the feature converter's run as fewer maps, with
    fewer hand-overs between threads per example. Same elements; measured ~+20% examples per CPU-s on
    one task (benchmarks/pipeline_bench.py)."""
    options = tf.data.Options()
    options.experimental_optimization.map_fusion = True
    return ds.with_options(options)


def _rebuild_choices(batch: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
    out = {k: v for k, v in batch.items() if k != "answer_choice_counts"}
    out["answer_choices"] = tf.RaggedTensor.from_row_lengths(batch["answer_choices"],
                                                             batch["answer_choice_counts"])
    return out


def prepare_batch(batch: Dict[str, tf.Tensor], with_choices: bool, tokenize_features) -> Dict[str, tf.Tensor]:
    if with_choices:
        batch = _rebuild_choices(batch)
    if tokenize_features:
        batch = seqio.preprocessors.tokenize_impl(batch, tokenize_features, copy_pretokenized=True)
    return batch


@dataclasses.dataclass(frozen=True)
class ExampleContext:
    """What a family may need beyond the records to make its examples: the reading's seed and epoch, and the
    feature lengths the examples are made for (mC4's prefix-LM segments depend on the inputs length)."""

    seed: Optional[int] = None
    epoch: int = 0
    sequence_length: Optional[Mapping[str, int]] = None


class _TrackedRecords:
    """A SplitReader's records, noting where the reader stood before each record (`at`) and how many
    records were taken (`taken`)."""

    def __init__(self, reader: SplitReader):
        self.reader = reader
        self.at = reader.state()
        self.taken = 0

    def __iter__(self) -> "_TrackedRecords":
        return self

    def __next__(self) -> Tuple[int, Any]:
        self.at = self.reader.state()
        item = next(self.reader)
        self.taken += 1
        return item


class ExampleStream:
    """One epoch of a host's examples of a split, and where it stands: `state()`, taken right after an example
    was returned, is the reader's position before that example's record plus how many examples of that record
    were returned; `StreamedSource.open_examples(..., state=...)` continues right after it. A record may give
    several examples (an mC4 document gives one per segment). None for data read as a Hub stream."""

    def __init__(self, examples: Iterator[Dict[str, Any]], records: Optional[_TrackedRecords], what: str):
        self._examples = examples
        self._records = records
        self._what = what
        self._record = -1  # records.taken when the last example was returned
        self._from_record = 0  # examples returned from that record

    @property
    def resumable(self) -> bool:
        return self._records is not None

    def __iter__(self) -> "ExampleStream":
        return self

    def __next__(self) -> Dict[str, Any]:
        example = next(self._examples)
        taken = self._records.taken if self._records is not None else 0
        self._from_record = self._from_record + 1 if taken == self._record else 1
        self._record = taken
        return example

    def state(self) -> dict:
        """Where this stream stands (JSON-able): right after the last example it returned."""
        if self._records is None:
            raise hub_stream_not_resumable(self._what)
        return {"reader": self._records.at, "skip": self._from_record}


class StreamedSource(seqio.DataSource):
    """A DataSource whose examples come from Python (`iter_examples`), read per host shard in file or seeded
    shuffled order, and cross into TensorFlow in batches (tokenized there given `tokenize_features`).
    Subclasses set `with_choices`, `tokenize_features` and `output_signature` (string features) and define
    `locate(split)` (where the split is: sources/located.py) and `examples(located, split, records)` (what
    the family makes of (index, record) pairs: rendered prompts, record fields, documents)."""

    with_choices = False
    tokenize_features = None
    token_ids = False  # examples hold token id lists (already tokenized: mC4's prefix-LM segments)

    @property
    def supports_arbitrary_sharding(self) -> bool:
        return True

    def list_shards(self, split: str) -> Sequence[str]:
        return [split]

    def locate(self, split: str) -> LocatedSplit:
        raise NotImplementedError

    def examples(self, located: LocatedSplit, split: str, records: Iterable[Tuple[int, Any]],
                 context: ExampleContext = ExampleContext()) -> Iterator[Dict[str, Any]]:
        """What the family makes of (index, record) pairs, taking records one at a time (ExampleStream's
        position relies on it)."""
        raise NotImplementedError

    def iter_examples(self, split: str, shard_index: int = 0, num_shards: int = 1, *, shuffle: bool = False,
                      seed: Optional[int] = None, epoch: int = 0,
                      sequence_length: Optional[Mapping[str, int]] = None) -> ExampleStream:
        """Python iterator over this host's examples (no TensorFlow): used by tf.data and by tools.
        shuffle/seed/epoch: the reading order (sources/reading.py); file order when shuffle is False."""
        return self.open_examples(split, shard_index, num_shards, shuffle=shuffle, seed=seed, epoch=epoch,
                                  sequence_length=sequence_length)

    def open_examples(self, split: str, shard_index: int = 0, num_shards: int = 1, *, shuffle: bool = False,
                      seed: Optional[int] = None, epoch: int = 0, state: Optional[dict] = None,
                      sequence_length: Optional[Mapping[str, int]] = None) -> ExampleStream:
        """This host's examples of one epoch of `split`, as an ExampleStream whose `state()` resumes here
        (`state=`) right after the last example it returned."""
        settings.check_job_settings()  # a worker whose MT0_* settings differ from the launcher's stops here
        located = self.locate(split)  # raises here when the split is missing, not inside tf.data
        seed = resolve_seed(seed) if shuffle else seed  # the reader's order and the examples share it
        reader_state = state.get("reader") if state else None
        raw = located.raw_records(shard_index, num_shards, shuffle=shuffle, seed=seed, epoch=epoch,
                                  state=reader_state)
        records = _TrackedRecords(raw) if isinstance(raw, SplitReader) else None
        context = ExampleContext(seed=seed, epoch=epoch, sequence_length=sequence_length)
        examples = self.examples(located, split, located.mapped(records if records is not None else raw), context)
        stream = ExampleStream(iter(examples), records, located.origin)
        for _ in range(state.get("skip", 0) if state else 0):  # that record's examples already returned
            if next(stream, None) is None:
                raise NotResumableError(f"{located.origin}: the saved position names examples that are not there "
                                        "any more; has the data changed since it was saved?")
        return stream

    def _streamed(self, split: str, shuffle: bool, seed: Optional[int], shard_info: Optional[seqio.ShardInfo],
                  sequence_length: Optional[Mapping[str, int]] = None) -> tf.data.Dataset:
        index, count = (shard_info.index, shard_info.num_shards) if shard_info else (0, 1)
        seed = resolve_seed(seed) if shuffle else seed  # one seed for every epoch of this dataset
        order = dict(shuffle=shuffle, seed=seed, sequence_length=sequence_length)
        examples = self.iter_examples(split, index, count, **order)  # locate now, outside tf.data
        epoch = [0]

        def generate():
            # The first pass reuses the located stream; tf.data re-iterations (repeat) reopen it,
            # in another shuffled order per epoch.
            it = examples if epoch[0] == 0 else self.iter_examples(split, index, count, **order, epoch=epoch[0])
            epoch[0] += 1
            yield from it

        # Each generator call is counted, and ends once the process exits (python_calls).
        # per_example (strings one at a time, for comparison) has no form for token ids: those always cross batched
        if input_boundary() == "per_example" and not self.token_ids:
            return tf.data.Dataset.from_generator(lambda: CALLS.items(generate()),
                                                  output_signature=dict(self.output_signature))
        columns = self.columns()
        return unbatched(lambda: CALLS.items(chunks(generate(), EXAMPLES_PER_CALL, columns)), columns,
                         self.tokenize_features)

    def columns(self, with_choices: Optional[bool] = None) -> ExampleColumns:
        """How this source's examples cross into TensorFlow (the fused mixture feeds take no answer choices:
        `with_choices=False`)."""
        fields = tuple(f for f in self.output_signature if f != "answer_choices")
        choices = self.with_choices if with_choices is None else with_choices
        return ExampleColumns(fields, token_ids=self.token_ids, with_choices=choices)
