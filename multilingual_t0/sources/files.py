"""Data files: finding a split's files, and reading JSON lines and Parquet as streams of records.

Every reader streams (memory does not grow with a file's size) and goes through fileio, so a gs:// path
works wherever a local one does. A damaged file (truncated gzip or Parquet, a Parquet page that does not
decode or fails its CRC when it was written with one, bytes that are not UTF-8) raises DamagedFileError
naming it; a corrupt JSON line becomes an InvalidRecord, counted by the caller.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import io
import json
import re
import struct
import zlib
from typing import Any, Dict, Iterator, List, Sequence, Tuple

from multilingual_t0.errors import DamagedFileError
from multilingual_t0.sources import fileio

FILE_EXTENSIONS = (".jsonl", ".jsonl.gz", ".parquet")
# TFDS's TFRecord shards: `<dataset>-<split>.tfrecord-00000-of-00064` (tf.train.Example records).
_TFRECORD_NAME = re.compile(r"\.tfrecord(-\d+-of-\d+)?$")
COUNTS_SUFFIX = ".counts.json"  # beside shards: records per shard file (written by `mt0 download`)
Record = Dict[str, Any]


@dataclasses.dataclass(frozen=True)
class InvalidRecord:
    """A record that could not be decoded (e.g. a corrupt JSON line); counted, never fatal."""

    where: str
    error: str


def find_files(base: str) -> Tuple[List[str], List[str]]:
    """(files found, paths and patterns tried) for `<base>.<ext>`, else shards `<base>-*.<ext>`."""
    tried = []
    for ext in FILE_EXTENSIONS:
        tried.append(base + ext)
        if fileio.isfile(base + ext):
            return [base + ext], tried
    for ext in FILE_EXTENSIONS:
        pattern = f"{fileio.escape(base)}-*{ext}"
        tried.append(f"{base}-*{ext}")
        shards = fileio.glob(pattern)
        if shards:
            return shards, tried
    return [], tried


# Read errors that mean the bytes on disk are not a whole, valid file (truncated download, bit rot).
_DAMAGE = (EOFError, gzip.BadGzipFile, zlib.error, UnicodeDecodeError)


def _damaged(path: str, records: int, err: BaseException) -> DamagedFileError:
    return DamagedFileError(path, records, f"{type(err).__name__}: {err}")


def glob_files(pattern: str) -> List[str]:
    """Files (not directories) matching a glob pattern (`**` recurses), local or gs://, sorted."""
    return [p for p in fileio.glob(pattern) if fileio.isfile(p)]


def read_jsonl(path: str) -> Iterator[Any]:
    """Records of a .jsonl or .jsonl.gz file, streamed; a corrupt line becomes an InvalidRecord (counted
    by the caller), a damaged file raises DamagedFileError naming it."""
    records = 0
    try:
        with fileio.open(path, "rb") as raw:
            binary = gzip.GzipFile(fileobj=raw, mode="rb") if path.endswith(".gz") else raw
            text = io.TextIOWrapper(binary, encoding="utf-8", newline="\n")  # lines as count_records sees them
            for line_no, line in enumerate(text, start=1):
                if not line.strip():
                    continue
                records += 1
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    yield InvalidRecord(f"{path}:{line_no}", f"invalid JSON: {err}")
                    continue
                if not isinstance(record, dict):
                    yield InvalidRecord(f"{path}:{line_no}", f"expected a JSON object, got {type(record).__name__}")
                    continue
                yield record
    except _DAMAGE as err:
        raise _damaged(path, records, err) from err


