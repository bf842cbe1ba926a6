"""Every file access of the converter, in one place: small files (msgpack index, config.gin, JSON
metadata) through the package's `fileio` (local and `gs://`), arrays through tensorstore, whose kvstore
spec `kvstore()` builds from the same path.
"""

from __future__ import annotations

import os
import re
from typing import Any, Dict

from multilingual_t0.sources import fileio

_GCS = re.compile(r"^gs://([^/]+)/?(.*)$")

join, exists, listdir, makedirs = fileio.join, fileio.exists, fileio.listdir, fileio.makedirs


def kvstore(path: str) -> Dict[str, Any]:
    """A tensorstore kvstore spec for a local or `gs://` directory."""
    match = _GCS.match(path)
    if match:
        return {"driver": "gcs", "bucket": match.group(1), "path": match.group(2).rstrip("/") + "/"}
    return {"driver": "file", "path": os.path.abspath(path) + "/"}


def read_bytes(path: str) -> bytes:
    with fileio.open(path, "rb") as f:
        return f.read()


def write_bytes(path: str, data: bytes) -> None:
    fileio.makedirs(fileio.dirname(path))
    with fileio.open(path, "wb") as f:
        f.write(data)
