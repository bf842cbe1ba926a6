"""A seqio Mixture of streamed tasks fed through one pipeline: tasks are chosen in seqio's own order.

Why: seqio's `Mixture.get_dataset` builds one tf.data pipeline per task (a source, five maps, a
prefetch buffer and their threads) and draws among them with `sample_from_datasets`. At the 464 tasks of
`mt5_d4_gpt_sglue_train` that costs ~0.2 CPU-s per task before the first batch, and the per-task
pipelines then compete for the CPU: measured at a small fraction of one task's throughput
(benchmarks/mixture_bench.py).

Here the draw happens in Python, a batch at a time: the same task index sequence as seqio's
(`task_draws.TaskDraws`: `sample_from_datasets`' own seed pairs from `Dataset.random(seed)` and its
`stateless_multinomial` draw redone in numpy, zero rates skipped), then the next example of the chosen task
from its Python stream (`StreamedSource.iter_examples`: the same host shard, reading order, seeds and
per-epoch reopening as the task's own source). Examples cross into TensorFlow in batches, are tokenized
per batch, and go through the tasks' shared preprocessor chain once. With shuffle=False the elements are
identical to seqio's Mixture, in the same order (tests/test_streamed_mixture.py). With shuffle=True the
tasks are read in the reader's seeded shuffled order (files, interleave, MT0_SHUFFLE_BUFFER records) and
drawn as seqio draws them; seqio's extra 1,000-example buffer per task is not applied.

seqio's path is kept whenever the tasks cannot share one pipeline: cached tasks (`use_cached`), tasks
that are not streamed or not tokenized by their source, different preprocessor chains, passthrough
features, `MT0_INPUT_BOUNDARY=per_example`, or `MT0_MIXTURE_FEED=per_task`.
"""

from __future__ import annotations

import functools
import itertools
import logging
from typing import Any, Dict, Iterator, List, Optional, Sequence

import numpy as np
import seqio
import tensorflow as tf

from multilingual_t0 import settings
from multilingual_t0.errors import HostWithoutExamplesError
from multilingual_t0.pipeline.python_calls import CALLS
from multilingual_t0.pipeline.streamed_source import (EXAMPLES_PER_CALL, ExampleColumns, StreamedSource,
                                                      input_boundary, with_map_fusion)
from multilingual_t0.pipeline.task_draws import TaskDraws, seed_pairs
from multilingual_t0.prompting.renderer import RENDER_STATS
from multilingual_t0.sources.reading import resolve_seed

log = logging.getLogger(__name__)

def mixture_feed() -> str:
    """`fused` (default) or `per_task` (seqio's per-task pipelines): MT0_MIXTURE_FEED."""
    return settings.current().mixture_feed


class TaskStream:
    """One task's examples as its source streams them, repeated `num_epochs` times (None: forever) as
    seqio's `repeat` would: every epoch reopens the split in its own shuffled order.

    `state()` is where the stream stands (epoch and the examples' position: streamed_source.ExampleStream),
    and `TaskStream(..., state=...)` continues from there. An epoch without any example on this host raises
    HostWithoutExamplesError (task, host shard, counts) instead of ending the mixture quietly.
    `sequence_length`: the feature lengths the examples are made for (mC4's prefix-LM segments)."""

    def __init__(self, task: seqio.Task, split: str, shard: tuple, shuffle: bool, seed: Optional[int],
                 num_epochs: Optional[int], state: Optional[dict] = None,
                 sequence_length: Optional[Dict[str, int]] = None):
        self.task = task
        self.split = split
        self.shard = shard
        self.order = dict(shuffle=shuffle, seed=resolve_seed(seed) if shuffle else seed)
        self.sequence_length = sequence_length
        self.num_epochs = num_epochs
        self.epoch = state["epoch"] if state else 0
        self._yielded = state["yielded"] if state else False
        # locate now: a missing split fails in get_dataset, not inside tf.data
        self._it = self._open(self.epoch, state)

    def _open(self, epoch: int, state: Optional[dict] = None):
        return self.task.source.open_examples(self.split, *self.shard, **self.order, epoch=epoch, state=state,
                                              sequence_length=self.sequence_length)

    def reopened(self) -> "TaskStream":
        """A fresh stream from epoch 0 (a new iterator over the same dataset), with the same seed."""
        return TaskStream(self.task, self.split, self.shard, self.order["shuffle"], self.order["seed"],
                          self.num_epochs, sequence_length=self.sequence_length)

    @property
    def resumable(self) -> bool:
        """Whether `state()` can say where this stream stands (not for data read as a Hub stream)."""
        return self._it.resumable

    def state(self) -> dict:
        """Where this stream stands, JSON-able: right after the last example it returned (NotResumableError
        for data read as a Hub stream)."""
        return {"epoch": self.epoch, "yielded": self._yielded, **self._it.state()}

    def next(self) -> Optional[Dict[str, Any]]:
        """The next example, or None when the stream has ended (after `num_epochs` epochs)."""
        while True:
            example = next(self._it, None)
            if example is not None:
                self._yielded = True
                return example
            if not self._yielded:
                raise no_examples_error(self.task.name, self.split, self.shard, self.epoch)
            if self.num_epochs is not None and self.epoch + 1 >= self.num_epochs:
                return None
            self.epoch += 1
            self._yielded = False
            self._it = self._open(self.epoch)


