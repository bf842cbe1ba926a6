# make install | demo | test | bench | clean   (each target installs first)
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: install demo test bench clean

install: $(STAMP)

# Rebuilt only when the pins change; safe to re-run.
$(STAMP): requirements.txt requirements-nodeps.txt setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip wheel
	$(PIP) install --quiet -r requirements.txt
	$(PIP) install --quiet --no-deps t5==0.9.4
	$(PIP) install --quiet --no-deps --ignore-requires-python promptsource==0.2.3
	$(PIP) install --quiet --no-deps -e .
	touch $(STAMP)

demo: install
	$(PY) -m multilingual_t0.demo

test: install
	$(PY) -m pytest -n 2 -q tests

bench: install
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .cache
