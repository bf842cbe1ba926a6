"""mC4: the shipped language table and mT5's α-sampling rates.

`data/mc4_languages.csv` lists the 107 TFDS `c4/multilingual` splits (101 languages + 6 romanized
`-Latn` variants) with mT5's token and page counts, so rates need no data. Where documents are read from
(samples, a mirror, the Hub's `allenai/c4`, TFDS `c4/multilingual`) is sources/layouts.py's `mc4_split`.
Pure Python: nothing here imports TensorFlow.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import os
from typing import Dict, List, Optional, Sequence, Tuple

from multilingual_t0.catalog.tables import DATA_DIR, SAMPLES_DIR
from multilingual_t0.errors import CatalogError, UnknownNameError

LANGUAGES_PATH = os.path.join(DATA_DIR, "mc4_languages.csv")
MC4_SAMPLES_DIR = os.path.join(SAMPLES_DIR, "mc4")
MIRROR_SUBDIR = "mc4"
SPLITS = ("train", "validation")
TEXT_FIELD = "text"
DEFAULT_ALPHA = 0.3  # mT5: p(L) ∝ |L|^0.3, |L| = number of pages (examples)

TFDS_NAME = "c4/multilingual"  # version: settings.DataSettings.mc4_version (MT0_MC4_VERSION)
HUB_ID = "allenai/c4"  # the legacy `mc4` Hub id is a loading script, which datasets >= 4 cannot run
# allenai/c4's config "en" is English C4, not mC4's English, so select mC4 files by pattern instead.
HUB_DATA_FILES = {"train": "multilingual/c4-{lang}.*.json.gz",
                  "validation": "multilingual/c4-{lang}-validation.*.json.gz"}


@dataclasses.dataclass(frozen=True)
class Mc4Language:
    code: str  # the TFDS split name: en, zh-Latn, ...
    name: str
    tokens_billions: float
    pages_millions: float

    @property
    def task_suffix(self) -> str:
        """The part of a task name: seqio names allow no `-` (zh-Latn -> zh_Latn)."""
        return self.code.replace("-", "_")

    def tfds_split(self, split: str) -> str:
        check_split(split)
        return self.code if split == "train" else f"{self.code}-validation"


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"mC4 has splits {', '.join(SPLITS)}; got {split!r}.")


def _number(path: str, row: int, column: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number > 0:
        raise CatalogError(f"{path}:{row}:{column}: expected a positive number, got {value!r}")
    return number


@functools.lru_cache(maxsize=None)
def load_languages(path: str = LANGUAGES_PATH) -> Tuple[Mc4Language, ...]:
    """The table's rows, in its order (largest first)."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        expected = ["tfds_split", "language", "tokens_billions", "pages_millions"]
        if reader.fieldnames != expected:
            raise CatalogError(f"{path}:1: expected columns {expected}, got {reader.fieldnames}")
        rows = []
        for row_no, row in enumerate(reader, start=2):
            code = (row["tfds_split"] or "").strip()
            if not code:
                raise CatalogError(f"{path}:{row_no}:tfds_split: empty")
            rows.append(Mc4Language(code, row["language"].strip(),
                                    _number(path, row_no, "tokens_billions", row["tokens_billions"]),
                                    _number(path, row_no, "pages_millions", row["pages_millions"])))
    codes = [r.code for r in rows]
    dupes = sorted({c for c in codes if codes.count(c) > 1})
    if dupes:
        raise CatalogError(f"{path}: languages listed twice: {dupes}")
    return tuple(rows)


@functools.lru_cache(maxsize=None)
def _by_code() -> Dict[str, Mc4Language]:
    return {lang.code: lang for lang in load_languages()}


def get_language(code: str) -> Mc4Language:
    """The table row for `code` (`zh-Latn` or the task spelling `zh_Latn`)."""
    table = _by_code()
    found = table.get(code) or {l.task_suffix: l for l in table.values()}.get(code)
    if found is None:
        raise UnknownNameError("mC4 language", code, table)
    return found


def sampling_rates(languages: Optional[Sequence[str]] = None,
                   alpha: float = DEFAULT_ALPHA) -> Dict[str, float]:
    """language code -> p(L) = pages(L)^α / Σ pages^α over `languages` (default: all 107); sums to 1."""
    if not alpha >= 0:
        raise ValueError(f"alpha must be >= 0 (mT5 used {DEFAULT_ALPHA}), got {alpha!r}")
    chosen = [get_language(c) for c in (load_languages_codes() if languages is None else languages)]
    if not chosen:
        raise ValueError("sampling_rates needs at least one language.")
    codes = [l.code for l in chosen]
    if len(set(codes)) != len(codes):
        raise ValueError(f"a language is listed twice: {sorted({c for c in codes if codes.count(c) > 1})}")
    weights = {l.code: l.pages_millions ** alpha for l in chosen}
    total = sum(weights.values())
    return {code: w / total for code, w in weights.items()}


def load_languages_codes() -> List[str]:
    return [lang.code for lang in load_languages()]


def sample_languages() -> List[str]:
    """Languages that ship made-up sample text (both splits), in table order."""
    return [c for c in load_languages_codes()
            if all(os.path.isfile(os.path.join(MC4_SAMPLES_DIR, c, f"{s}.jsonl")) for s in SPLITS)]
