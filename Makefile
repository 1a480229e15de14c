# Thin wrappers: every target builds its own virtual environment from the pinned lock file.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements/lock.txt | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=

.PHONY: venv test test-fast demo lint typecheck bench size clean local-up

$(STAMP): pyproject.toml requirements/lock.txt
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements/lock.txt -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

venv: $(STAMP)

test: venv  ## lint + type check + the whole test suite
	$(BIN)/ruff check layers functions tests
	$(BIN)/python -m pytest -q -n 2 $(PYTEST_ARGS)

test-fast: venv
	$(BIN)/python -m pytest -q -n 2 -m "not slow and not browser" $(PYTEST_ARGS)

demo: venv  ## the whole lifecycle on the local cloud (no AWS account, no Docker)
	$(BIN)/steward demo

local-up: venv
	$(BIN)/steward local up

lint: venv
	$(BIN)/ruff check layers functions tests

typecheck: venv
	$(BIN)/mypy layers/steward/modelsteward

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .steward
