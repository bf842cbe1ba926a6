"""mT5 LM adaptation: one seqio task per mC4 split with the T5 paper's prefix-LM objective, and mixtures.

Registered by `register()` (called from tasks.py):
* `mt5_lm_adapt.<lang>` for each of the 107 mC4 splits in data/mc4_languages.csv (`-` -> `_`:
  `mt5_lm_adapt.zh_Latn`); splits train / validation;
* `mt5_lm_adapt`: all 107, rate p(L) ∝ pages(L)^0.3 as mT5 (from the shipped page counts, so no
  data is read to register). `register_mixture()` builds one for another α or a subset of languages.

Documents come from MT0_DATA_SOURCE (mc4.py): samples, the mirror, or TFDS `c4/multilingual:<version>`
(`$MT0_MC4_VERSION`, default 3.1.0) read from T5X's `--tfds_data_dir` / `$TFDS_DATA_DIR`.
The choice is made when a dataset is built, not at registration.
"""

from __future__ import annotations

import functools
import math
import os
from typing import Dict, Mapping, Optional, Sequence

import seqio
import tensorflow as tf
from t5.data import preprocessors as t5_preprocessors

from multilingual_t0 import job_settings, mc4, vocab
from multilingual_t0.errors import DataNotFoundError
from multilingual_t0.sources import resolve_seed, source_kind
from multilingual_t0.streamed_mixture import add_mixture

TASK_PREFIX = "mt5_lm_adapt"
MIXTURE_NAME = "mt5_lm_adapt"
# mT0's plan for the +100K LM-adaptation steps; a run's TASK_FEATURE_LENGTHS decides.
FEATURE_LENGTHS = {"inputs": 1024, "targets": 256}


def task_name(code: str) -> str:
    return f"{TASK_PREFIX}.{mc4.get_language(code).task_suffix}"


def output_features() -> Dict[str, seqio.Feature]:
    """EOS ends the inputs AND the targets, as in mT5's own pretraining tasks (unlike the prompted
    tasks, whose inputs carry no EOS): this continues mT5's pretraining, so the encoder keeps seeing
    the input format it was pretrained on. t5's split step leaves a token of room for each EOS."""
    v = vocab.get_vocabulary()
    return {"inputs": seqio.Feature(v, add_eos=True, required=False, dtype=tf.int32),
            "targets": seqio.Feature(v, add_eos=True, dtype=tf.int32)}


def prefix_lm_objective(dataset: tf.data.Dataset, sequence_length: Mapping[str, int],
                        output_features: Mapping[str, seqio.Feature]) -> tf.data.Dataset:
    """t5's `prefix_lm` unchanged: a random chunk (≤ 65,536 tokens) of each tokenized document, cut into
    segments of the inputs length (less one for EOS), each split at a point uniform in [1, L-1]:
    prefix -> inputs, suffix -> targets (trimmed later to the targets length). A segment of one token
    (a document's last) would get empty inputs; those examples are dropped."""
    dataset = t5_preprocessors.prefix_lm(dataset, sequence_length, output_features)
    return dataset.filter(lambda x: tf.size(x["inputs"]) > 0)


def preprocessors():
    # No CacheDatasetPlaceholder: mC4 is ~10 TB, so it is tokenized on the fly; T5X then runs these
    # tasks even with USE_CACHED_TASKS left True (seqio warns and falls back).
    return [
        functools.partial(seqio.preprocessors.rekey, key_map={"targets": mc4.TEXT_FIELD}),
        functools.partial(seqio.preprocessors.tokenize, copy_pretokenized=False),
        prefix_lm_objective,
        seqio.preprocessors.append_eos_after_trim,
    ]