def no_examples_error(task: str, split: str, shard: tuple, epoch: int) -> HostWithoutExamplesError:
    """The error for a task that yields nothing on a host shard, with that shard's counts."""
    index, count = shard
    stats = RENDER_STATS.get((task, split))
    counts = (f"this host read {stats.records} records and made 0 examples ({stats.summary()})"
              if stats is not None else "this host read no record")
    return HostWithoutExamplesError(
        f"task {task!r} yields no {split!r} example on host shard {index} of {count} (epoch {epoch}): {counts}. "
        f"A training mixture would end here. Fix: give the split more records that its template renders, "
        f"train on fewer hosts, or give the task a rate of 0.")


def _chain_signature(task: seqio.Task) -> tuple:
    """Preprocessors compared by function (placeholders by type): equal chains can run once, after mixing."""
    return tuple(type(p) if isinstance(p, seqio.CacheDatasetPlaceholder) else p for p in task.preprocessors)


def _same_features(a, b) -> bool:
    return a.keys() == b.keys() and all(a[k].vocabulary == b[k].vocabulary and a[k].add_eos == b[k].add_eos
                                        for k in a)


def why_not_fused(tasks: Sequence[seqio.Task], use_cached: bool, passthrough_features) -> Optional[str]:
    """None when the tasks can be fed through one pipeline, else why not (logged)."""
    if mixture_feed() == "per_task":
        return "MT0_MIXTURE_FEED=per_task"
    if input_boundary() == "per_example":
        return "MT0_INPUT_BOUNDARY=per_example"
    if use_cached:
        return "use_cached=True (cached tasks are read from their TFRecords)"
    if passthrough_features:
        return "passthrough_features were asked for"
    first = tasks[0]
    for task in tasks:
        source = task.source
        if not isinstance(source, StreamedSource) or not (source.tokenize_features or source.token_ids):
            return f"task {task.name!r} is not a streamed task tokenized by its source"
        if source.tokenize_features and not _same_features(source.tokenize_features, task.output_features):
            return f"task {task.name!r} tokenizes other features than it outputs"
        if source.columns(with_choices=False) != first.source.columns(with_choices=False):
            return f"task {task.name!r} gives other example columns than {first.name!r}"
        if _chain_signature(task) != _chain_signature(first):
            return f"task {task.name!r} has another preprocessor chain than {first.name!r}"
        if not _same_features(task.output_features, first.output_features):
            return f"task {task.name!r} has other output features than {first.name!r}"
    return None


def _filter_features(ex, keys):
    return {k: v for k, v in ex.items() if k in keys}


class StreamedMixture(seqio.Mixture):
    """A seqio Mixture whose streamed tasks are drawn in Python and fed through one pipeline (see the
    module docstring); otherwise seqio's own per-task pipelines. Registered like any mixture:
    `seqio.MixtureRegistry.add(name, tasks, mixture_cls=StreamedMixture)`."""

    def get_dataset(self, sequence_length=None, split: str = "train", use_cached: bool = False,
                    shuffle: bool = True, seed: Optional[int] = None,
                    shard_info: Optional[seqio.ShardInfo] = None, num_epochs: Optional[int] = None,
                    copy_pretokenized: bool = False, compute_stats_empirically: bool = False,
                    log_mixing_proportions: bool = True, passthrough_features=None,
                    trim_output_features: bool = True, try_in_mem_cache: bool = True) -> tf.data.Dataset:
        self._check_compatible_features()
        tasks = [t for t in self.tasks if split in t.splits]
        reason = why_not_fused(tasks, use_cached, passthrough_features) if tasks else "no task has the split"
        if reason is not None:
            log.info("mixture %r: seqio's per-task pipelines (%s)", self.name, reason)
            return super().get_dataset(
                sequence_length=sequence_length, split=split, use_cached=use_cached, shuffle=shuffle,
                seed=seed, shard_info=shard_info, num_epochs=num_epochs, copy_pretokenized=copy_pretokenized,
                compute_stats_empirically=compute_stats_empirically,
                log_mixing_proportions=log_mixing_proportions, passthrough_features=passthrough_features,
                trim_output_features=trim_output_features, try_in_mem_cache=try_in_mem_cache)
        for task in self.tasks:
            if task not in tasks:
                log.warning("Task %s has no '%s' split, skipping.", task.name, split)
        sample_seed = seed if seed is not None else (None if shuffle else 42)  # as seqio's Mixture
        draws = TaskDraws(self._get_all_mixing_rates(tasks))
        pairs = seed_pairs(sample_seed)
        shard = (shard_info.index, shard_info.num_shards) if shard_info else (0, 1)
        streams = [TaskStream(t, split, shard, shuffle, seed, num_epochs, sequence_length=sequence_length)
                   for t in tasks]
        ds = mixed_dataset(streams, draws, pairs, self.name, tasks[0].source)
        ds = shared_chain(ds, tasks[0], sequence_length, seed, trim_output_features, copy_pretokenized)
        return ds.prefetch(tf.data.AUTOTUNE)


