# Two commands matter: `make run` starts everything, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test bench soak lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(PY)
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(PY) scripts/run.py

test: $(VENV)/.installed-dev
	@scripts/ensure_package.sh /usr/bin/chromium chromium "the admin browser tests"
	@scripts/ensure_package.sh /usr/bin/wrk wrk "the load generator's tests"
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed-dev
	@scripts/ensure_package.sh /usr/bin/wrk wrk "the benchmarks"
	$(PY) bench/run.py $(BENCH_ARGS)

# Not part of `make test`: a steady load for SOAK_SECONDS (default 600), then docs/SOAK.md and its plot.
soak: $(VENV)/.installed-dev
	$(PY) bench/soak.py

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .

clean:
	rm -rf .run