class Mc4DataSource(seqio.DataSource):
    """Documents {'text'} of one mC4 language, from the source MT0_DATA_SOURCE names at build time."""

    def __init__(self, code: str):
        self.language = mc4.get_language(code)
        self._tfds_sources: Dict[str, seqio.TfdsDataSource] = {}
        super().__init__(splits=mc4.SPLITS, num_input_examples=None, caching_permitted=True)

    def _tfds(self, version: str) -> seqio.TfdsDataSource:
        if version not in self._tfds_sources:
            # tfds_data_dir stays None: seqio's override (T5X --tfds_data_dir) or $TFDS_DATA_DIR applies.
            # read_only: a missing mC4 is an error, never a download_and_prepare of Common Crawl.
            self._tfds_sources[version] = seqio.TfdsDataSource(
                tfds_name=f"{mc4.TFDS_NAME}:{version}",
                splits={s: self.language.tfds_split(s) for s in mc4.SPLITS}, read_only=True)
        return self._tfds_sources[version]

    @property
    def _uses_tfds(self) -> bool:
        return source_kind() == "hub"

    @property
    def supports_arbitrary_sharding(self) -> bool:
        return not self._uses_tfds

    def list_shards(self, split: str) -> Sequence[str]:
        return self._tfds(mc4.tfds_version()).list_shards(split) if self._uses_tfds else [split]

    def get_dataset(self, split: str = "train", shuffle: bool = True, seed: Optional[int] = None,
                    shard_info: Optional[seqio.ShardInfo] = None, *, sequence_length=None,
                    use_cached: bool = False, num_epochs: Optional[int] = 1) -> tf.data.Dataset:
        del sequence_length, use_cached, num_epochs  # the Task repeats and shuffles
        mc4.check_split(split)
        kind = source_kind()
        if kind == "hub":
            return self._tfds_dataset(split, shuffle, seed, shard_info)
        job_settings.check()
        documents = mc4.locate(self.language.code, split, kind)  # raises here, not inside tf.data
        index, count = (shard_info.index, shard_info.num_shards) if shard_info else (0, 1)
        if kind == "samples":  # a few KB: held in memory, so tiny epochs repeat cheaply
            texts = list(documents.texts(shard_index=index, num_shards=count))
            return tf.data.Dataset.from_tensor_slices({mc4.TEXT_FIELD: tf.constant(texts, tf.string)})
        # This host's files (or records), in a seeded order reshuffled each epoch when shuffle is set.
        order = dict(shuffle=shuffle, seed=resolve_seed(seed) if shuffle else seed, shard_index=index,
                     num_shards=count)
        epoch = [0]

        def generate():
            epoch[0] += 1
            for text in documents.texts(**order, epoch=epoch[0] - 1):
                yield {mc4.TEXT_FIELD: text}

        return tf.data.Dataset.from_generator(
            generate, output_signature={mc4.TEXT_FIELD: tf.TensorSpec((), tf.string)})

    def _tfds_dataset(self, split, shuffle, seed, shard_info) -> tf.data.Dataset:
        version = mc4.tfds_version()
        source = self._tfds(version)
        try:
            return source.get_dataset(split=split, shuffle=shuffle, seed=seed, shard_info=shard_info)
        except Exception as err:  # tfds raises many types for "not prepared / not reachable"
            data_dir = seqio.utils._TFDS_DATA_DIR_OVERRIDE or os.environ.get("TFDS_DATA_DIR")  # noqa
            raise DataNotFoundError(
                f"mC4 language {self.language.code!r} split {split!r} (TFDS)",
                [f"{mc4.TFDS_NAME}:{version} split {self.language.tfds_split(split)!r} in "
                 f"{data_dir or '~/tensorflow_datasets (no --tfds_data_dir, no $TFDS_DATA_DIR)'}: "
                 f"{type(err).__name__}: {err}"],
                "point T5X --tfds_data_dir (or $TFDS_DATA_DIR) at a prepared c4/multilingual, e.g. "
                f"gs://<bucket>/tensorflow_datasets; {mc4.TFDS_VERSION_ENV} picks the version; or use "
                "MT0_DATA_SOURCE=mirror",
            ) from err

    def __repr__(self) -> str:
        return f"Mc4DataSource({self.language.code!r})"


def mixture_rates(languages: Optional[Sequence[str]] = None,
                  alpha: float = mc4.DEFAULT_ALPHA) -> Dict[str, float]:
    """task name -> normalised rate (sums to 1)."""
    return {task_name(code): rate for code, rate in mc4.sampling_rates(languages, alpha).items()}


def _add_tasks() -> None:
    features = output_features()
    registered = set(seqio.TaskRegistry.names())
    for lang in mc4.load_languages():
        name = task_name(lang.code)
        if name not in registered:
            seqio.TaskRegistry.add(name, Mc4DataSource(lang.code), output_features=features,
                                   preprocessors=preprocessors(), metric_fns=[])


def register_mixture(name: str, languages: Optional[Sequence[str]] = None,
                     alpha: float = mc4.DEFAULT_ALPHA) -> seqio.Mixture:
    """Registers (once) and returns the mixture of `languages` (default all) at p(L) ∝ pages^α.
    Registering the same name again with other rates is an error."""
    _add_tasks()
    rates = mixture_rates(languages, alpha)
    if name in seqio.MixtureRegistry.names():
        existing = seqio.get_mixture_or_task(name)
        old = {t.name: existing.get_rate(t) for t in existing.tasks}
        if set(old) != set(rates) or any(not math.isclose(old[t], r) for t, r in rates.items()):
            raise ValueError(f"Mixture {name!r} is already registered with other tasks or rates; "
                             "pick another name.")
        return existing
    return add_mixture(name, list(rates.items()))


def register() -> None:
    """Registers the 107 tasks and `mt5_lm_adapt` (idempotent)."""
    register_mixture(MIXTURE_NAME)