def shared_chain(ds: tf.data.Dataset, first: seqio.Task, sequence_length, seed: Optional[int],
                 trim_output_features: bool = True, copy_pretokenized: bool = False) -> tf.data.Dataset:
    """The tasks' one preprocessor chain (every task's is `first`'s: why_not_fused), run after mixing on
    the drawn examples (elementwise, so once for all tasks), then seqio's checks, trim and feature filter."""
    ds = first.preprocess_precache(ds, seed=seed)
    ds = first.preprocess_postcache(ds, sequence_length=sequence_length, seed=seed)
    ds = first._validate_preprocessing(ds)  # pylint: disable=protected-access
    if trim_output_features:
        ds = first._trim_output_features(ds, sequence_length=sequence_length)  # pylint: disable=protected-access
    keys = set(first.output_features)
    if copy_pretokenized:
        keys |= {k + "_pretokenized" for k in first.output_features}
    return ds.map(functools.partial(_filter_features, keys=frozenset(keys)), num_parallel_calls=tf.data.AUTOTUNE)


class MixedBatches:
    """The drawn tasks' examples in column batches, one batch per batch of seed pairs.

    The seed pairs come in as a tensor (`pull`, in a numpy_function map) from the tf.data graph, never
    from eager TensorFlow inside a Python call (an eager iterator inside a generator made the process
    hang at exit, 2 runs in 8). Each tf.data iterator has its own streams, keyed by a token that a
    one-line generator yields per iterator; its `finally` drops them when the iterator goes. The first
    iterator uses the streams located in get_dataset; later ones reopen every stream from epoch 0."""

    def __init__(self, streams: List[TaskStream], draws: TaskDraws, name: str, columns: ExampleColumns):
        self.located = streams
        self.draws = draws
        self.name = name
        self.columns = columns
        self.states: Dict[int, List[TaskStream]] = {}
        self.next_token = 0

    def tokens(self) -> Iterator[int]:
        token = self.next_token
        self.next_token += 1
        self.states[token] = self.located if token == 0 else [s.reopened() for s in self.located]
        try:
            yield from CALLS.items(itertools.repeat(token))  # ends once the process exits
        finally:
            self.states.pop(token, None)

    def pull(self, token, pairs):
        """(the columns of the examples of the tasks drawn with the seed `pairs`..., ended): up to the first
        task that has ended (then ended=True: sample_from_datasets(stop_on_empty_dataset=True) ends there too)."""
        with CALLS.call():  # counted, so the process waits for it at exit (python_calls)
            examples, ended = self._pull(int(token), self.draws.draw(pairs))
            return (*self.columns.columns(examples).values(), np.bool_(ended))

    def _pull(self, token: int, drawn):
        streams = self.states.get(token)
        examples: List[Dict[str, Any]] = []
        if streams is None or CALLS.closing:  # ended earlier, or the process is exiting
            return examples, True
        for k in drawn.tolist():
            example = streams[k].next()
            if example is None:
                log.info("mixture %r ends: task %r has no more %r examples", self.name, streams[k].task.name,
                         streams[k].split)
                self.states.pop(token, None)
                return examples, True
            examples.append(example)
        return examples, False


def mixed_dataset(streams: List[TaskStream], draws: TaskDraws, pairs: tf.data.Dataset, name: str,
                  source: StreamedSource) -> tf.data.Dataset:
    """One element per drawn example, tokenized per batch (as `source`'s, every task's alike), in the drawn
    order."""
    if draws.empty:  # every rate is zero: seqio's mixture is empty too
        pairs = pairs.take(0)
    columns = source.columns(with_choices=False)  # the shared chain reads inputs and targets
    batches = MixedBatches(streams, draws, name, columns)
    tokens = tf.data.Dataset.from_generator(batches.tokens, output_signature=tf.TensorSpec((), tf.int64))
    signature = columns.signature

    def pull(token, pair_batch):
        *values, ended = tf.numpy_function(batches.pull, [token, pair_batch],
                                           [spec.dtype for spec in signature.values()] + [tf.bool], stateful=True)
        for value in values:
            value.set_shape([None])
        ended.set_shape([])
        return dict(zip(signature, values)), ended

    ds = tf.data.Dataset.zip((tokens, pairs.batch(EXAMPLES_PER_CALL))).map(pull)
    # Keep batches up to and including the one that ended; nothing after it.
    ds = ds.scan(False, lambda ended_before, item: (ended_before | item[1], (item[0], ended_before)))
    ds = ds.take_while(lambda batch, ended_before: tf.logical_not(ended_before))
    ds = ds.map(lambda batch, ended_before: columns.batch(batch, source.tokenize_features))
    return with_map_fusion(ds.unbatch())


def add_mixture(name: str, tasks, **kwargs) -> seqio.Mixture:
    """`seqio.MixtureRegistry.add` with this package's mixture class."""
    return seqio.MixtureRegistry.add(name, tasks, mixture_cls=StreamedMixture, **kwargs)
