"""mC4: the shipped language table, mT5's α-sampling rates, and where a language's documents come from.

`data/mc4_languages.csv` lists the 107 TFDS `c4/multilingual` splits (101 languages + 6 romanized
`-Latn` variants) with mT5's token and page counts, so rates need no data. Documents come from:
  samples  multilingual_t0/data/samples/mc4/<lang>/<split>.jsonl (made-up text, a few languages)
  mirror   $MT0_DATA_DIR/mc4/<lang>/<split>.{jsonl,jsonl.gz,parquet} (or shards <split>-*.<ext>;
           a directory or gs:// prefix, read through fileio),
           one document per record in the field `text`
  hub      TFDS `c4/multilingual:<version>` for seqio (lm_adapt.py); the Hub's `allenai/c4` for
           `datasets` streams (lm_adapt_hf.py)
chosen by MT0_DATA_SOURCE exactly as in sources.py. Pure Python: nothing here imports TensorFlow.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import logging
import os
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from multilingual_t0.catalog import DATA_DIR
from multilingual_t0.errors import CatalogError, DataNotFoundError, UnknownNameError
from multilingual_t0 import fileio
from multilingual_t0.sources import DATA_DIR_ENV, SAMPLES_DIR, InvalidRecord, find_files, read_split

log = logging.getLogger(__name__)

LANGUAGES_PATH = os.path.join(DATA_DIR, "mc4_languages.csv")
MC4_SAMPLES_DIR = os.path.join(SAMPLES_DIR, "mc4")
MIRROR_SUBDIR = "mc4"
SPLITS = ("train", "validation")
TEXT_FIELD = "text"
DEFAULT_ALPHA = 0.3  # mT5: p(L) ∝ |L|^0.3, |L| = number of pages (examples)

TFDS_NAME = "c4/multilingual"
TFDS_VERSION_ENV = "MT0_MC4_VERSION"
DEFAULT_TFDS_VERSION = "3.1.0"  # what current TFDS registers; mT5 itself used 3.0.1
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


def tfds_version() -> str:
    return os.environ.get(TFDS_VERSION_ENV) or DEFAULT_TFDS_VERSION


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


# ----------------------------------------------------------------- documents from files


def split_files(root: str, code: str, split: str) -> Tuple[List[str], List[str]]:
    """(files found, paths and patterns tried) for one language split below `root`."""
    return find_files(fileio.join(root, code, split))


def iter_texts(files: Sequence[str], **order) -> Iterator[str]:
    """Non-empty `text` values of the records in `files`; undecodable or text-less records are
    skipped, counted, and reported once at the end of the files (with the first bad place).
    `order`: shuffle, seed, shard_index, num_shards, epoch of sources.read_split (default: all, in order)."""
    skipped, first = 0, None
    for _, record in read_split(files, **order):
        text = None if isinstance(record, InvalidRecord) else record.get(TEXT_FIELD)
        if isinstance(text, str) and text.strip():
            yield text
            continue
        skipped += 1
        first = first or (record.where if isinstance(record, InvalidRecord) else f"a record without {TEXT_FIELD!r}")
    if skipped:
        log.warning("skipped %d undecodable or empty records in %s (first: %s)", skipped, files[0], first)


@dataclasses.dataclass(frozen=True)
class DocumentFiles:
    """One language split located in files and checked to hold at least one document."""

    language: str
    split: str
    kind: str  # mirror | samples
    files: Tuple[str, ...]

    def __iter__(self) -> Iterator[str]:
        return iter_texts(self.files)

    def texts(self, **order) -> Iterator[str]:
        """This host's documents (shard_index of num_shards), in file or seeded shuffled order."""
        return iter_texts(self.files, **order)


def file_root(kind: str, data_dir: Optional[str] = None) -> str:
    if kind == "samples":
        return MC4_SAMPLES_DIR
    root = data_dir or os.environ.get(DATA_DIR_ENV)
    if not root:
        raise DataNotFoundError("mC4 (mirror)", [f"${DATA_DIR_ENV} (not set)"],
                                f"set {DATA_DIR_ENV} to a directory with mc4/<lang>/<split>.jsonl[.gz]")
    return fileio.join(root, MIRROR_SUBDIR)


def locate(code: str, split: str, kind: str, data_dir: Optional[str] = None) -> DocumentFiles:
    """Finds a language split in the mirror or the samples; raises DataNotFoundError when it is missing
    or holds no document with a non-empty `text` (the message names the language and every path)."""
    lang = get_language(code)
    check_split(split)
    what = f"mC4 language {lang.code!r} ({lang.name}) split {split!r} ({kind})"
    root = file_root(kind, data_dir)
    files, tried = split_files(root, lang.code, split)
    if kind == "samples":
        fix = (f"sample text ships only for {', '.join(sample_languages())}; use MT0_DATA_SOURCE=mirror "
               f"with {DATA_DIR_ENV}, or hub (TFDS {TFDS_NAME})")
    else:
        fix = (f"put the documents (JSON lines with a {TEXT_FIELD!r} field) at "
               f"{fileio.join(root, lang.code, split)}.jsonl.gz, e.g. from the Hub's {HUB_ID} "
               f"{HUB_DATA_FILES[split].format(lang=lang.code)}")
    if not files:
        raise DataNotFoundError(what, tried, fix)
    if next(iter_texts(files), None) is None:
        raise DataNotFoundError(what, [f"{f} (exists; no record with a non-empty {TEXT_FIELD!r})"
                                       for f in files], fix)
    return DocumentFiles(lang.code, split, kind, tuple(files))
