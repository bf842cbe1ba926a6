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

import functools
import itertools
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import seqio
import tensorflow as tf

from multilingual_t0 import settings
from multilingual_t0.pipeline.python_calls import CALLS
from multilingual_t0.sources.located import LocatedSplit
from multilingual_t0.sources.reading import SplitReader, resolve_seed

EXAMPLES_PER_CALL = 256
FIRST_CALL = 8  # calls grow 8, 16, 32 ... to EXAMPLES_PER_CALL
TEXT_FIELDS = ("inputs", "targets")


def input_boundary() -> str:
    """`batched` (default) or `per_example` (MT0_INPUT_BOUNDARY, read when a dataset is built)."""
    return settings.current().input_boundary


def _columns(chunk: List[Dict[str, Any]], with_choices: bool, fields: Sequence[str]) -> Dict[str, Any]:
    """A chunk of examples as columns; answer choices flattened with per-example counts (ragged)."""
    batch = {f: [e[f] for e in chunk] for f in fields}
    if with_choices:
        batch["answer_choices"] = [c for e in chunk for c in e["answer_choices"]]
        batch["answer_choice_counts"] = [len(e["answer_choices"]) for e in chunk]
    return batch


def chunks(examples: Iterable[Dict[str, Any]], size: int, with_choices: bool,
           fields: Sequence[str] = TEXT_FIELDS) -> Iterator[Dict[str, Any]]:
    """Chunks of FIRST_CALL, 2x, 4x ... up to `size` examples: a task in a 464-task mixture reads
    ahead a few examples at start-up, not `size` (every task's first call happens before the first batch)."""
    it = iter(examples)
    n = min(FIRST_CALL, size)
    while True:
        chunk = list(itertools.islice(it, n))
        if not chunk:
            return
        yield _columns(chunk, with_choices, fields)
        n = min(2 * n, size)


def unbatched(batches: Callable[[], Iterator[Dict[str, Any]]], with_choices: bool,
              tokenize_features=None, fields: Sequence[str] = TEXT_FIELDS) -> tf.data.Dataset:
    """Column batches from `batches()` -> [tokenized on the batch] -> one element per example, in order.

    Unbatched variable-length features (ids, answer choices) have a ragged-rank-0 RaggedTensorSpec:
    every map function sees plain Tensors, and the task's next map (EOS, rank classification)
    returns the per-example path's TensorSpecs (tests/test_input_pipeline.py compares them).
    """
    signature = {f: tf.TensorSpec((None,), tf.string) for f in fields}
    if with_choices:
        signature["answer_choices"] = tf.TensorSpec((None,), tf.string)
        signature["answer_choice_counts"] = tf.TensorSpec((None,), tf.int64)
    ds = tf.data.Dataset.from_generator(batches, output_signature=signature)
    if with_choices or tokenize_features:
        ds = ds.map(functools.partial(prepare_batch, with_choices=with_choices,
                                      tokenize_features=tokenize_features))
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


class StreamedSource(seqio.DataSource):
    """A DataSource whose examples come from Python (`iter_examples`), read per host shard in file or seeded
    shuffled order, and cross into TensorFlow in batches (tokenized there given `tokenize_features`).
    Subclasses set `with_choices`, `tokenize_features` and `output_signature` (string features) and define
    `locate(split)` (where the split is: sources/located.py) and `examples(located, split, records)` (what
    the family makes of (index, record) pairs: rendered prompts, record fields, documents)."""

    with_choices = False
    tokenize_features = None

    @property
    def supports_arbitrary_sharding(self) -> bool:
        return True

    def list_shards(self, split: str) -> Sequence[str]:
        return [split]

    def streams(self, split: str) -> bool:
        """Whether `split` is read through `iter_examples` under the current settings (mC4 from TFDS is not)."""
        del split
        return True

    def locate(self, split: str) -> LocatedSplit:
        raise NotImplementedError

    def examples(self, located: LocatedSplit, split: str, records: Iterable[Tuple[int, Any]]
                 ) -> Iterator[Dict[str, Any]]:
        raise NotImplementedError

    def iter_examples(self, split: str, shard_index: int = 0, num_shards: int = 1, *, shuffle: bool = False,
                      seed: Optional[int] = None, epoch: int = 0) -> Iterator[Dict[str, Any]]:
        """Python iterator over this host's examples (no TensorFlow): used by tf.data and by tools.
        shuffle/seed/epoch: the reading order (sources/reading.py); file order when shuffle is False."""
        return self.open_examples(split, shard_index, num_shards, shuffle=shuffle, seed=seed, epoch=epoch)[0]

    def open_examples(self, split: str, shard_index: int = 0, num_shards: int = 1, *, shuffle: bool = False,
                      seed: Optional[int] = None, epoch: int = 0, state: Optional[dict] = None
                      ) -> Tuple[Iterator[Dict[str, Any]], Optional[SplitReader]]:
        """(examples, reader). The reader is the SplitReader under them, whose `state()`, taken when an example
        has just been returned, resumes (`state=`) right after that example's record; None for data read as
        a Hub stream (NotResumableError if `state` is given for one)."""
        settings.check_job_settings()  # a worker whose MT0_* settings differ from the launcher's stops here
        located = self.locate(split)  # raises here when the split is missing, not inside tf.data
        raw = located.raw_records(shard_index, num_shards, shuffle=shuffle, seed=seed, epoch=epoch, state=state)
        reader = raw if isinstance(raw, SplitReader) else None
        return self.examples(located, split, located.mapped(raw)), reader

    def _streamed(self, split: str, shuffle: bool, seed: Optional[int],
                  shard_info: Optional[seqio.ShardInfo]) -> tf.data.Dataset:
        index, count = (shard_info.index, shard_info.num_shards) if shard_info else (0, 1)
        seed = resolve_seed(seed) if shuffle else seed  # one seed for every epoch of this dataset
        order = dict(shuffle=shuffle, seed=seed)
        examples = self.iter_examples(split, index, count, **order)  # locate now, outside tf.data
        epoch = [0]

        def generate():
            # The first pass reuses the located stream; tf.data re-iterations (repeat) reopen it,
            # in another shuffled order per epoch.
            it = examples if epoch[0] == 0 else self.iter_examples(split, index, count, **order, epoch=epoch[0])
            epoch[0] += 1
            yield from it

        # Each generator call is counted, and ends once the process exits (python_calls).
        if input_boundary() == "per_example":
            return tf.data.Dataset.from_generator(lambda: CALLS.items(generate()),
                                                  output_signature=dict(self.output_signature))
        fields = [f for f in self.output_signature if f != "answer_choices"]
        return unbatched(lambda: CALLS.items(chunks(generate(), EXAMPLES_PER_CALL, self.with_choices, fields)),
                         self.with_choices, self.tokenize_features, fields)
