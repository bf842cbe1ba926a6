#!/usr/bin/env bash
# Fine-tune mT5-XXL into mT0 on mt5_d4_gpt_sglue_train with T5X (the original run, corrected).
#
#   MODEL_DIR=gs://bucket/mt0/xxl TFDS_DATA_DIR=gs://bucket/tfds T5X_DIR=~/t5x scripts/first_run.sh --dry-run
#   scripts/first_run.sh BATCH_SIZE=256 --gin.TRAIN_STEPS=1_050_000
#
# Runs `python $T5X_DIR/t5x/train.py` with configs/models/mt5_$MODEL_SIZE.gin and
# configs/runs/$RUN_GIN.gin. On a multi-host slice run it on every worker at once
# (gcloud compute tpus tpu-vm ssh ... --worker=all --command=...; see README).
#
# Settings (environment variables; each is printed at start, a missing required one stops the script):
#   MODEL_DIR      (required) where T5X writes checkpoints, summaries and config.gin
#   TFDS_DATA_DIR  (required) TensorFlow Datasets data directory (--tfds_data_dir)
#   T5X_DIR        (required) a clone of github.com/google-research/t5x
#   RUN_GIN        mt0_finetune (default, the original recipe) or mt0_paper (the mT0 paper's)
#   MODEL_SIZE     small|base|large|xl|xxl (default xxl; picks the matching checkpoint)
#   START_CHECKPOINT  mt5 (default: mT5, step 1,000,000) | mt5_lm_adapted (T5X's released LM-adapted mT5,
#                  step 1,100,000) | none (from scratch) | a path ending in checkpoint_<step>
#   FINETUNE_STEPS steps after the start checkpoint's own (default 125,000): sets TRAIN_STEPS
#   PARTITIONING   v3_256|v4_128|v4_256: adds configs/partitioning/$PARTITIONING.gin
#   CACHE_DIR      read tasks cached by scripts/cache_tasks.sh (sets USE_CACHED_TASKS=True)
#   PYTHON         interpreter (default: .venv/bin/python if present, else python3)
#   MT0_VOCAB, MT0_DATA_SOURCE, MT0_DATA_DIR: the package's vocabulary and data settings
#
# Options: --dry-run prints the exact command(s) instead of running them. Other arguments are
# passed on: --flags unchanged, NAME=VALUE as the gin override --gin.NAME=VALUE.
# The command is built by multilingual_t0/jobs/launch.py (job "train").
set -euo pipefail

# shellcheck source=scripts/lib/launch.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/launch.sh"
launch train "$@"
