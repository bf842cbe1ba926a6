"""Preflight: can every task of a mixture read its data, render it and tokenize it, before a pod job starts?

For each task, the split that training (or, for `*_eval` names, evaluation) reads is located in the
configured source (settings.py), each of its files is checked to be whole at its end (sources/files.py
`verify_end`: a Parquet footer, a JSONL file's last line, a gzip file up to 64 MB read to its CRC; once per
file however many tasks read it), and its first records are read, rendered (or taken as they are) and
tokenized with the package vocabulary, several tasks at a time. A task fails when its split is missing, a
file is damaged, a column is missing, or none of the first records gives an example.

`full=True` reads every record of the split instead, in every file (slow on real data; once after a
download), and counts them: a file damaged anywhere (a cut gzip file, a Parquet page that does not decode
or fails its checksum, bytes that are not UTF-8) fails the task, and so does any record that is not a JSON
object (a line cut or garbled inside a file), which a job would skip and count: --full is run to find damage.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import itertools
import time
from typing import Any, Callable, Iterable, List, Optional, Tuple

from multilingual_t0.errors import DataNotFoundError
from multilingual_t0.pipeline import vocab
from multilingual_t0.pipeline.examples import default_split
from multilingual_t0.pipeline.streamed_source import StreamedSource
from multilingual_t0.prompting.renderer import RENDER_STATS
from multilingual_t0.registry.lookup import leaf_tasks
from multilingual_t0.sources import fileio
from multilingual_t0.sources.files import InvalidRecord, verify_end

DEFAULT_EXAMPLES = 3
RECORDS_PER_EXAMPLE = 20  # records read at most per example wanted (templates that apply to few records)
DEFAULT_WORKERS = 8  # tasks checked at a time (reading from a bucket or the Hub waits on the network)
EVAL_SUFFIX = "_eval"


class BadRecordsFound(ValueError):
    """A full check read records that are not JSON objects (damaged lines in a file)."""


@dataclasses.dataclass
class TaskCheck:
    """What checking one task found."""

    task: str
    split: str
    ok: bool = False
    examples: int = 0
    records: int = 0
    origin: str = ""  # the file(s) or Hub id read; for a missing split, what was tried
    error: str = ""  # first line of the error, empty when ok
    detail: str = ""  # the whole message
    unverified: int = 0  # files too large to verify at their end (read them with full=True)
    bad_records: int = 0  # records read that are not JSON objects (a job skips and counts them)
    first_bad: str = ""  # where the first of them is (file:line or file@byte) and why
    seconds: float = 0.0


def check_split(name: str, task) -> str:
    """The split a job reads: `validation` for evaluation names (`..._eval`) when the task has one, else
    the task's training split."""
    if name.endswith(EVAL_SUFFIX) and "validation" in task.splits:
        return "validation"
    return default_split(task, None)


def check_task(task, split: str, num_examples: int = DEFAULT_EXAMPLES, full: bool = False) -> TaskCheck:
    """Locate, verify, read, render and tokenize the first `num_examples` examples of one task's split
    (with `full`, read every record of it)."""
    result = TaskCheck(task.name, split)
    start = time.perf_counter()
    try:
        examples = _first_examples(task, split, num_examples, result, full)
        vocabulary = vocab.get_vocabulary()
        for example in examples:
            for key in ("inputs", "targets", "text"):
                if isinstance(example.get(key), str):
                    vocabulary.encode(example[key])
        result.examples = len(examples)
        if full and result.bad_records:
            raise BadRecordsFound(f"{result.bad_records:,} of {result.records:,} records read "
                                  f"{'is' if result.bad_records == 1 else 'are'} not a JSON object; the first: "
                                  f"{result.first_bad}. A job would skip and count them. Fix: replace the file "
                                  f"(download it again) or remove the damaged lines.")
        if not examples:
            stats = RENDER_STATS.get((task.name, split))
            why = f" ({stats.summary()})" if stats is not None and stats.num_errors else ""
            raise ValueError(f"none of the first {result.records} records of {result.origin} gives an "
                             f"example{why}")
        result.ok = True
    except Exception as err:  # every failure is a finding to report, not a crash of the check
        result.detail = str(err)
        result.error = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        if isinstance(err, DataNotFoundError) and not result.origin:
            result.origin = "; ".join(err.tried[:2])
    result.seconds = time.perf_counter() - start
    return result


@functools.lru_cache(maxsize=None)
def _verified(path: str, size: int) -> bool:
    del size  # part of the key: a rewritten file is verified again
    return verify_end(path)


def _first_examples(task, split: str, num_examples: int, result: TaskCheck, full: bool) -> List[dict]:
    source = task.source
    if isinstance(source, StreamedSource):
        located = source.locate(split)
        result.origin = located.origin
        if not full:
            result.unverified = sum(not _verified(path, fileio.size(path)) for path in located.files)
        limit = None if full else num_examples * RECORDS_PER_EXAMPLE
        examples = source.examples(located, split, _counting(located.records(), limit, result))
        if full:  # every record read (damaged files raise), the first ones kept
            kept = list(itertools.islice(examples, num_examples))
            for _ in examples:
                pass
            return kept
        return list(itertools.islice(examples, num_examples))
    # A seqio task of another package in the mixture: its first examples through its own tf.data pipeline,
    # also with `full` (which reads the data the package reads itself: files and Hub streams).
    result.origin = repr(source)
    ds = source.get_dataset(split=split, shuffle=False)
    return [{k: v.decode("utf-8") if isinstance(v, bytes) else v for k, v in ex.items()}
            for ex in itertools.islice(ds.as_numpy_iterator(), num_examples)]


def _counting(records: Iterable[Tuple[int, Any]], limit: Optional[int], result: TaskCheck):
    """The (index, record) pairs, counted into `result` (records, and those not JSON objects) as read."""
    for index, record in itertools.islice(records, limit):
        result.records += 1
        if isinstance(record, InvalidRecord):
            result.bad_records += 1
            if not result.first_bad:
                result.first_bad = f"{record.where}: {record.error}"
        yield index, record


def check(name: str, split: Optional[str] = None, num_examples: int = DEFAULT_EXAMPLES,
          workers: int = DEFAULT_WORKERS, on_task: Optional[Callable[[TaskCheck], None]] = None,
          full: bool = False) -> List[TaskCheck]:
    """Checks every task of a mixture (or the one task) `name`; results in the mixture's task order."""
    tasks = leaf_tasks(name)
    for task in tasks:
        if split is not None and split not in task.splits:
            raise ValueError(f"task {task.name!r} has no split {split!r}; it has: {', '.join(task.splits)}")

    def one(task) -> TaskCheck:
        result = check_task(task, split or check_split(name, task), num_examples, full)
        if on_task:
            on_task(result)
        return result

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(one, tasks))
