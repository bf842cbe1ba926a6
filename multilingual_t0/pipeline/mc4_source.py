"""mC4 for seqio: one language's documents as a StreamedSource, and the T5 paper's prefix-LM objective.

Documents come from where MT0_DATA_SOURCE points, as every other family's records (sources/layouts.py's
`mc4_split`: the mirror, the embedded samples, the Hub's `allenai/c4`), or from TFDS `c4/multilingual`
(`tfds`, and `auto` without a mirror), read through seqio's TfdsDataSource from T5X's `--tfds_data_dir` /
`$TFDS_DATA_DIR` at version MT0_MC4_VERSION. The choice is made when a dataset is built.
"""

from __future__ import annotations

import functools
import os
from typing import Any, Dict, Iterable, Iterator, Mapping, Optional, Sequence, Tuple

import seqio
import tensorflow as tf
from t5.data import preprocessors as t5_preprocessors

from multilingual_t0 import settings
from multilingual_t0.catalog import mc4
from multilingual_t0.errors import DataNotFoundError
from multilingual_t0.pipeline import vocab
from multilingual_t0.pipeline.streamed_source import StreamedSource
from multilingual_t0.sources.layouts import mc4_split, mc4_texts
from multilingual_t0.sources.located import LocatedSplit, locate, source_kind


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


class Mc4DataSource(StreamedSource):
    """Documents {'text'} of one mC4 language, from the source MT0_DATA_SOURCE names at build time."""

    def __init__(self, code: str):
        self.language = mc4.get_language(code)
        self._tfds_sources: Dict[str, seqio.TfdsDataSource] = {}
        super().__init__(splits=mc4.SPLITS, num_input_examples=None, caching_permitted=True)

    @property
    def output_signature(self) -> Dict[str, tf.TensorSpec]:
        return {mc4.TEXT_FIELD: tf.TensorSpec((), tf.string)}

    def _tfds(self, version: str) -> seqio.TfdsDataSource:
        if version not in self._tfds_sources:
            # tfds_data_dir stays None: seqio's override (T5X --tfds_data_dir) or $TFDS_DATA_DIR applies.
            # read_only: a missing mC4 is an error, never a download_and_prepare of Common Crawl.
            self._tfds_sources[version] = seqio.TfdsDataSource(
                tfds_name=f"{mc4.TFDS_NAME}:{version}",
                splits={s: self.language.tfds_split(s) for s in mc4.SPLITS}, read_only=True)
        return self._tfds_sources[version]

    def _kind(self, split: str = "train") -> str:
        return source_kind(mc4_split(self.language.code, split))

    def streams(self, split: str) -> bool:
        return self._kind(split) != "tfds"

    @property
    def supports_arbitrary_sharding(self) -> bool:
        return self._kind() != "tfds"

    def list_shards(self, split: str) -> Sequence[str]:
        if self._kind(split) == "tfds":
            return self._tfds(settings.current().mc4_version).list_shards(split)
        return [split]

    def locate(self, split: str) -> LocatedSplit:
        return locate(mc4_split(self.language.code, split))

    def examples(self, located: LocatedSplit, split: str, records: Iterable[Tuple[int, Any]]
                 ) -> Iterator[Dict[str, str]]:
        """Documents {'text'}: records without a non-empty text are skipped and counted."""
        return ({mc4.TEXT_FIELD: text} for text in mc4_texts(records, located.origin))

    def get_dataset(self, split: str = "train", shuffle: bool = True, seed: Optional[int] = None,
                    shard_info: Optional[seqio.ShardInfo] = None, *, sequence_length=None,
                    use_cached: bool = False, num_epochs: Optional[int] = 1) -> tf.data.Dataset:
        del sequence_length, use_cached, num_epochs  # the Task repeats and shuffles
        mc4.check_split(split)
        if self._kind(split) == "tfds":
            return self._tfds_dataset(split, shuffle, seed, shard_info)
        return self._streamed(split, shuffle, seed, shard_info)

    def _tfds_dataset(self, split, shuffle, seed, shard_info) -> tf.data.Dataset:
        version = settings.current().mc4_version
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
                "gs://<bucket>/tensorflow_datasets; MT0_MC4_VERSION picks the version; or use "
                "MT0_DATA_SOURCE=mirror",
            ) from err

    def __repr__(self) -> str:
        return f"Mc4DataSource({self.language.code!r})"