def read_parquet(path: str, batch_size: int = 1024) -> Iterator[Record]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = 0
    try:
        with fileio.open(path, "rb") as f:
            for batch in pq.ParquetFile(f, page_checksum_verification=True).iter_batches(batch_size=batch_size):
                rows = batch.to_pylist()
                records += len(rows)
                yield from rows
    except (pa.ArrowException, OSError, EOFError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise _damaged(path, records, err) from err


def _json_record(line: bytes, where: str) -> Any:
    """A record from one line's bytes, or an InvalidRecord saying why not (UnicodeDecodeError propagates:
    bytes that are not UTF-8 mean a damaged file, not a bad record)."""
    text = line.decode("utf-8")
    try:
        record = json.loads(text)
    except json.JSONDecodeError as err:
        return InvalidRecord(where, f"invalid JSON: {err}")
    if not isinstance(record, dict):
        return InvalidRecord(where, f"expected a JSON object, got {type(record).__name__}")
    return record


def read_jsonl_range(path: str, start: int, end: int, block: int = 64 * 1024) -> Iterator[Tuple[int, Any]]:
    """(byte offset, record) of every line of an uncompressed JSONL file that starts in [start, end).

    A byte range is cut at line boundaries without reading the rest of the file: a range that starts
    mid-line skips to the next newline (that line belongs to the range before), and the last line is
    read to its end even past `end` (in small fetches). Bytes are fetched `block` at a time
    (fileio.read_range: no handle kept open), so many ranges of one file can be read interleaved."""
    buf, buf_start = b"", start  # buf holds file bytes [buf_start, buf_start + len(buf))
    tail = 4096  # past `end` only the last line is wanted: small fetches, doubling for a long line
    records = 0

    def fetch() -> bytes:
        nonlocal tail
        have = buf_start + len(buf)
        if have < end:
            size = min(block, end - have)
        else:
            size, tail = tail, min(2 * tail, block)
        return fileio.read_range(path, have, have + size)

    try:
        pos = start
        if start > 0:  # the line holding byte start-1 belongs to the range before: skip past its newline
            buf_start = start - 1
            while True:
                nl = buf.find(b"\n")
                if nl >= 0:
                    pos = buf_start + nl + 1
                    break
                buf_start, buf = buf_start + len(buf), b""
                data = fetch()
                if not data:
                    return
                buf = data
        at = pos - buf_start  # where the next line starts in buf
        while buf_start + at < end:
            nl = buf.find(b"\n", at)
            while nl < 0:
                data = fetch()
                if not data:
                    break
                buf, buf_start, at = buf[at:] + data, buf_start + at, 0  # keep only the unread part
                nl = buf.find(b"\n", at)
            line = buf[at:nl] if nl >= 0 else buf[at:]
            if line.strip():
                records += 1
                yield buf_start + at, _json_record(line, f"{path}@{buf_start + at}")
            if nl < 0:
                return  # the file's last line, without a newline
            at = nl + 1
    except UnicodeDecodeError as err:
        raise _damaged(path, records, err) from err


def _parquet_file(path: str, read):
    """`read(pq.ParquetFile)` on `path`; a file pyarrow cannot read raises DamagedFileError naming it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with fileio.open(path, "rb") as f:
            return read(pq.ParquetFile(f, page_checksum_verification=True))
    except (pa.ArrowException, OSError, EOFError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise _damaged(path, 0, err) from err


def parquet_row_groups(path: str) -> List[int]:
    """Rows per row group of a Parquet file (its footer only)."""
    return _parquet_file(path, lambda pf: [pf.metadata.row_group(i).num_rows
                                           for i in range(pf.metadata.num_row_groups)])


def read_parquet_row_group(path: str, index: int) -> Iterator[Record]:
    """The records of one row group of a Parquet file."""
    yield from _parquet_file(path, lambda pf: pf.read_row_group(index).to_pylist())


def is_tfrecord(path: str) -> bool:
    return bool(_TFRECORD_NAME.search(path))


# TFRecord framing (tensorflow/core/lib/io/record_writer.cc): uint64 length, masked CRC-32C of the length,
# the data, masked CRC-32C of the data; all little-endian.
_TFRECORD_HEADER = 12
_TFRECORD_FOOTER = 4
_CRC_MASK_DELTA = 0xA282EAD8


def _masked_crc(data: bytes) -> int:
    import google_crc32c  # C implementation; comes with gcsfs's google-cloud-storage

    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + _CRC_MASK_DELTA) & 0xFFFFFFFF


def read_tfrecord(path: str, start: int = 0, verify: bool = True) -> Iterator[Tuple[int, int, bytes]]:
    """(record's byte offset, the next record's offset, record bytes) of each record of a TFRecord file from
    byte `start` (a record's start). Checksums are verified (`verify`: the data's too); a cut or corrupt file
    raises DamagedFileError naming it and the offset."""
    records = 0
    with fileio.open(path, "rb") as f:
        f.seek(start)
        offset = start
        while True:
            header = f.read(_TFRECORD_HEADER)
            if not header:
                return
            if len(header) < _TFRECORD_HEADER:
                raise _damaged(path, records, EOFError(f"a record header is cut at byte {offset}"))
            length, length_crc = struct.unpack("<QI", header)
            if _masked_crc(header[:8]) != length_crc:
                raise _damaged(path, records, ValueError(f"corrupt record length at byte {offset}"))
            body = f.read(length + _TFRECORD_FOOTER)
            if len(body) < length + _TFRECORD_FOOTER:
                raise _damaged(path, records, EOFError(f"the record at byte {offset} is cut"))
            data = body[:length]
            if verify and _masked_crc(data) != struct.unpack("<I", body[length:])[0]:
                raise _damaged(path, records, ValueError(f"corrupt record data at byte {offset}"))
            following = offset + _TFRECORD_HEADER + length + _TFRECORD_FOOTER
            records += 1
            yield offset, following, data
            offset = following


def parse_tf_example(data: bytes, where: str) -> Any:
    """A serialized tf.train.Example as {feature: value}: bytes lists of one value as text (TFDS's Text
    features), other lists as Python lists; an undecodable record becomes an InvalidRecord."""
    from tensorflow.core.example import example_pb2  # only when TFRecords are read

    example = example_pb2.Example()
    try:
        example.ParseFromString(data)
    except Exception as err:  # protobuf's DecodeError
        return InvalidRecord(where, f"not a tf.train.Example: {err}")
    record: Dict[str, Any] = {}
    for name, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        values = list(getattr(feature, kind).value) if kind else []
        if kind == "bytes_list":
            try:
                values = [v.decode("utf-8") for v in values]
            except UnicodeDecodeError:
                return InvalidRecord(where, f"feature {name!r} is not UTF-8 text")
        record[name] = values[0] if len(values) == 1 else values
    return record


def read_tfrecord_examples(path: str) -> Iterator[Any]:
    for offset, _, data in read_tfrecord(path):
        yield parse_tf_example(data, f"{path}@{offset}")


def read_file(path: str) -> Iterator[Any]:
    if path.endswith(".parquet"):
        return read_parquet(path)
    return read_tfrecord_examples(path) if is_tfrecord(path) else read_jsonl(path)


def read_files(paths: Sequence[str]) -> Iterator[Any]:
    for path in paths:
        yield from read_file(path)


# A gzip file (its CRC is at its end) or a TFRecord file is verified whole up to this size; larger ones only by
# reading them.
VERIFY_GZIP_MAX_BYTES = 64 * 1024 * 1024


def verify_end(path: str) -> bool:
    """Checks cheaply that a data file is whole; raises DamagedFileError naming it when it is not.

    Parquet: its footer (at the end) reads. JSONL: its last line is a whole JSON value. JSONL.gz up to
    VERIFY_GZIP_MAX_BYTES: decompressed to its end (gzip's CRC and length). Returns False when a file was
    too large to verify this way (a larger .gz), True otherwise."""
    size = fileio.size(path)
    if path.endswith(".parquet"):
        parquet_row_groups(path)  # a cut footer raises DamagedFileError
        return True
    if path.endswith(".gz") or is_tfrecord(path):  # no end marker: read through (framing and checksums)
        if size > VERIFY_GZIP_MAX_BYTES:
            return False
        count_records(path)  # reads to the end; a cut file raises DamagedFileError
        return True
    tail = fileio.read_range(path, max(0, size - 64 * 1024), size).rstrip()
    if tail:
        last = tail.rsplit(b"\n", 1)[-1]
        try:
            json.loads(last.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise _damaged(path, 0, ValueError(f"the last line is not whole JSON ({err})")) from err
    return True


def count_records(path: str) -> int:
    """Records in one file as read_file counts them (a corrupt JSON line counts: it has an index)."""
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        with fileio.open(path, "rb") as f:
            return pq.ParquetFile(f).metadata.num_rows
    if is_tfrecord(path):
        return sum(1 for _ in read_tfrecord(path))
    count = 0
    try:
        with fileio.open(path, "rb") as raw:
            binary = gzip.GzipFile(fileobj=raw, mode="rb") if path.endswith(".gz") else raw
            count = sum(1 for line in binary if line.strip())
    except _DAMAGE as err:
        raise _damaged(path, count, err) from err
    return count


def counts_path(files: Sequence[str]) -> str:
    """The sidecar `mt0 download` writes beside shards: {"<shard file name>": records, ...}."""
    return re.sub(r"-\d+-of-\d+\.[^/]+$", "", files[0]) + COUNTS_SUFFIX


def file_offsets(files: Sequence[str]) -> List[int]:
    """Index of each file's first record in the split (so a record keeps its position in the split
    however files are sharded or shuffled): from the counts sidecar when present, else by counting."""
    counts: Dict[str, int] = {}
    sidecar = counts_path(files)
    if len(files) > 1 and fileio.exists(sidecar):
        counts = json.loads(fileio.read_text(sidecar))
    offsets, total = [], 0
    for path in files:
        offsets.append(total)
        n = counts.get(fileio.basename(path))
        total += n if isinstance(n, int) else _counted(path, fileio.size(path))
    return offsets


@functools.lru_cache(maxsize=4096)
def _counted(path: str, size: int) -> int:
    del size  # part of the cache key: a rewritten file is counted again
    return count_records(path)
