"""xP3 and xP3mt: the prompted multilingual data the released mT0 models were fine-tuned on.

`bigscience/xP3` (13 training task clusters, 46 languages incl. `code`, English prompts) trained mT0;
`bigscience/xP3mt` (the same with prompts machine-translated into 20 languages) trained mT0-xxl-mt.
Records are `{inputs, targets}` strings, already prompted: nothing is rendered here.

Registered by `register()` (called once from `multilingual_t0.tasks`), reading only the two size tables
`data/xp3_languages.csv` and `data/xp3mt_languages.csv` (no data, no network):
* tasks `xp3.<lang>` and `xp3mt.<lang>` (46 each; split `train`);
* mixtures `mt5_xp3_train` and `mt5_xp3mt_train`: every language at rate = its sample count, i.e.
  examples-proportional over xP3's prompt files, which the creation script already capped.
`register_mixture()` registers others: a subset of languages, weighting by samples or by kilobytes (as
BLOOMZ), a temperature, and other tasks or mixtures mixed in at given shares.

Where a language's records come from (MT0_DATA_SOURCE, as every other dataset):
  mirror   $MT0_DATA_DIR/xP3/<lang>/ (xP3mt: $MT0_DATA_DIR/xP3mt/<lang>/): every *.jsonl, *.jsonl.gz and
           *.parquet file in it, i.e. the Hub's merged_<lang>.jsonl or the per-prompt files of bigscience's
           prepare_xp3_train.py (xp3_<dataset>_<subset>_<split>_<template>.jsonl), any number of them;
  hub      the Hub files through `datasets`' json builder with explicit data_files (both repositories
           hold a loading script, which datasets >= 4 refuses);
  samples  made-up records shipped in data/samples/xP3[mt]/<lang>/merged_<lang>.jsonl.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

from multilingual_t0.catalog import DATA_DIR, read_table
from multilingual_t0.errors import DataNotFoundError, UnknownNameError
from multilingual_t0.streamed_mixture import add_mixture

SPLIT = "train"  # xP3 ships one split
FILE_PATTERNS = ("*.jsonl", "*.jsonl.gz", "*.parquet")
MERGED_PREFIX = "merged_"
WEIGHTS = ("samples", "bytes")
# Other tasks or mixtures and their share of a mixture: {name: share} or [(name, share), ...] (gin lists).
MixIn = Optional[Union[Mapping[str, float], Sequence[Tuple[str, float]]]]


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
    # The xP3mt card computes its sizes "from the merged_{lang}.jsonl files"; that these files sit at
    # <lang>/merged_<lang>.jsonl in the repository could not be checked offline (see README).
    "xp3mt": Collection("xp3mt", "xP3mt", "bigscience/xP3mt", "{lang}/merged_{lang}.jsonl",
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


def task_name(collection: str, code: str) -> str:
    """`xp3.<lang>` / `xp3mt.<lang>` (the family form of mT5's `mc4.<lang>`)."""
    return f"{get_collection(collection).name}.{get_language(collection, code).code}"


# ----------------------------------------------------------------------------------- mixtures


def language_weights(collection: str = "xp3", languages: Optional[Sequence[str]] = None,
                     weight_by: str = "samples", temperature: float = 1.0) -> Dict[str, float]:
    """language -> size ** (1 / temperature), size = samples or kilobytes from the table.

    temperature 1 keeps the sizes (examples- or bytes-proportional); larger values flatten towards
    uniform. Raises for an unknown or repeated language, or kilobytes the table lacks."""
    if weight_by not in WEIGHTS:
        raise ValueError(f"weight_by={weight_by!r} is not one of {', '.join(WEIGHTS)}")
    if not (temperature > 0 and math.isfinite(temperature)):
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    codes = [lang.code for lang in load_languages(collection)] if languages is None else list(languages)
    if not codes:
        raise ValueError("at least one language is needed")
    repeated = sorted({c for c in codes if codes.count(c) > 1})
    if repeated:
        raise ValueError(f"languages listed twice: {', '.join(repeated)}")
    rows = [get_language(collection, c) for c in codes]
    if weight_by == "bytes":
        unknown = [r.code for r in rows if r.kilobytes is None]
        if unknown:
            raise ValueError(
                f"{get_collection(collection).table} has no kilobytes for {', '.join(unknown)} (not verifiable "
                "offline, see its notes column); weight by samples, or leave these languages out")
    sizes = {r.code: float(r.kilobytes if weight_by == "bytes" else r.samples) for r in rows}
    return {code: size if temperature == 1 else size ** (1.0 / temperature) for code, size in sizes.items()}


def mixture_rates(collection: str = "xp3", languages: Optional[Sequence[str]] = None,
                  weight_by: str = "samples", temperature: float = 1.0,
                  mix_in: MixIn = None) -> Dict[str, float]:
    """task or mixture name -> rate.

    Without `mix_in` the rates are the language weights themselves (temperature 1, samples: the table's
    sample counts). `mix_in` gives other task or mixture names their share of the whole mixture
    ({'my_task': 0.1} or [('my_task', 0.1)]); the languages share the rest in proportion to their weights."""
    weights = language_weights(collection, languages, weight_by, temperature)
    rates = {task_name(collection, code): w for code, w in weights.items()}
    mix_in = dict(mix_in or {})
    if not mix_in:
        return rates
    bad = {k: v for k, v in mix_in.items() if not (isinstance(v, (int, float)) and 0 < v < 1)}
    if bad:
        raise ValueError(f"mix_in shares must be numbers between 0 and 1 (exclusive), got {bad}")
    rest = 1.0 - sum(mix_in.values())
    if rest <= 0:
        raise ValueError(f"mix_in shares sum to {sum(mix_in.values()):g}; they must leave a share for "
                         f"{get_collection(collection).folder}")
    clash = sorted(set(mix_in) & set(rates))
    if clash:
        raise ValueError(f"mix_in names tasks already in the mixture: {', '.join(clash)}")
    total = sum(rates.values())
    out = {name: rest * w / total for name, w in rates.items()}
    out.update(mix_in)
    return out


def register_mixture(name: str, collection: str = "xp3", languages: Optional[Sequence[str]] = None,
                     weight_by: str = "samples", temperature: float = 1.0, mix_in: MixIn = None) -> str:
    """Registers (once) a mixture of the collection's languages (see `mixture_rates`); returns its name,
    so a gin file can use it as `MIXTURE_OR_TASK_NAME = @xp3.register_mixture()`.

    `mix_in`: {name: share} or [(name, share), ...] of registered tasks or mixtures (e.g. what
    `custom.add_task` returns). The same name again with the same rates is a no-op; with other rates it
    is an error."""
    import seqio

    _add_tasks(collection)
    rates = mixture_rates(collection, languages, weight_by, temperature, mix_in)
    known = set(seqio.TaskRegistry.names()) | set(seqio.MixtureRegistry.names())
    missing = [n for n in rates if n not in known]
    if missing:
        raise UnknownNameError("task or mixture to mix in", missing[0], known)
    if name in seqio.MixtureRegistry.names():
        existing = seqio.MixtureRegistry.get(name)
        old = dict(existing.rate_per_task_name)
        if set(old) != set(rates) or any(not math.isclose(float(old[n]), r) for n, r in rates.items()):
            raise ValueError(f"Mixture {name!r} is already registered with other tasks or rates; pick another "
                             "name.")
        return name
    add_mixture(name, list(rates.items()))
    return name


# ------------------------------------------------------------------------------ where data is


def language_dir(collection: str, code: str, kind: str, data_dir: Optional[str] = None) -> str:
    """The folder of one language in the mirror or the samples."""
    from multilingual_t0.sources import DATA_DIR_ENV, SAMPLES_DIR

    folder = get_collection(collection).folder
    if kind == "samples":
        return os.path.join(SAMPLES_DIR, folder, code)
    root = data_dir or os.environ.get(DATA_DIR_ENV)
    if not root:
        raise DataNotFoundError(f"{folder} language {code!r} (mirror)", [f"${DATA_DIR_ENV} (not set)"],
                                f"set {DATA_DIR_ENV} to a directory holding {folder}/<lang>/merged_<lang>.jsonl")
    return os.path.join(root, folder, code)


def language_files(collection: str, code: str, kind: str, data_dir: Optional[str] = None
                   ) -> Tuple[List[str], List[str]]:
    """(files found, patterns tried) for one language in the mirror or the samples."""
    from multilingual_t0.sources import glob_files

    base = language_dir(collection, code, kind, data_dir)
    tried = [os.path.join(base, pattern) for pattern in FILE_PATTERNS]
    files = sorted({f for pattern in tried for f in glob_files(pattern)})
    return files, tried


def _check_not_doubled(files: Sequence[str], what: str) -> None:
    """merged_<lang>.jsonl holds every per-prompt file of the language: reading both doubles the data."""
    merged = [f for f in files if os.path.basename(f).startswith(MERGED_PREFIX)]
    if merged and len(files) > len(merged):
        others = [f for f in files if f not in merged]
        raise ValueError(f"{what}: both {os.path.basename(merged[0])} and {len(others)} other file(s) (e.g. "
                         f"{os.path.basename(others[0])}) are in {os.path.dirname(merged[0])}; the merged file "
                         "already holds the per-prompt files. Keep one or the other.")


def hub_data_files(collection: str, code: str) -> str:
    col = get_collection(collection)
    return f"hf://datasets/{col.hub_id}/{col.hub_file.format(lang=code)}"


def locate(collection: str, code: str, split: str = SPLIT, kind: Optional[str] = None,
           data_dir: Optional[str] = None):
    """Finds one language's records in the configured source; raises DataNotFoundError naming all it tried."""
    from multilingual_t0.record_source import Located, check_fields
    from multilingual_t0.sources import read_files, source_kind

    col = get_collection(collection)
    lang = get_language(collection, code)
    if split != SPLIT:
        raise ValueError(f"{col.folder} has only the split {SPLIT!r}; got {split!r}")
    kind = kind or source_kind()
    what = f"{col.folder} language {lang.code!r} ({kind})"
    if kind == "hub":
        return _locate_hub(col, lang.code, what)
    files, tried = language_files(collection, lang.code, kind, data_dir)
    if not files:
        base = language_dir(collection, lang.code, kind, data_dir)
        fix = (f"the package ships no {col.folder} sample for {lang.code!r}; use MT0_DATA_SOURCE=mirror or hub"
               if kind == "samples" else
               f"put {col.hub_id}'s {col.hub_file.format(lang=lang.code)} (or the per-prompt files of "
               f"prepare_xp3_train.py) in {base}")
        raise DataNotFoundError(what, tried, fix)
    _check_not_doubled(files, what)
    check_fields(files, ("inputs", "targets"), what)
    origin = files[0] if len(files) == 1 else f"{files[0]} (+{len(files) - 1} files)"
    return Located(origin, functools.partial(read_files, files), files=files)


def _locate_hub(col: Collection, code: str, what: str):
    from multilingual_t0 import hub_probe
    from multilingual_t0.record_source import Located
    from multilingual_t0.sources import DATA_DIR_ENV

    import datasets  # heavy; only when the Hub is used

    data_files = hub_data_files(col.name, code)
    hub_probe.require_hub(what, col.hub_id)  # seconds, not datasets' retries, when the Hub is unreachable
    call = f"datasets.load_dataset('json', data_files={data_files!r}, split='train', streaming=True)"
    try:
        stream = datasets.load_dataset("json", data_files=data_files, split="train", streaming=True)
    except Exception as err:  # datasets raises many types for "not reachable / not found"
        raise DataNotFoundError(
            what, [call, f"failed with {type(err).__name__}: {err}"],
            f"check network access to the Hub, or download {data_files} into "
            f"${DATA_DIR_ENV}/{col.folder}/{code}/ and set MT0_DATA_SOURCE=mirror") from err
    return Located(data_files, lambda: iter(stream))


# ------------------------------------------------------------------------------ registration


def _add_tasks(collection: str) -> None:
    import seqio

    from multilingual_t0 import preprocessors, vocab
    from multilingual_t0.record_source import RecordsDataSource

    features = vocab.output_features()
    registered = set(seqio.TaskRegistry.names())
    for lang in load_languages(collection):
        name = task_name(collection, lang.code)
        if name in registered:
            continue
        source = RecordsDataSource(name, (SPLIT,), functools.partial(locate, collection, lang.code),
                                   num_input_examples={SPLIT: lang.samples}, tokenize_features=features)
        seqio.TaskRegistry.add(name, source, output_features=features,
                               preprocessors=preprocessors.prompted_chain(), metric_fns=[])


def register() -> None:
    """Registers `xp3.<lang>`, `xp3mt.<lang>` and their mixtures `mt5_xp3_train`, `mt5_xp3mt_train`."""
    for collection in COLLECTIONS.values():
        register_mixture(collection.mixture, collection.name)
