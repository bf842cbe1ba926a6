"""Export prompted tasks to files for trainers outside T5X (PyTorch / HF).

One file per task (`<task>.<split>.jsonl` or `.parquet`) plus `manifest.json` (counts, rates, shares,
source). Deterministic: the same data and settings give byte-identical files. Resumable: a task whose
file is complete is skipped; an interrupted JSONL file (`.partial`) is continued after its last whole
line, so nothing is duplicated (in a bucket, which has no appends: after its last committed part of
PART_LINES lines); an interrupted Parquet file is redone. A rerun with other settings (name, format,
split, max examples, source) into the same directory is refused. `out_dir` may be a gs:// prefix (fileio).
"""

from __future__ import annotations

import itertools
import json
import shutil
from typing import Callable, Dict, Iterable, Optional

from multilingual_t0 import settings
from multilingual_t0.pipeline.examples import default_split, iter_text
from multilingual_t0.registry.lookup import leaf_tasks_with_rates
from multilingual_t0.sources import fileio

MANIFEST = "manifest.json"
FORMATS = ("jsonl", "parquet")
# In a bucket (no appends) a JSONL export is written as committed parts of this many lines, so an
# interrupted export resumes after its last whole part; the parts are joined when the task is done.
PART_LINES = 10_000


def _read_manifest(out_dir: str) -> Dict:
    path = fileio.join(out_dir, MANIFEST)
    if fileio.exists(path):
        return json.loads(fileio.read_text(path))
    return {"tasks": {}}


def _write_manifest(out_dir: str, manifest: Dict) -> None:
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    fileio.write_text(fileio.join(out_dir, MANIFEST), text)


def _complete_lines(path: str) -> int:
    """Whole lines in a partial JSONL file; a torn last line is cut off."""
    with fileio.open(path, "rb+") as f:
        data = f.read()
        keep = data.rfind(b"\n") + 1
        f.truncate(keep)
    return data[:keep].count(b"\n")


def _jsonl_line(example: Dict) -> str:
    return json.dumps(example, ensure_ascii=False, sort_keys=True) + "\n"


def write_jsonl(path: str, examples: Iterable[Dict], limit: Optional[int]) -> int:
    if fileio.is_remote(path):
        return _write_jsonl_parts(path, examples, limit)
    partial = path + ".partial"
    done = _complete_lines(partial) if fileio.exists(partial) else 0
    count = done
    with fileio.open(partial, "a") as f:
        # Deterministic order: skip what the interrupted run already wrote.
        for example in itertools.islice(examples, done, limit):
            f.write(_jsonl_line(example))
            count += 1
    fileio.rename(partial, path)
    return count


def _part_path(path: str, index: int) -> str:
    return f"{path}.partial-{index:05d}"


def _write_jsonl_parts(path: str, examples: Iterable[Dict], limit: Optional[int]) -> int:
    """JSONL into a bucket: parts `<path>.partial-NNNNN` (each complete once it exists), then joined."""
    parts = fileio.glob(fileio.escape(path) + ".partial-*")
    done = 0
    for part in parts:
        with fileio.open(part, "rb") as f:
            done += sum(1 for _ in f)
    remaining = itertools.islice(examples, done, limit)
    while True:
        chunk = list(itertools.islice(remaining, PART_LINES))
        if not chunk:
            break
        part = _part_path(path, len(parts))
        with fileio.open(part, "w") as f:
            f.writelines(_jsonl_line(e) for e in chunk)
        parts.append(part)
        done += len(chunk)
    with fileio.open(path, "wb") as out:
        for part in parts:
            with fileio.open(part, "rb") as f:
                shutil.copyfileobj(f, out, 1024 * 1024)
    for part in parts:
        fileio.remove(part)
    return done


def write_parquet(path: str, examples: Iterable[Dict], limit: Optional[int], batch_size: int = 1000) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    partial = path + ".partial"
    writer, count, batch = None, 0, []
    with fileio.open(partial, "wb") as sink:

        def flush():
            nonlocal writer
            table = pa.Table.from_pylist(batch)
            writer = writer or pq.ParquetWriter(sink, table.schema)
            writer.write_table(table)
            batch.clear()

        try:
            for example in itertools.islice(examples, limit):
                batch.append(example)
                count += 1
                if len(batch) >= batch_size:
                    flush()
            if batch:
                flush()
        finally:
            if writer is not None:
                writer.close()
        if writer is None:  # no examples: still a file, with the text columns
            empty = pa.array([], pa.string())
            pq.write_table(pa.table({"inputs": empty, "targets": empty}), sink)
    fileio.rename(partial, path)
    return count


def _check_same_settings(out_dir: str, manifest: Dict, settings: Dict) -> None:
    """Resuming is only sound with the settings that wrote the files already there: refuse otherwise,
    rather than keep old files under a manifest that claims new settings."""
    if not manifest["tasks"]:
        return
    changed = [f"{key}={manifest.get(key)!r} before, {value!r} now" for key, value in settings.items()
               if manifest.get(key) != value]
    if changed:
        raise ValueError(
            f"{out_dir} holds an export made with other settings ({'; '.join(changed)}). "
            f"Export to a new --out directory, or delete {out_dir} to redo it.")


def export(name: str, out_dir: str, split: Optional[str] = None, fmt: str = "jsonl",
           max_examples: Optional[int] = None,
           on_task: Optional[Callable[[str, int], None]] = None) -> Dict:
    """Exports every task of `name` (a task or mixture); returns the manifest."""
    if fmt not in FORMATS:
        raise ValueError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    fileio.makedirs(out_dir)
    manifest = _read_manifest(out_dir)
    run = {"name": name, "format": fmt, "split": split, "max_examples": max_examples,
           "source": settings.current().resolved_source()}
    _check_same_settings(out_dir, manifest, run)
    manifest.update(run)
    for task, rate, share in leaf_tasks_with_rates(name):
        task_split = default_split(task, split)
        filename = f"{task.name}.{task_split}.{fmt}"
        path = fileio.join(out_dir, filename)
        entry = manifest["tasks"].get(task.name)
        if entry and entry.get("file") == filename and fileio.exists(path):
            continue  # finished in an earlier run
        writer = write_jsonl if fmt == "jsonl" else write_parquet
        count = writer(path, iter_text(task, task_split), max_examples)
        manifest["tasks"][task.name] = {"file": filename, "split": task_split, "examples": count,
                                        "rate": rate, "share": share}
        _write_manifest(out_dir, manifest)
        if on_task:
            on_task(task.name, count)
    _write_manifest(out_dir, manifest)
    return manifest
