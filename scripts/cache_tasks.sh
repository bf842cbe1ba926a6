#!/usr/bin/env bash
# Cache SeqIO tasks (tokenized, before the per-run steps) with seqio's cache_tasks_main and Apache Beam.
#
#   CACHE_DIR=/tmp/mt0_cache TASKS=super_glue_rte_GPT_3_style scripts/cache_tasks.sh
# Then train from the cache: CACHE_DIR=... scripts/first_run.sh (adds --seqio_additional_cache_dirs
# and USE_CACHED_TASKS=True). Needs apache-beam[tfrecord] (pip install -r requirements-cache.txt).
#
# Locally Beam's DirectRunner is used (--runner=BundleBasedDirectRunner: the in-process DirectRunner
# without the Prism runner that recent Beam downloads at run time). At scale pass Dataflow's options instead (one flag, a
# comma-separated list; the workers install this package from its setup.py):
#   scripts/cache_tasks.sh --pipeline_options=--runner=DataflowRunner,--project=MY_PROJECT,\
#     --region=us-central1,--temp_location=gs://bucket/tmp,--staging_location=gs://bucket/staging,\
#     --setup_file=$PWD/setup.py,--requirements_file=$PWD/requirements.txt,--num_workers=100,\
#     --experiments=use_runner_v2
# Other cache_tasks_main flags pass through too (--min_shards, --max_shards, --overwrite, ...).
#
# Settings (environment variables; each is printed at start, a missing required one stops the script):
#   CACHE_DIR      (required) output directory (gs:// for Dataflow)
#   TASKS          comma-separated tasks or mixtures (default mt5_d4_gpt_sglue_train); mixtures expand
#   TFDS_DATA_DIR  TensorFlow Datasets data directory, if a task reads TFDS
#   PYTHON, MT0_VOCAB, MT0_DATA_SOURCE, MT0_DATA_DIR: as in first_run.sh. They travel with the job:
#                  written into multilingual_t0/data/job_settings.json while it runs (Dataflow installs
#                  that with the package); a worker whose own values differ stops. On Dataflow they
#                  must be gs:// paths (a local one is refused).
#
# Options: --dry-run prints the exact command(s) instead of running them. Other arguments are
# passed on: --flags unchanged, NAME=VALUE as the gin override --gin.NAME=VALUE.
# The command is built by multilingual_t0/jobs/launch.py (job "cache").
set -euo pipefail

# shellcheck source=scripts/lib/launch.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/launch.sh"
# Through job_settings: the MT0_* settings are baked into the package the workers install (see there).
exec "${PYTHON}" -m multilingual_t0.jobs.job_settings cache "$@"
