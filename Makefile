# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make demo   -> creates .venv, installs mixflow, simulates a brand, fits it, writes a report
#   make test   -> creates .venv, installs mixflow[dev], runs ruff, mypy and the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench clean install

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/mixflow demo --out runs/demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

bench: $(STAMP)
	$(BIN)/python bench/fit_speed.py
	$(BIN)/python bench/simulate_optimize.py

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache
