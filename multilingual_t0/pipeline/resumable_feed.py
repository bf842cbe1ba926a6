"""A training feed whose exact position is saved with each checkpoint: T5X's dataset checkpoints.

T5X checkpoints a `clu.data.DatasetIterator` with the model (`save_dataset=True`); a tf.data iterator
that calls Python cannot be serialized, and replaying a stream from its start costs the hours it took.
`ResumableFeed` is the fused mixture (streamed_mixture.py) driven from Python instead of from tf.data:

* the mixture is drawn in groups of G examples, G = the longest feature length: seqio's packing packs each
  run of G consecutive examples on its own (`trim_and_pack_dataset` pads them into one batch of G), so a
  group's packed rows depend on that group alone;
* before a group is drawn, the feed notes where it stands: the draw counter and each task's stream state
  (epoch and reader position: sources/reading.py). The group's seed pairs are computed at their position
  (`seed_pairs_at`: Philox is counter based), its examples are read, and TensorFlow turns them into packed
  rows in one call (the tasks' shared chain and the feature converter, traced once);
* batches are cut from the rows. `save()` writes the note of the oldest group with rows not yet returned
  and how many of its rows were; `restore()` reads that group again and drops those rows.

So a restored feed returns exactly the batches the uninterrupted one would have, at the cost of one group
and one shuffle window per task, wherever it stood. No Python runs inside a tf.data pipeline, so nothing
is left running on tf.data's threads when the process exits.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np
import seqio
import tensorflow as tf
from clu.data import dataset_iterator

from multilingual_t0.errors import NotResumableError
from multilingual_t0.pipeline.streamed_mixture import TaskStream, shared_chain, why_not_fused
from multilingual_t0.pipeline.task_draws import TaskDraws, seed_pairs_at
from multilingual_t0.sources import fileio
from multilingual_t0.sources.located import hub_stream_not_resumable
from multilingual_t0.sources.reading import resolve_seed

log = logging.getLogger(__name__)

STATE_VERSION = 1


@dataclasses.dataclass
class _Group:
    """A group's packed rows, and where the feed stood before drawing it."""

    start: Dict[str, Any]
    rows: Dict[str, np.ndarray]
    taken: int = 0

    @property
    def size(self) -> int:
        return len(next(iter(self.rows.values()))) if self.rows else 0


