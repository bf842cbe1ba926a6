"""mT5 LM adaptation: one seqio task per mC4 split with the T5 paper's prefix-LM objective, and mixtures.

Registered by `register()` (called from tasks.py):
* `mt5_lm_adapt.<lang>` for each of the 107 mC4 splits in data/mc4_languages.csv (`-` -> `_`:
  `mt5_lm_adapt.zh_Latn`); splits train / validation;
* `mt5_lm_adapt`: all 107, rate p(L) ∝ pages(L)^0.3 as mT5 (from the shipped page counts, so no
  data is read to register). `register_mixture()` builds one for another α or a subset of languages
  (`add_mixture()`, the same returning its name, for gin files).

Documents come from MT0_DATA_SOURCE (pipeline/mc4_source.py): samples, the mirror, the Hub, or TFDS
`c4/multilingual:<version>` (`$MT0_MC4_VERSION`, default 3.1.0; what `auto` reads without a mirror) from
T5X's `--tfds_data_dir` / `$TFDS_DATA_DIR`. The choice is made when a dataset is built, not at registration.
"""

from __future__ import annotations

import math
from typing import Dict, Optional, Sequence

import seqio

from multilingual_t0.catalog import mc4
from multilingual_t0.pipeline import mc4_source
from multilingual_t0.pipeline.prefix_lm import DEFAULT_LENGTHS
from multilingual_t0.pipeline import streamed_mixture
from multilingual_t0.registry import naming

MIXTURE_NAME = "mt5_lm_adapt"
# mT0's plan for the +100K LM-adaptation steps; a run's TASK_FEATURE_LENGTHS decides.
FEATURE_LENGTHS = dict(DEFAULT_LENGTHS)


def task_name(code: str) -> str:
    return naming.family_task_name(naming.LM_ADAPT_PREFIX, mc4.get_language(code).code)


def mixture_rates(languages: Optional[Sequence[str]] = None,
                  alpha: float = mc4.DEFAULT_ALPHA) -> Dict[str, float]:
    """task name -> normalised rate (sums to 1)."""
    return {task_name(code): rate for code, rate in mc4.sampling_rates(languages, alpha).items()}


def _add_tasks() -> None:
    features = mc4_source.output_features()
    registered = set(seqio.TaskRegistry.names())
    for lang in mc4.load_languages():
        name = task_name(lang.code)
        if name not in registered:
            seqio.TaskRegistry.add(name, mc4_source.Mc4DataSource(lang.code), task_cls=mc4_source.Mc4Task,
                                   output_features=features, preprocessors=mc4_source.preprocessors(),
                                   metric_fns=[])


def register_mixture(name: str, languages: Optional[Sequence[str]] = None,
                     alpha: float = mc4.DEFAULT_ALPHA) -> seqio.Mixture:
    """Registers (once) and returns the mixture of `languages` (default all) at p(L) ∝ pages^α.
    Registering the same name again with other rates is an error."""
    _add_tasks()
    rates = mixture_rates(languages, alpha)
    if name in seqio.MixtureRegistry.names():
        existing = seqio.get_mixture_or_task(name)
        old = {t.name: existing.get_rate(t) for t in existing.tasks}
        if set(old) != set(rates) or any(not math.isclose(old[t], r) for t, r in rates.items()):
            raise ValueError(f"Mixture {name!r} is already registered with other tasks or rates; "
                             "pick another name.")
        return existing
    return streamed_mixture.add_mixture(name, list(rates.items()))


def add_mixture(name: str, languages: Optional[Sequence[str]] = None, alpha: float = mc4.DEFAULT_ALPHA) -> str:
    """`register_mixture` for gin files: registers (once) and returns the mixture's name, which T5X takes
    (`MIXTURE_OR_TASK_NAME = @lm_adapt.add_mixture()`, as `custom.add_task`). A seqio Mixture object given to
    T5X instead is mistaken for an airio provider at the pinned commit (t5x/utils.py get_vocabulary)."""
    return register_mixture(name, languages, alpha).name


def register() -> None:
    """Registers the 107 tasks and `mt5_lm_adapt` (idempotent)."""
    register_mixture(MIXTURE_NAME)
