"""Importing this module registers the mT0 SeqIO tasks and mixtures (the only import side effect).

Registered:
* one task per (catalog dataset, promptsource template), named `{dataset}_{subset}_{template}`
  (ANLI: `anli_{template}_r1` ... per round, as T0 names them), splits as in the catalog;
* for every template with answer choices, its rank-classification twin `<task>_score_eval`;
* mixtures `mt5_d4_train`, `mt5_gpt_train`, `mt5_sglue_train`, `mt5_d4_gpt_train`,
  `mt5_d4_gpt_sglue_train` (T0 rates), `mt5_d4_eval` (original-task templates of the held-out
  datasets), `mt5_d4_score_eval`, `mt5_bias_fairness_eval`, `mt5_bias_fairness_score_eval`.
* mT5 LM adaptation (registry/lm_adapt.py): `mt5_lm_adapt.<lang>` for the 107 mC4 splits and the mixture
  `mt5_lm_adapt` (p(L) ∝ pages^0.3);
* zero-shot evaluation (registry/xeval.py, data/xeval.csv, data/paper_prompts.csv): `<benchmark>.<lang>_<template>_score_eval`
  for XNLI, XCOPA, XStoryCloze, XWinograd (English prompts on every language); mixtures with the mT0 paper's
  5 prompts and languages `mt5_<benchmark>_score_eval`, `mt5_xeval_score_eval` (all four) and
  `mt5_mt0_heldout_score_eval` (English: ANLI, CB, RTE, COPA, StoryCloze, WinoGrande); every template:
  `mt5_<benchmark>_all_prompts_score_eval`, `mt5_xeval_all_prompts_score_eval`,
  `mt5_mt0_heldout_all_prompts_score_eval`; and `mt5_t0_heldout_score_eval` (every template of T0's held-out sets).
* xP3 (registry/xp3.py): `xp3.<lang>` and `xp3mt.<lang>` (46 languages each), mixtures `mt5_xp3_train` and
  `mt5_xp3mt_train` (rate = the language's samples). `custom.add_task` adds the user's own files.

No network, no file writes, no output, no randomness; data is needed only when a dataset is built.
Importing twice (or calling `registry.all_tasks.register_all()` again) changes nothing.
"""

from __future__ import annotations

from multilingual_t0.registry.all_tasks import register_all

register_all()
