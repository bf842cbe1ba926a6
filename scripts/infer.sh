#!/usr/bin/env bash
# Decode prompts with a checkpoint: t5x/infer.py + configs/runs/infer.gin (JSONL predictions).
#
#   CHECKPOINT_PATH=gs://bucket/mt0/xxl/checkpoint_1125000 INFER_OUTPUT_DIR=gs://bucket/mt0/xxl/infer \
#     T5X_DIR=~/t5x scripts/infer.sh --dry-run
#
# Settings (environment variables; each is printed at start, a missing required one stops the script):
#   CHECKPOINT_PATH   (required) the T5X checkpoint directory to load
#   INFER_OUTPUT_DIR  (required) where predictions are written
#   T5X_DIR           (required) a clone of github.com/google-research/t5x
#   MODEL_SIZE, PARTITIONING, TFDS_DATA_DIR, PYTHON, MT0_VOCAB, MT0_DATA_SOURCE: as in first_run.sh
#
# Options: --dry-run prints the exact command(s) instead of running them. Other arguments are
# passed on: --flags unchanged, NAME=VALUE as the gin override --gin.NAME=VALUE.
# The command is built by multilingual_t0/jobs/launch.py (job "infer").
set -euo pipefail

# shellcheck source=scripts/lib/launch.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/launch.sh"
launch infer "$@"
