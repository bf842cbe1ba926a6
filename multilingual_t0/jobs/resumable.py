"""T5X's `get_dataset_fn` with a training input that survives preemption (`multilingual_t0.resumable`).

The run gins set `train_script.train.get_dataset_fn = @resumable.get_dataset` and turn T5X's dataset
checkpoints on with one macro, DATASET_CHECKPOINTS (`utils.SaveCheckpointConfig.save_dataset` and this
function's `checkpointed`). The function then returns a `ResumableFeed` (pipeline/resumable_feed.py): a
`clu.data.DatasetIterator` whose `save`/`restore` T5X calls with each checkpoint, so a restarted job
continues with exactly the next batch on every host.

Inputs the feed cannot serve go through seqio's pipelines: cached tasks, which tf.data's own iterator
checkpoints save, and otherwise (prompted tasks read as Hub streams, MT0_MIXTURE_FEED=per_task) are refused at
start when `checkpointed` is True, with the reason and the setting to turn off; with DATASET_CHECKPOINTS=False
they are served as T5X's own `utils.get_dataset` serves them (a tf.data.Dataset, replayed from its start after
a restart).
"""

from __future__ import annotations

import importlib
import logging
import time
from typing import Any, Optional

import numpy as np
import seqio

from multilingual_t0.errors import NotResumableError
from multilingual_t0.pipeline.resumable_feed import ResumableFeed
from multilingual_t0.registry.lookup import get_provider

log = logging.getLogger(__name__)

TURN_OFF = ("DATASET_CHECKPOINTS=False (it sets utils.SaveCheckpointConfig.save_dataset and "
            "resumable.get_dataset.checkpointed)")


def shared_seed(seed: Optional[int]) -> int:
    """`seed`, or, as T5X's get_dataset does, a timestamp every host agrees on (broadcast from host 0)."""
    if seed is not None:
        return int(seed)
    now = np.int32(time.time())
    try:
        import jax
        from jax.experimental import multihost_utils
    except ImportError:
        return int(now)
    if jax.process_count() == 1:
        return int(now)
    return int(multihost_utils.broadcast_one_to_all(now))


def get_dataset(cfg: Any, shard_id: int, num_shards: int, feature_converter_cls, num_epochs: Optional[int] = None,
                continue_from_last_checkpoint: bool = False, *, checkpointed: bool = True):
    """T5X's `get_dataset_fn` (same arguments; `cfg` read by attribute: a `utils.DatasetConfig`).

    Returns a ResumableFeed for this host's shard (`shard_id` of `num_shards`), or raises
    NotResumableError at start when the input cannot be resumed and `checkpointed` is True."""
    if continue_from_last_checkpoint:
        raise ValueError("continue_from_last_checkpoint is T5X's for inputs that track their own position; "
                         "this input's position is restored from the dataset checkpoint instead: leave it False.")
    if getattr(cfg, "module", None):
        importlib.import_module(cfg.module)
    if cfg.batch_size % num_shards:
        raise ValueError(f"Batch size ({cfg.batch_size}) must be divisible by number of shards ({num_shards}).")
    name = cfg.mixture_or_task_name
    provider = name if isinstance(name, seqio.DatasetProviderBase) else get_provider(name)
    seed = shared_seed(cfg.seed)
    converter = feature_converter_cls(pack=cfg.pack, use_custom_packing_ops=cfg.use_custom_packing_ops)
    batch_size = cfg.batch_size // num_shards
    reason = ("the tasks are read from their cache (USE_CACHED_TASKS=True) by seqio's pipelines."
              if cfg.use_cached else None)
    if reason is None:
        tasks, rates = _tasks_and_rates(provider, cfg.split)
        try:
            feed = ResumableFeed(provider.name, tasks, rates, split=cfg.split, shard=(shard_id, num_shards),
                                 shuffle=cfg.shuffle, seed=seed, num_epochs=num_epochs,
                                 task_feature_lengths=cfg.task_feature_lengths, feature_converter=converter,
                                 batch_size=batch_size, trim_output_features=cfg.trim_output_features)
            feed.check_every_task_feeds()
            log.info("Initializing resumable input %r for host shard %d of %d: batch %d, seed %d",
                     provider.name, shard_id, num_shards, batch_size, seed)
            return feed
        except NotResumableError as err:
            reason = str(err)
    ds = seqio.get_dataset(
        mixture_or_task_name=provider, task_feature_lengths=cfg.task_feature_lengths, dataset_split=cfg.split,
        shuffle=cfg.shuffle, num_epochs=num_epochs, feature_converter=converter,
        shard_info=seqio.ShardInfo(index=shard_id, num_shards=num_shards), use_cached=cfg.use_cached,
        seed=seed, trim_output_features=cfg.trim_output_features, batch_size=batch_size)
    if not checkpointed:
        log.info("input %r is not resumable (%s); serving it as T5X's get_dataset does", provider.name, reason)
        return ds
    unsaveable = why_tf_data_cannot_save(ds)
    if unsaveable is not None:
        raise NotResumableError(
            f"Dataset checkpoints are on, but {reason} That pipeline runs Python, which tf.data cannot save "
            f"({unsaveable}), so T5X would stop at the first checkpoint. Turn them off with {TURN_OFF}; a "
            f"restarted job then reads its data again from the start.")
    log.info("input %r: saved by tf.data's own iterator checkpoints (%s)", provider.name, reason)
    return ds


def why_tf_data_cannot_save(ds) -> Optional[str]:
    """None when tf.data can checkpoint iterators of `ds` (TFDS, cached TFRecords: no Python in the
    pipeline), else TensorFlow's reason. The dataset's graph is serialized as SerializeIterator serializes
    it, refusing external state; a fresh iterator would not do (it saves before its inputs are opened)."""
    import tensorflow as tf

    try:
        ds._as_serialized_graph(  # pylint: disable=protected-access
            external_state_policy=tf.data.experimental.ExternalStatePolicy.FAIL)
    except (tf.errors.FailedPreconditionError, tf.errors.UnimplementedError) as err:
        return err.message.strip().splitlines()[0]
    return None


def _tasks_and_rates(provider, split: str):
    """The leaf tasks with the split and their rates, as the mixture draws them (a task: itself, rate 1)."""
    if isinstance(provider, seqio.Mixture):
        tasks = [t for t in provider.tasks if split in t.splits]
        missing = [t.name for t in provider.tasks if split not in t.splits]
        if missing:
            log.warning("mixture %r: %d tasks have no %r split and are skipped (first: %s)", provider.name,
                        len(missing), split, missing[0])
        rates = provider._get_all_mixing_rates(tasks)  # pylint: disable=protected-access
        return tasks, rates
    return [provider], [1.0]
