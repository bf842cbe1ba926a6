"""The T5X this package is checked against, and the facts about it the package relies on, each stated
once here with the T5X file it comes from (google-research/t5x at T5X_COMMIT).

`data/t5x_names.csv` lists T5X's configurable names and its gin files' macros at the same commit; it
is written by `scripts/refresh_t5x_names.py`, which needs a T5X checkout and also re-checks the facts
below against it. Tests check our gin files against these facts and that table, so CI needs no T5X.
"""

from __future__ import annotations

import os

from multilingual_t0.catalog.tables import DATA_DIR

T5X_GIT = "https://github.com/google-research/t5x"
# 2026-04-21 ("internal change."); override on TPU VMs with T5X_COMMIT=... (scripts/setup_tpu_vm.sh).
T5X_COMMIT = "cc342d419ec3e3e9c4bf1df33c82330cafdc1e16"
NAMES_TABLE = os.path.join(DATA_DIR, "t5x_names.csv")

# t5x/examples/t5/mt5/base.gin: `network.T5Config.vocab_size = 250112` (mT5's 250,100 pieces rounded
# up to a multiple of 128). The checkpoints' embedding shape: our model gins must bind the same.
MT5_VOCAB_SIZE = 250112
MT5_VOCAB_SIZE_SOURCE = ("t5x/examples/t5/mt5/base.gin", "network.T5Config", "vocab_size")

# docs/models.md, "mT5 Checkpoints": T5X's own copies of the released mT5 (no Mesh TF conversion on restore).
MT5_CHECKPOINT = "gs://t5-data/pretrained_models/t5x/mt5_{size}/checkpoint_1000000"
MT5_STEP = 1_000_000

# docs/models.md, "mT5 LM-Adapted Checkpoints": mT5 trained 100k more steps on the LM objective.
MT5_LM_ADAPTED_CHECKPOINT = "gs://t5-data/pretrained_models/t5x/mt5_lm_adapted/{size}/checkpoint_1100000"
MT5_LM_ADAPTED_STEP = 1_100_000
MODELS_DOC = "docs/models.md"


def load_names(path: str = NAMES_TABLE) -> list:
    """The rows of data/t5x_names.csv as dicts (file, name, kind, value)."""
    import csv

    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
