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

import functools
import math
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import seqio

from multilingual_t0.catalog.xp3 import COLLECTIONS, SPLIT, get_collection, get_language, load_languages
from multilingual_t0.errors import UnknownNameError
from multilingual_t0.pipeline import preprocessors, vocab
from multilingual_t0.pipeline.records_source import RecordsDataSource
from multilingual_t0.pipeline.streamed_mixture import add_mixture
from multilingual_t0.registry import naming
from multilingual_t0.sources.layouts import xp3_language
from multilingual_t0.sources.located import LocatedSplit, locate

WEIGHTS = ("samples", "bytes")
# Other tasks or mixtures and their share of a mixture: {name: share} or [(name, share), ...] (gin lists).
MixIn = Optional[Union[Mapping[str, float], Sequence[Tuple[str, float]]]]


def task_name(collection: str, code: str) -> str:
    """`xp3.<lang>` / `xp3mt.<lang>` (the family form of mT5's `mc4.<lang>`)."""
    return naming.family_task_name(get_collection(collection).name, get_language(collection, code).code)


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


# ------------------------------------------------------------------------------ registration


def locate_language(collection: str, code: str, split: str = SPLIT) -> LocatedSplit:
    """One language's records in the configured source; raises DataNotFoundError naming all it tried."""
    if split != SPLIT:
        raise ValueError(f"{get_collection(collection).folder} has only the split {SPLIT!r}; got {split!r}")
    return locate(xp3_language(collection, code))


def _add_tasks(collection: str) -> None:
    features = vocab.output_features()
    registered = set(seqio.TaskRegistry.names())
    for lang in load_languages(collection):
        name = task_name(collection, lang.code)
        if name in registered:
            continue
        source = RecordsDataSource(name, (SPLIT,), functools.partial(locate_language, collection, lang.code),
                                   num_input_examples={SPLIT: lang.samples}, tokenize_features=features)
        seqio.TaskRegistry.add(name, source, output_features=features,
                               preprocessors=preprocessors.prompted_chain(), metric_fns=[])


def register() -> None:
    """Registers `xp3.<lang>`, `xp3mt.<lang>` and their mixtures `mt5_xp3_train`, `mt5_xp3mt_train`."""
    for collection in COLLECTIONS.values():
        register_mixture(collection.mixture, collection.name)
