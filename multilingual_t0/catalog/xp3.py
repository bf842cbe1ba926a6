"""xP3 and xP3mt as tables: the two collections, where their files are, and each language's size.

`bigscience/xP3` (13 training task clusters, 46 languages incl. `code`, English prompts) trained mT0;
`bigscience/xP3mt` (the same with prompts machine-translated into 20 languages) trained mT0-xxl-mt.
`data/xp3_languages.csv` and `data/xp3mt_languages.csv` give each language's kilobytes and samples
(from the dataset cards), so rates need no data.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Dict, Optional, Tuple

from multilingual_t0.catalog.tables import DATA_DIR, read_table
from multilingual_t0.errors import UnknownNameError

SPLIT = "train"  # xP3 ships one split
MERGED_PREFIX = "merged_"


@dataclasses.dataclass(frozen=True)
class Collection:
    """xP3 or xP3mt: names, where its table and files are."""

    name: str  # task family: xp3.<lang>
    folder: str  # mirror and samples folder, as the Hub repository names it
    hub_id: str
    hub_file: str  # file pattern inside the Hub repository, {lang} filled in
    table: str  # data/<table>
    mixture: str

    @property
    def table_path(self) -> str:
        return os.path.join(DATA_DIR, self.table)


COLLECTIONS: Dict[str, Collection] = {
    "xp3": Collection("xp3", "xP3", "bigscience/xP3", "{lang}/merged_{lang}.jsonl", "xp3_languages.csv",
                      "mt5_xp3_train"),
    # The xP3mt card computes its sizes "from the merged_{lang}.jsonl files", but the repository holds only the
    # per-prompt files <lang>/xp3_<dataset>_..._<template>.jsonl (read from the published pages, not live):
    # every .jsonl of the language's folder, as the mirror reads it.
    "xp3mt": Collection("xp3mt", "xP3mt", "bigscience/xP3mt", "{lang}/*.jsonl",
                        "xp3mt_languages.csv", "mt5_xp3mt_train"),
}


@dataclasses.dataclass(frozen=True)
class Xp3Language:
    """One row of a size table: the card's kilobytes and samples of merged_<lang>.jsonl."""

    code: str
    kilobytes: Optional[int]  # None where the card's figure could not be read offline (xP3mt)
    samples: int
    notes: str


def _count(value: str, column: str, required: bool) -> Optional[int]:
    value = (value or "").strip()
    if not value and not required:
        return None
    if not value.isdigit() or int(value) <= 0:
        raise ValueError(f"{column} must be a positive whole number, got {value!r}")
    return int(value)


def _row_to_language(row: Dict[str, str]) -> Xp3Language:
    code = (row["language"] or "").strip()
    if not code or not code.isidentifier():
        raise ValueError(f"language {code!r} is not a valid task-name part")
    return Xp3Language(code, _count(row["kilobytes"], "kilobytes", required=False),
                       _count(row["samples"], "samples", required=True), (row.get("notes") or "").strip())


def get_collection(name: str) -> Collection:
    if name not in COLLECTIONS:
        raise UnknownNameError("xP3 collection", name, COLLECTIONS)
    return COLLECTIONS[name]


@functools.lru_cache(maxsize=None)
def load_languages(collection: str = "xp3") -> Tuple[Xp3Language, ...]:
    """The collection's size table (errors name file:line)."""
    path = get_collection(collection).table_path
    return read_table(path, ("language", "kilobytes", "samples"), _row_to_language, key=lambda lang: lang.code)


def get_language(collection: str, code: str) -> Xp3Language:
    for lang in load_languages(collection):
        if lang.code == code:
            return lang
    raise UnknownNameError(f"{get_collection(collection).folder} language", code,
                           [lang.code for lang in load_languages(collection)])
