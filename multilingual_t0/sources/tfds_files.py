"""A prepared TensorFlow Datasets split as files: its TFRecord shards and their record counts.

TFDS writes a prepared dataset as `<data_dir>/<name>/<config>/<version>/`: `dataset_info.json` (each split's
shard lengths and file-name template) beside the shards `<name>-<split>.tfrecord-00000-of-00064`. Reading that
metadata ourselves (not through `tfds.builder`) gives the files to the package's own reader
(sources/reading.py), which reads them per host, in shuffled order, with a position it can save (a byte offset
in a TFRecord file), from a local directory or a bucket alike (fileio). Nothing is ever downloaded or prepared
here: a missing dataset is a DataNotFoundError naming the directory and the fix.

The data directory is TFDS's: T5X's `--tfds_data_dir` (seqio's override), else `$TFDS_DATA_DIR`, else
`~/tensorflow_datasets`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from typing import List, Optional, Tuple

from multilingual_t0.errors import DataNotFoundError
from multilingual_t0.sources import fileio

DEFAULT_DATA_DIR = os.path.join("~", "tensorflow_datasets")
# tensorflow_datasets/core/naming.py: DEFAULT_FILENAME_TEMPLATE.
DEFAULT_TEMPLATE = "{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_X_OF_Y}"
INFO_FILE = "dataset_info.json"


@dataclasses.dataclass(frozen=True)
class TfdsSplit:
    """One split of a TFDS dataset: `name` as `<dataset>/<config>` (c4/multilingual), its version and split."""

    name: str
    version: str
    split: str

    @property
    def label(self) -> str:
        return f"{self.name}:{self.version} split {self.split!r}"


def data_dir() -> str:
    """TFDS's data directory as T5X sets it: `--tfds_data_dir` (seqio's override; set only once seqio is
    imported, so it is not imported here), `$TFDS_DATA_DIR`, or ~/tensorflow_datasets."""
    seqio = sys.modules.get("seqio")
    override = getattr(getattr(seqio, "utils", None), "_TFDS_DATA_DIR_OVERRIDE", None) if seqio else None
    chosen = override or os.environ.get("TFDS_DATA_DIR") or DEFAULT_DATA_DIR
    return chosen if fileio.is_remote(chosen) else os.path.expanduser(chosen)


def _file_name(template: str, dataset: str, split: str, file_format: str, index: int, count: int) -> str:
    return (template.replace("{SHARD_X_OF_Y}", f"{index:05d}-of-{count:05d}").replace("{DATASET}", dataset)
            .replace("{SPLIT}", split).replace("{FILEFORMAT}", file_format).replace("{SHARD_INDEX}", f"{index:05d}")
            .replace("{NUM_SHARDS}", f"{count:05d}"))


def locate_files(tfds: TfdsSplit, what: str, root: Optional[str] = None) -> Tuple[List[str], List[int]]:
    """(the split's TFRecord files in shard order, records per file), from its dataset_info.json under `root`
    (default: `data_dir()`); DataNotFoundError for `what` naming what was looked for when it is not prepared."""
    root = root or data_dir()
    folder = fileio.join(root, *tfds.name.split("/"), tfds.version)
    info_path = fileio.join(folder, INFO_FILE)
    fix = (f"prepare {tfds.name}:{tfds.version} there (tfds build, or copy a prepared copy), or point T5X's "
           "--tfds_data_dir / $TFDS_DATA_DIR at the directory that holds it")
    if not fileio.exists(info_path):
        available = _versions(fileio.join(root, *tfds.name.split("/")))
        tried = [f"{tfds.label}: {info_path} (missing)"]
        tried += [f"versions prepared there: {', '.join(available)} (MT0_MC4_VERSION picks one)"] if available else []
        raise DataNotFoundError(what, tried, fix)
    info = json.loads(fileio.read_text(info_path))
    splits = {s.get("name"): s for s in info.get("splits", [])}
    if tfds.split not in splits:
        raise DataNotFoundError(what, [f"{tfds.label}: {info_path} has splits "
                                       f"{', '.join(sorted(map(str, splits))) or '(none)'}"], fix)
    entry = splits[tfds.split]
    file_format = info.get("fileFormat") or "tfrecord"
    if file_format != "tfrecord":
        raise ValueError(f"{tfds.label} in {folder} is stored as {file_format}; the package reads TFRecord "
                         "shards (the format `tfds build` writes by default): rebuild it with "
                         "--file_format=tfrecord.")
    counts = [int(n) for n in entry.get("shardLengths", [])]
    template = entry.get("filepathTemplate") or DEFAULT_TEMPLATE
    dataset = tfds.name.split("/")[0]
    files = [fileio.join(folder, _file_name(template, dataset, tfds.split, file_format, i, len(counts)))
             for i in range(len(counts))]
    missing = [f for f in files[:1] + files[-1:] if not fileio.exists(f)]  # the ends: no request per shard
    if missing:
        raise DataNotFoundError(what, [f"{f} (listed in {INFO_FILE}, missing)" for f in missing], fix)
    return files, counts


def _versions(folder: str) -> List[str]:
    try:
        return [v for v in fileio.listdir(folder) if v[:1].isdigit()]
    except (FileNotFoundError, NotADirectoryError, OSError):
        return []