class ResumableFeed(dataset_iterator.DatasetIterator):
    """Batches of a fused mixture (or one streamed task) for one host, with `save` and `restore`.

    `tasks` and `rates` as the mixture's (zero rates never drawn); `shard` = (host index, host count).
    The batches equal `seqio.get_dataset(mixture, ..., feature_converter, batch_size)` on the fused feed,
    whose examples are drawn and read the same way (tests/test_resumable_feed.py)."""

    def __init__(self, name: str, tasks: Sequence[seqio.Task], rates: Sequence[float], *, split: str,
                 shard: tuple, shuffle: bool, seed: Optional[int], num_epochs: Optional[int],
                 task_feature_lengths: Mapping[str, int], feature_converter: seqio.FeatureConverter,
                 batch_size: int, trim_output_features: bool = True):
        reason = why_not_fused(list(tasks), False, None) if tasks else f"no task of {name!r} has split {split!r}"
        if reason is not None:
            raise NotResumableError(f"{name!r} cannot be fed resumably: {reason}.")
        self.name = name
        self.tasks = list(tasks)
        self.split = split
        self.shard = tuple(shard)
        self.shuffle = shuffle
        # seqio's mixture draws with seed 42 when not shuffled and no seed is given; any seed is fixed here,
        # so a saved position can be drawn again.
        self.seed = resolve_seed(seed) if shuffle else (42 if seed is None else int(seed))
        self.num_epochs = num_epochs
        self.lengths = dict(task_feature_lengths)
        self.converter = feature_converter
        self.batch_size = int(batch_size)
        self.group_size = max(self.lengths.values())
        self.draws = TaskDraws(rates)
        self.trim = trim_output_features
        self.columns = self.tasks[0].source.columns(with_choices=False)  # every task's alike (why_not_fused)
        self._convert = self._converter_fn()
        self._spec = None
        self._reset(None)
        for k in self.draws.kept.tolist():  # refused now, naming the task, not at the first checkpoint
            if not self.streams[k].resumable:
                raise hub_stream_not_resumable(f"task {self.tasks[k].name!r}: its {split!r} data")

    # -- the TensorFlow part: a group of examples (text or token ids) -> packed rows -------------------
    def _pipeline(self, columns: Dict[str, tf.Tensor]) -> tf.data.Dataset:
        first = self.tasks[0]
        ds = tf.data.Dataset.from_tensors(columns)
        ds = ds.map(lambda batch: self.columns.batch(batch, first.source.tokenize_features)).unbatch()
        ds = shared_chain(ds, first, self.lengths, self.seed, self.trim)
        return self.converter(ds, task_feature_lengths=self.lengths)

    def _converter_fn(self):
        # Traced once per feed and seed (autograph stays on: seqio's packing map needs it, and nested
        # tf.data functions inherit the setting).
        names = list(self.columns.signature)

        @tf.function(input_signature=list(self.columns.signature.values()))
        def convert(*values):
            # Every row of the group in one element (a group of G examples packs into at most G rows).
            columns = dict(zip(names, values))
            return self._pipeline(columns).batch(self.group_size + 1).get_single_element()

        return convert

    @property
    def element_spec(self):
        if self._spec is None:
            empty = {k: tf.zeros([0], v.dtype) for k, v in self.columns.signature.items()}
            spec = self._pipeline(empty).element_spec
            self._spec = {k: dataset_iterator.ArraySpec(v.dtype.as_numpy_dtype, (self.batch_size, *v.shape))
                          for k, v in spec.items()}
        return self._spec

    # -- drawing ---------------------------------------------------------------------------------------
    def _reset(self, start: Optional[Dict[str, Any]]) -> None:
        """Streams and draw counter as they stood at `start` (a group's note), or at the beginning."""
        shard = self.shard
        task_states = start["tasks"] if start else [None] * len(self.tasks)
        self.streams = [TaskStream(t, self.split, shard, self.shuffle, self.seed, self.num_epochs, state=s,
                                   sequence_length=self.lengths) for t, s in zip(self.tasks, task_states)]
        self.drawn = start["drawn"] if start else 0
        self.ended = start["ended"] if start else self.draws.empty
        self.groups: collections.deque = collections.deque()
        self.batches = 0

    def _note(self) -> Dict[str, Any]:
        # A task never drawn (rate 0) stays where it was opened: None, so its reader (maybe a Hub stream)
        # is never asked for a position.
        drawn = set(self.draws.kept.tolist())
        return {"drawn": self.drawn, "ended": self.ended,
                "tasks": [s.state() if k in drawn else None for k, s in enumerate(self.streams)]}

    def _draw_group(self) -> bool:
        """Draws, reads and packs the next group; False once the mixture has ended."""
        if self.ended:
            return False
        start = self._note()
        size = self.group_size
        chosen = (np.full(size, self.draws.kept[0]) if self.draws.single
                  else self.draws.draw(seed_pairs_at(self.seed, self.drawn, size)))
        examples: List[Dict[str, Any]] = []
        for k in chosen.tolist():
            example = self.streams[k].next()
            if example is None:  # as sample_from_datasets(stop_on_empty_dataset=True): the mixture ends here
                log.info("mixture %r ends: task %r has no more %r examples", self.name, self.tasks[k].name,
                         self.split)
                self.ended = True
                break
            examples.append(example)
        self.drawn += size
        if not examples:
            return False
        rows = {k: v.numpy() for k, v in self._convert(*self.columns.columns(examples).values()).items()}
        self.groups.append(_Group(start, rows))
        return True

    def check_every_task_feeds(self) -> None:
        """Raises HostWithoutExamplesError (task, host shard, counts) for a task drawn with a positive rate
        that yields no example on this host: checked when the input is built, not when the mixture ends."""
        for k in self.draws.kept.tolist():
            TaskStream(self.tasks[k], self.split, self.shard, self.shuffle, self.seed, 1,
                       sequence_length=self.lengths).next()

    # -- DatasetIterator ---------------------------------------------------------------------------------
    def __next__(self) -> Dict[str, np.ndarray]:
        while sum(g.size - g.taken for g in self.groups) < self.batch_size:
            if not self._draw_group():
                raise StopIteration  # the last partial batch is dropped, as seqio.get_dataset's drop_remainder
        parts: Dict[str, List[np.ndarray]] = collections.defaultdict(list)
        wanted = self.batch_size
        while wanted:
            group = self.groups[0]
            take = min(wanted, group.size - group.taken)
            for key, rows in group.rows.items():
                parts[key].append(rows[group.taken:group.taken + take])
            group.taken += take
            wanted -= take
            if group.taken == group.size:
                self.groups.popleft()
        self.batches += 1
        return {key: np.concatenate(chunks) for key, chunks in parts.items()}

    def reset(self) -> None:
        self._reset(None)

    def _settings(self) -> Dict[str, Any]:
        """What a saved position must have been written with to be restored here."""
        return {"version": STATE_VERSION, "name": self.name, "tasks": [t.name for t in self.tasks],
                "split": self.split, "shard": list(self.shard), "shuffle": self.shuffle,
                "num_epochs": self.num_epochs, "lengths": self.lengths, "batch_size": self.batch_size,
                "converter": type(self.converter).__name__, "pack": bool(getattr(self.converter, "pack", False))}

    def position(self) -> Dict[str, Any]:
        """What `save` writes: the settings that must match on restore, and where the feed stands."""
        if self.groups:
            group = self.groups[0]
            start, skip = group.start, group.taken
        else:
            start, skip = self._note(), 0
        return {**self._settings(), "seed": self.seed, "batches": self.batches, "start": start, "skip_rows": skip}

    def save(self, filename) -> None:
        fileio.write_text(str(filename), json.dumps(self.position()))

    def restore(self, filename) -> None:
        saved = json.loads(fileio.read_text(str(filename)))
        self.resume(saved, where=str(filename))
        log.info("input %r: restored at batch %d from %s", self.name, self.batches, filename)

    def resume(self, saved: Dict[str, Any], where: str = "the saved state") -> None:
        """Continue from `position()`'s dict: the group it names is drawn again and its returned rows dropped."""
        for key, mine in self._settings().items():
            if saved.get(key) != mine:
                raise NotResumableError(
                    f"the dataset checkpoint {where} was written by another input: its {key} is "
                    f"{_short(saved.get(key))}, this run's is {_short(mine)}. Restore with the settings "
                    f"it was written with, or start without it (utils.RestoreCheckpointConfig.restore_dataset=False).")
        if saved["seed"] != self.seed:
            log.info("input %r: continuing with the checkpoint's seed %d (this run drew %d)", self.name,
                     saved["seed"], self.seed)
            self.seed = saved["seed"]
            self._convert = self._converter_fn()  # the chain is traced with its seed
        self._reset(saved["start"])
        self.batches = saved["batches"]
        if saved["skip_rows"]:
            if not self._draw_group() or self.groups[0].size < saved["skip_rows"]:
                raise NotResumableError(f"the dataset checkpoint {where} names rows this input does not "
                                        f"produce again: has the data changed since it was written?")
            self.groups[0].taken = saved["skip_rows"]


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 120 else text[:117] + "..."
