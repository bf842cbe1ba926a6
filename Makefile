# make install | demo | test | bench | clean   (each target installs first)
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: install demo test bench clean

install: $(STAMP)

# Rebuilt only when the pins change; safe to re-run.
$(STAMP): requirements.txt requirements-nodeps.txt requirements-cache.txt requirements-convert.txt setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip wheel
	$(PIP) install --quiet -r requirements.txt
	$(PIP) install --quiet --no-deps --ignore-requires-python -r requirements-nodeps.txt
	# `mt0 convert` and its tests: transformers on PyTorch's CPU build (pinned exactly; see the file).
	$(PIP) install --quiet -r requirements-convert.txt
	$(PIP) install --quiet --no-deps -e .
	# Beam for scripts/cache_tasks.sh and `mt0 cache`.
	$(PIP) install --quiet -r requirements-cache.txt
	touch $(STAMP)

demo: install
	$(PY) -m multilingual_t0.jobs.demo

test: install
	$(PY) -m pytest -n 2 -q tests

bench: install
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .cache
