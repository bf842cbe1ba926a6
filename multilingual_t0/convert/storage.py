"""Every file access of the converter, in one place (local paths; `gs://` through tensorstore).

Small files (msgpack index, config.gin, JSON metadata) are read and written here; arrays go through
tensorstore, whose kvstore spec `kvstore()` builds from the same path. Routing another filesystem
(e.g. the package's `fileio`) means changing only this module.
"""

from __future__ import annotations

import os
import re
from typing import Any, Dict, List

_GCS = re.compile(r"^gs://([^/]+)/?(.*)$")


def join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts]) if _GCS.match(base) else os.path.join(base, *parts)


def kvstore(path: str) -> Dict[str, Any]:
    """A tensorstore kvstore spec for a local or `gs://` directory."""
    match = _GCS.match(path)
    if match:
        return {"driver": "gcs", "bucket": match.group(1), "path": match.group(2).rstrip("/") + "/"}
    return {"driver": "file", "path": os.path.abspath(path) + "/"}


def _gcs_store(path: str):
    import tensorstore as ts

    match = _GCS.match(path)
    return ts.KvStore.open({"driver": "gcs", "bucket": match.group(1)}).result(), match.group(2)


def exists(path: str) -> bool:
    if _GCS.match(path):
        store, key = _gcs_store(path)
        return bool(store.list(ts_range(key)).result()) or store.read(key).result().state == "value"
    return os.path.exists(path)


def ts_range(prefix: str):
    import tensorstore as ts

    return ts.KvStore.KeyRange(inclusive_min=prefix, exclusive_max=prefix + "\xff")


def isdir(path: str) -> bool:
    if _GCS.match(path):
        store, key = _gcs_store(path)
        return bool(store.list(ts_range(key.rstrip("/") + "/")).result())
    return os.path.isdir(path)


def listdir(path: str) -> List[str]:
    """Names directly inside `path` (files and directories)."""
    if _GCS.match(path):
        store, key = _gcs_store(path)
        prefix = key.rstrip("/") + "/"
        keys = [k.decode() if isinstance(k, bytes) else k for k in store.list(ts_range(prefix)).result()]
        return sorted({k[len(prefix):].split("/", 1)[0] for k in keys})
    return sorted(os.listdir(path))


def read_bytes(path: str) -> bytes:
    if _GCS.match(path):
        store, key = _gcs_store(path)
        result = store.read(key).result()
        if result.state != "value":
            raise FileNotFoundError(path)
        return bytes(result.value)
    with open(path, "rb") as f:
        return f.read()


def write_bytes(path: str, data: bytes) -> None:
    if _GCS.match(path):
        store, key = _gcs_store(path)
        store.write(key, data).result()
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def makedirs(path: str) -> None:
    if not _GCS.match(path):  # object stores have no directories
        os.makedirs(path, exist_ok=True)
