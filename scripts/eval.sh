#!/usr/bin/env bash
# Rank-classification evaluation of a checkpoint (T0 / mT0 protocol): t5x/eval.py + configs/runs/eval_score.gin.
#
#   CHECKPOINT_PATH=gs://bucket/mt0/xxl/checkpoint_1125000 EVAL_OUTPUT_DIR=gs://bucket/mt0/xxl/eval \
#     T5X_DIR=~/t5x scripts/eval.sh MIXTURE_OR_TASK_NAME="'mt5_bias_fairness_score_eval'"
#
# Settings (environment variables; each is printed at start, a missing required one stops the script):
#   CHECKPOINT_PATH  (required) the T5X checkpoint directory to evaluate
#   EVAL_OUTPUT_DIR  (required) where metrics are written
#   T5X_DIR          (required) a clone of github.com/google-research/t5x
#   MODEL_SIZE, PARTITIONING, TFDS_DATA_DIR, PYTHON, MT0_VOCAB, MT0_DATA_SOURCE: as in first_run.sh
#
# Options: --dry-run prints the exact command(s) instead of running them. Other arguments are
# passed on: --flags unchanged, NAME=VALUE as the gin override --gin.NAME=VALUE.
# The command is built by multilingual_t0/jobs/launch.py (job "eval").
set -euo pipefail

# shellcheck source=scripts/lib/launch.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/launch.sh"
launch eval "$@"
