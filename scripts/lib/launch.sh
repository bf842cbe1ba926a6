# shellcheck shell=bash
# Sourced by scripts/*.sh: runs `python -m multilingual_t0.jobs.launch JOB ARGS...` with this checkout's
# interpreter (PYTHON, else .venv/bin/python, else python3). All logic lives in launch.py.
REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x "${REPO_DIR}/.venv/bin/python" ]]; then PYTHON="${REPO_DIR}/.venv/bin/python"; else PYTHON=python3; fi
fi
export PYTHON
export PYTHONPATH="${REPO_DIR}${PYTHONPATH:+:${PYTHONPATH}}"

launch() {
  exec "${PYTHON}" -m multilingual_t0.jobs.launch "$@"
}
