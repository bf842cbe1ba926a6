"""A seqio DataSource over records that already hold the model's text: xP3 and the user's own files.

Nothing is rendered: each record's `inputs` and `targets` fields (names configurable) become the example.
A record that is not a JSON object, lacks a field, holds a non-string, or has an empty target is skipped
and counted in `prompts.RENDER_STATS[(task, split)]`, as the prompted tasks count theirs (`MT0_STRICT=1`
raises `BadRecordError` instead). The split is located when `get_dataset` is called (a missing split is a
`DataNotFoundError` there, not an error inside tf.data); records are then streamed.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any, Callable, Dict, Iterable, Iterator, Mapping, Optional, Sequence, Tuple

import seqio
import tensorflow as tf

from multilingual_t0.errors import BadRecordError
from multilingual_t0.prompts import RENDER_STATS, STRICT_ENV, RenderStats, strict_default
from multilingual_t0 import job_settings
from multilingual_t0.datasource import StreamedSource
from multilingual_t0.sources import InvalidRecord, read_files, read_split

log = logging.getLogger(__name__)

# Why a record was skipped (RenderStats.errors keys).
INVALID_RECORD = "invalid_record"
MISSING_FIELD = "missing_field"
NOT_A_STRING = "not_a_string"
EMPTY_TARGET = "empty_target"
# How many records `check_fields` reads before deciding a column is missing from a file.
PEEK_RECORDS = 20


class MissingColumnError(KeyError):
    """Files whose records lack a field the task reads; names the file, the field and the fields it has."""

    def __str__(self) -> str:  # KeyError's str() would quote the message
        return self.args[0]


def example_or_reason(record: Any, inputs_field: str, targets_field: str
                      ) -> Tuple[Optional[Dict[str, str]], Optional[str], str]:
    """({'inputs', 'targets'}, None, '') or (None, reason, detail) for one raw record."""
    if isinstance(record, InvalidRecord):
        return None, INVALID_RECORD, f"{record.error} at {record.where}"
    values = {}
    for key, field in (("inputs", inputs_field), ("targets", targets_field)):
        if field not in record:
            return None, MISSING_FIELD, f"no field {field!r} (fields: {', '.join(sorted(map(str, record)))})"
        if not isinstance(record[field], str):
            return None, NOT_A_STRING, f"field {field!r} is {type(record[field]).__name__}, not a string"
        values[key] = record[field]
    if not values["targets"].strip():
        return None, EMPTY_TARGET, f"field {targets_field!r} is empty"
    return values, None, ""


def check_fields(files: Sequence[str], fields: Iterable[str], what: str) -> None:
    """Raises MissingColumnError when no record among the first few of `files[0]` has every field.

    A wrong column name would otherwise skip every record (counted, but an empty task); this catches it
    when a task is added or a split located, reading a handful of records."""
    fields = list(fields)
    first_keys = None
    for record in itertools.islice(read_files(files[:1]), PEEK_RECORDS):
        if isinstance(record, InvalidRecord):
            continue
        if all(f in record for f in fields):
            return
        first_keys = first_keys or sorted(map(str, record))
    if first_keys is None:
        return  # an empty or undecodable file: the records are counted when read
    missing = [f for f in fields if f not in first_keys]
    raise MissingColumnError(
        f"{what}: {files[0]} has no column {', '.join(map(repr, missing))}; its records have: "
        f"{', '.join(first_keys)}. Pass inputs_field=/targets_field= naming the columns that hold the "
        "model's input and target text.")


class Located:
    """One split found in files or a stream: `origin` for messages, `records()` reads it (again).

    Given its `files`, a split is read as every other split of the package is (sources.read_split): a
    host's shard by file when there are enough files, seeded shuffled order when asked. A stream (the Hub)
    is read in its order, records modulo the number of hosts."""

    def __init__(self, origin: str, records: Callable[[], Iterator[Any]], files: Sequence[str] = ()):
        self.origin = origin
        self.records = records
        self.files = tuple(files)

    def indexed(self, shard_index: int = 0, num_shards: int = 1, *, shuffle: bool = False,
                seed: Optional[int] = None, epoch: int = 0) -> Iterator[Tuple[int, Any]]:
        """(index in the split, raw record) of this host's shard, in file or seeded shuffled order."""
        if self.files:
            return read_split(self.files, shuffle=shuffle, seed=seed, shard_index=shard_index,
                              num_shards=num_shards, epoch=epoch)
        return ((i, r) for i, r in enumerate(self.records()) if i % num_shards == shard_index)


class RecordsDataSource(StreamedSource):
    """{inputs, targets} strings read from records; `locate(split) -> Located` finds the data."""

    def __init__(self, task: str, splits: Sequence[str], locate: Callable[[str], Located],
                 inputs_field: str = "inputs", targets_field: str = "targets",
                 num_input_examples: Optional[Mapping[str, int]] = None, strict: Optional[bool] = None,
                 tokenize_features=None):
        super().__init__(splits=tuple(splits), num_input_examples=num_input_examples, caching_permitted=True)
        self.task = task
        self.locate = locate
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

    def iter_examples(self, split: str, shard_index: int = 0, num_shards: int = 1, *, shuffle: bool = False,
                      seed: Optional[int] = None, epoch: int = 0) -> Iterator[Dict[str, str]]:
        """Python iterator over this host's examples (no TensorFlow); file order unless `shuffle`."""
        self._check_split(split)
        job_settings.check()  # a worker whose MT0_* settings differ from the launcher's stops here
        located = self.locate(split)  # raises here when the split is missing
        order = dict(shuffle=shuffle, seed=seed, epoch=epoch)
        return self._examples(located, split, located.indexed(shard_index, num_shards, **order))

    def _examples(self, located: Located, split: str, records: Iterator[Tuple[int, Any]]
                  ) -> Iterator[Dict[str, str]]:
        strict = strict_default() if self.strict is None else self.strict
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
