#!/usr/bin/env bash
# LM-adapt mT5 (+100,000 steps of the prefix-LM objective on mC4) with T5X: configs/runs/lm_adapt.gin.
#
#   MODEL_DIR=gs://bucket/mt5_lm_adapt/xxl TFDS_DATA_DIR=gs://bucket/tfds T5X_DIR=~/t5x scripts/lm_adapt.sh --dry-run
#
# Settings (environment variables; each is printed at start, a missing required one stops the script):
#   MODEL_DIR      (required) where T5X writes checkpoints, summaries and config.gin
#   TFDS_DATA_DIR  (required) TensorFlow Datasets data directory holding c4/multilingual (mC4)
#   T5X_DIR        (required) a clone of github.com/google-research/t5x
#   MODEL_SIZE, PARTITIONING, CACHE_DIR, PYTHON, MT0_VOCAB, MT0_DATA_SOURCE: as in first_run.sh
#
# Options: --dry-run prints the exact command(s) instead of running them. Other arguments are
# passed on: --flags unchanged, NAME=VALUE as the gin override --gin.NAME=VALUE.
# The command is built by multilingual_t0/jobs/launch.py (job "lm_adapt").
set -euo pipefail

# shellcheck source=scripts/lib/launch.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/launch.sh"
launch lm_adapt "$@"
