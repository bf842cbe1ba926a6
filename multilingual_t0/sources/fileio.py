"""One way to open, find and write files: local paths and `gs://` (any fsspec protocol), the same calls.

Every reader and writer in the package goes through here (mirror, mC4 files, export, download, report
input), so a bucket works wherever a directory does. fsspec + gcsfs rather than `tf.io.gfile`:
TF's GCS filesystem has no endpoint setting, so it cannot be pointed at an emulator (nor tested),
while gcsfs honours `STORAGE_EMULATOR_HOST`; `datasets` already depends on fsspec.

gcsfs >= 2026.2 makes `gcsfs.GCSFileSystem` an "extended" class that first asks the Storage Control
API (gRPC) for the bucket's layout; an emulator does not answer it, and each try waits out its
retries. We build gcsfs's plain JSON-API class (`gcsfs.core.GCSFileSystem`), which serves every
ordinary and hierarchical bucket; T5X and seqio keep using `tf.io.gfile` for their own files.
"""

from __future__ import annotations

import functools
import io
import os
import posixpath
import shutil
from typing import IO, List, Optional, Tuple

import fsspec

EMULATOR_ENV = "STORAGE_EMULATOR_HOST"
# Bytes fetched per request when reading a remote file. gcsfs's default (50 MB) is held per open file;
# a mixture has hundreds of tasks reading at once, so keep the cache small (memory stays flat).
READ_BLOCK_SIZE = 4 * 1024 * 1024


def is_remote(path: str) -> bool:
    """True for `scheme://...` paths other than `file://` (gs://, s3://, memory://...)."""
    scheme, sep, _ = path.partition("://")
    return bool(sep) and scheme not in ("file", "local")


@functools.lru_cache(maxsize=None)
def _gcs(emulator: Optional[str]):
    from gcsfs.core import GCSFileSystem  # the JSON-API class: no gRPC bucket-layout probe

    # An emulator needs no credentials; real GCS uses the machine's (TPU VM / Dataflow worker) account.
    return GCSFileSystem(token="anon" if emulator else None, endpoint_url=emulator or None)


def filesystem(path: str) -> Tuple[fsspec.AbstractFileSystem, str]:
    """(filesystem, path inside it) for any path this module accepts."""
    if path.startswith("gs://") or path.startswith("gcs://"):
        emulator = os.environ.get(EMULATOR_ENV) or None
        if emulator and "://" not in emulator:
            emulator = "http://" + emulator  # the Google convention allows host:port alone
        return _gcs(emulator), path.split("://", 1)[1]
    if is_remote(path):
        fs, inner = fsspec.core.url_to_fs(path)
        return fs, inner
    return fsspec.filesystem("file"), os.path.abspath(path.split("://", 1)[-1])


def _unstrip(path: str, inner: str) -> str:
    """A path returned by a filesystem (no scheme) in the caller's spelling (with it)."""
    scheme, sep, _ = path.partition("://")
    if sep and is_remote(path):
        return f"{scheme}://{inner}"
    return inner


def join(base: str, *parts: str) -> str:
    return posixpath.join(base, *parts) if is_remote(base) else os.path.join(base, *parts)


def basename(path: str) -> str:
    return posixpath.basename(path.rstrip("/"))


def dirname(path: str) -> str:
    return posixpath.dirname(path) if is_remote(path) else os.path.dirname(path)


def open(path: str, mode: str = "r", encoding: str = "utf-8", newline: Optional[str] = None) -> IO:  # noqa: A001
    """Like builtins.open, for local or remote paths. Reads stream (a remote file is fetched in blocks,
    never downloaded whole); writes to a bucket become visible when the file is closed."""
    if not is_remote(path):
        return io.open(path, mode, encoding=None if "b" in mode else encoding,
                       newline=None if "b" in mode else newline)
    fs, inner = filesystem(path)
    binary_mode = mode.replace("t", "").replace("b", "") + "b"
    if "r" in mode:  # gcsfs 2026 opens without a read cache (one request per read): ask for read-ahead
        raw = fs.open(inner, binary_mode, block_size=READ_BLOCK_SIZE, cache_type="readahead")
    else:
        raw = fs.open(inner, binary_mode)
    if "b" in mode:
        return raw
    return io.TextIOWrapper(raw, encoding=encoding, newline=newline)


def read_range(path: str, start: int, end: int) -> bytes:
    """Bytes [start, end) of a file (fewer at its end): one ranged request for a remote file, no handle
    kept open, so a reader can hold hundreds of byte ranges of a file at a time."""
    if not is_remote(path):
        with io.open(path, "rb") as f:
            f.seek(start)
            return f.read(max(0, end - start))
    fs, inner = filesystem(path)
    return fs.cat_file(inner, start=start, end=end)


def exists(path: str) -> bool:
    if not is_remote(path):
        return os.path.exists(path)
    fs, inner = filesystem(path)
    return fs.exists(inner)


def isfile(path: str) -> bool:
    if not is_remote(path):
        return os.path.isfile(path)
    fs, inner = filesystem(path)
    return fs.isfile(inner)


def isdir(path: str) -> bool:
    if not is_remote(path):
        return os.path.isdir(path)
    fs, inner = filesystem(path)
    return fs.isdir(inner)


def size(path: str) -> int:
    if not is_remote(path):
        return os.path.getsize(path)
    fs, inner = filesystem(path)
    return int(fs.size(inner))


def glob(pattern: str) -> List[str]:
    """Sorted matches of a `*`/`?`/`**` pattern; remote results keep the scheme."""
    if not is_remote(pattern):
        import glob as _glob

        return sorted(_glob.glob(pattern, recursive=True))
    fs, inner = filesystem(pattern)
    return sorted(_unstrip(pattern, p) for p in fs.glob(inner))


def listdir(path: str) -> List[str]:
    """Sorted names directly inside a folder (files and folders); a bucket prefix works like a folder."""
    if not is_remote(path):
        return sorted(os.listdir(path))
    fs, inner = filesystem(path)
    return sorted(posixpath.basename(p.rstrip("/")) for p in fs.ls(inner, detail=False))


def escape(path: str) -> str:
    """`path` with glob metacharacters made literal (for a folder name inside a pattern)."""
    import glob as _glob

    return _glob.escape(path)


def makedirs(path: str) -> None:
    """Creates the folder and its parents (buckets have no folders: nothing to do there)."""
    if not is_remote(path):
        os.makedirs(path, exist_ok=True)


def remove(path: str) -> None:
    if not is_remote(path):
        os.remove(path)
        return
    fs, inner = filesystem(path)
    fs.rm_file(inner)


def rename(src: str, dst: str) -> None:
    """Moves src over dst (atomic on a local disk). On a bucket: copy, then delete (GCS has no rename;
    gcsfs's `mv` first tries the moveTo API, which emulators do not serve, and retries for seconds)."""
    if not is_remote(src) and not is_remote(dst):
        os.replace(src, dst)
        return
    if is_remote(src) != is_remote(dst) or src.split("://")[0] != dst.split("://")[0]:
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            shutil.copyfileobj(fin, fout, 1024 * 1024)
    else:
        fs, inner_src = filesystem(src)
        fs.copy(inner_src, filesystem(dst)[1])
    remove(src)


def read_text(path: str) -> str:
    with open(path, "r") as f:
        return f.read()


def write_text(path: str, text: str) -> None:
    """Writes a whole small file so a reader never sees half of it (tmp + rename locally; a bucket
    object appears only when its upload completes)."""
    if is_remote(path):
        with open(path, "w") as f:
            f.write(text)
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
