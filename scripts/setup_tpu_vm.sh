#!/usr/bin/env bash
# Prepare every worker of a TPU VM slice: copy this checkout to ~/multilingual_t0, install its pinned
# venv (make install, Python 3.11), clone T5X to ~/t5x at the commit the package is checked against
# (T5X_COMMIT), install it --no-deps with its runtime dependencies (requirements-t5x.txt from PyPI,
# requirements-t5x-nodeps.txt --no-deps at pinned commits), and jax[tpu] at the pinned jax version.
# Run from your workstation:
#
#   TPU_NAME=mt0-v4-256 ZONE=us-central2-b scripts/setup_tpu_vm.sh --dry-run
#
# Extra --flags are passed to both gcloud commands (e.g. --internal-ip).
#
# Settings (environment variables; each is printed at start, a missing required one stops the script):
#   TPU_NAME    (required) the TPU VM name (gcloud compute tpus tpu-vm list)
#   ZONE        (required) its zone
#   PROJECT     Google Cloud project (default: gcloud's configured one)
#   T5X_COMMIT  T5X commit, tag or branch to check out (default: multilingual_t0/jobs/t5x_pin.py's T5X_COMMIT)
#
# Options: --dry-run prints the exact command(s) instead of running them. Other arguments are
# passed on: --flags unchanged, NAME=VALUE as the gin override --gin.NAME=VALUE.
# The command is built by multilingual_t0/jobs/launch.py (job "setup_tpu_vm").
set -euo pipefail

# shellcheck source=scripts/lib/launch.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/launch.sh"
launch setup_tpu_vm "$@"
