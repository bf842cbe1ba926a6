"""Registers every task and mixture of the package (what `import multilingual_t0.tasks` does).

Idempotent: a second call registers nothing. In a launched Beam job the launcher's data settings are
adopted first (or the process stops on a difference), since registration binds the vocabulary.
"""

from __future__ import annotations

from multilingual_t0 import settings
from multilingual_t0.pipeline import vocab
from multilingual_t0.registry import lm_adapt, t0, xeval, xp3


def register_all() -> None:
    settings.adopt_job_settings()  # a launched job's (Beam worker's) MT0_* settings, or a loud stop
    features = vocab.output_features()
    t0.register(features)  # data/datasets.csv x promptsource templates
    xeval.register(features)  # zero-shot evaluation: data/xeval.csv
    lm_adapt.register()  # mT5 LM adaptation on mC4: data/mc4_languages.csv
    xp3.register()  # xP3 / xP3mt: data/xp3_languages.csv, data/xp3mt_languages.csv
