# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make demo       -> creates .venv, installs the locked environment and mixflow, simulates a
#                      brand, fits it, writes a report
#   make test       -> the same environment, then ruff, mypy, the import contract and the whole
#                      test suite (what CI runs)
#   make test-fast  -> the suite without the slow statistical tests (the inner loop)
#   make lock       -> re-resolve requirements*.lock from pyproject.toml (keeps today's pins
#                      where they still fit; `make lock-upgrade` moves every pin to the newest)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip --disable-pip-version-check
# The lock is resolved for CI's and the developers' machines: CPython 3.11 on linux x86_64.
LOCK_FLAGS := --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	--custom-compile-command "make lock" --quiet

.PHONY: demo test test-fast lint typecheck imports bench clean install lock lock-upgrade chromium

$(STAMP): pyproject.toml requirements-dev.lock
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet -r requirements-dev.lock
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/mixflow demo --out runs/demo

lint: $(STAMP) imports
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

# The layering contract in pyproject.toml ([tool.importlinter]).
imports: $(STAMP)
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# The planner's browser tests drive Debian's Chromium (Playwright's own download does not work
# here); installed with apt-get when missing (CI runs this as root).
chromium:
	test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

test: lint typecheck chromium
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q -m "not slow"

$(BIN)/uv:
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet "$$(grep '^uv==' requirements-dev.lock)"

lock: $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --extra dev $(LOCK_FLAGS) -o requirements-dev.lock
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) -c requirements-dev.lock -o requirements.lock

lock-upgrade: $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --extra dev $(LOCK_FLAGS) --upgrade -o requirements-dev.lock
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) -c requirements-dev.lock -o requirements.lock

bench: $(STAMP)
	$(BIN)/python bench/fit_speed.py
	$(BIN)/python bench/simulate_optimize.py

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache
