"""A seqio DataSource over records that already hold the model's text: xP3 and the user's own files.

Nothing is rendered: each record's `inputs` and `targets` fields (names configurable) become the example
(prompting/records.py). A record that is not a JSON object, lacks a field, holds a non-string, or has an
empty target is skipped and counted in `renderer.RENDER_STATS[(task, split)]`, as the prompted tasks count
theirs (`MT0_STRICT=1` raises `BadRecordError` instead). The split is located when `get_dataset` is called (a missing split is a
`DataNotFoundError` there, not an error inside tf.data); records are then streamed.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Iterable, Iterator, Mapping, Optional, Sequence, Tuple

import seqio
import tensorflow as tf

from multilingual_t0 import settings
from multilingual_t0.errors import BadRecordError
from multilingual_t0.pipeline.streamed_source import ExampleContext, StreamedSource
from multilingual_t0.prompting.records import example_or_reason
from multilingual_t0.prompting.renderer import RENDER_STATS, STRICT_ENV, RenderStats
from multilingual_t0.sources.located import LocatedSplit

log = logging.getLogger(__name__)


class RecordsDataSource(StreamedSource):
    """{inputs, targets} strings read from records; `locator(split) -> LocatedSplit` finds the data."""

    def __init__(self, task: str, splits: Sequence[str], locator: Callable[[str], LocatedSplit],
                 inputs_field: str = "inputs", targets_field: str = "targets",
                 num_input_examples: Optional[Mapping[str, int]] = None, strict: Optional[bool] = None,
                 tokenize_features=None):
        super().__init__(splits=tuple(splits), num_input_examples=num_input_examples, caching_permitted=True)
        self.task = task
        self.locator = locator
        self.inputs_field = inputs_field
        self.targets_field = targets_field
        self.strict = strict
        # The task's output features (its chain starts with preprocessors.tokenize): tokenized per batch.
        self.tokenize_features = tokenize_features

    @property
    def output_signature(self) -> Dict[str, tf.TensorSpec]:
        return {"inputs": tf.TensorSpec((), tf.string), "targets": tf.TensorSpec((), tf.string)}

    def _check_split(self, split: str) -> None:
        if split not in self.splits:
            raise ValueError(f"task {self.task!r} has no split {split!r}; it has: {', '.join(self.splits)}.")

    def locate(self, split: str) -> LocatedSplit:
        self._check_split(split)
        return self.locator(split)

    def examples(self, located: LocatedSplit, split: str, records: Iterable[Tuple[int, Any]],
                 context: ExampleContext = ExampleContext()) -> Iterator[Dict[str, str]]:
        """The records' text fields (bad records skipped and counted in RENDER_STATS, or raised if strict)."""
        strict = settings.current().strict if self.strict is None else self.strict
        stats = RenderStats(self.task, split)
        RENDER_STATS[(self.task, split)] = stats
        for index, record in records:
            stats.records += 1
            example, reason, detail = example_or_reason(record, self.inputs_field, self.targets_field)
            if example is not None:
                stats.rendered += 1
                yield example
                continue
            message = f"task {self.task!r} split {split!r}: record {index} of {located.origin}: {detail}"
            if strict:
                raise BadRecordError(f"{message} (unset {STRICT_ENV} to skip and count such records)")
            if reason not in stats.errors:
                stats.first_error[reason] = (index, detail)
                log.warning("%s; skipping such records (counted; %s=1 raises)", message, STRICT_ENV)
            stats.errors[reason] += 1
        if stats.num_errors:
            log.warning("%s", stats.summary())

    def get_dataset(self, split: str = "train", shuffle: bool = True, seed: Optional[int] = None,
                    shard_info: Optional[seqio.ShardInfo] = None, *, sequence_length=None,
                    use_cached: bool = False, num_epochs: Optional[int] = 1) -> tf.data.Dataset:
        del sequence_length, use_cached, num_epochs  # the Task repeats (re-running the generator)
        self._check_split(split)
        return self._streamed(split, shuffle, seed, shard_info)

    def __repr__(self) -> str:
        return f"RecordsDataSource({self.task!r}, splits={self.splits})"
