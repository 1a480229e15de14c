# Thin wrappers: every target builds its own virtual environment from the pinned lock file.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# strict mypy (pyproject.toml) on the runtime, the tools, each handler (every app.py is module
# "app", so one run per function; MYPYPATH lets mypy follow the editable install's packages) and the
# tests, one run per suite with the path pytest gives it: tests/support and the suite's own folder
# (helpers such as registry_fixtures are top-level modules there; every suite has its own conftest)
MYPY_ALL = $(BIN)/mypy layers/steward/modelsteward tools/stewardtools && \
	for f in functions/*/app.py; do MYPYPATH=layers/steward:tools $(BIN)/mypy --no-error-summary $$f || exit 1; done && \
	MYPYPATH=layers/steward:tools:tests/support $(BIN)/mypy --no-error-summary tests/conftest.py tests/support tests/unit && \
	for s in integration e2e infrastructure reliability; do \
		MYPYPATH=layers/steward:tools:tests/support:tests/$$s $(BIN)/mypy --no-error-summary tests/$$s || exit 1; done
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements/lock.txt | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=
CHECKOV_VENV := .venv-checkov
# offline: no guideline download from the vendor's API (tests and gates reach no network)
CHECKOV := BC_SKIP_MAPPING=TRUE $(CHECKOV_VENV)/bin/checkov --skip-download --config-file infra/checkov.yaml

.PHONY: venv test test-fast demo lint typecheck bench bench-sensitivity size sam-build docs-cli clean local-up

# pip prints each package as it goes (no -q): a first install takes minutes and should show it.
PIP_PROGRESS := --progress-bar on --no-color
step = @echo "==> [$$(date +%H:%M:%S)] $(1)"

$(STAMP): pyproject.toml requirements/lock.txt
	$(call step,creating $(VENV) (first run only: installs the pinned lock, a few minutes))
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_PROGRESS) --upgrade pip
	$(call step,installing model-steward and its pinned dependencies into $(VENV))
	$(BIN)/python -m pip install $(PIP_PROGRESS) -c requirements/lock.txt -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)
	$(call step,$(VENV) ready)

venv: $(STAMP)

test: venv $(CHECKOV_VENV)/.ok  ## static gates + the whole test suite
	$(call step,1/5 ruff (check and format))
	$(BIN)/ruff check layers tools functions tests
	$(BIN)/ruff format --check layers tools functions tests bench
	$(call step,2/5 mypy (strict: runtime, tools, handlers, tests))
	$(MYPY_ALL)
	$(call step,3/5 bandit)
	$(BIN)/bandit -q -r layers tools functions -s B101  # static gate (docs/security.md); B101: asserts only narrow types
	$(call step,4/5 checkov on template.yaml)
	$(CHECKOV)  # quiet, compact; skips justified in infra/checkov.yaml
	$(call step,5/5 pytest (every suite; one dot per test))
	$(BIN)/python -m pytest -q -n 2 --dist loadscope --cov --cov-report= $(PYTEST_ARGS)  # floor: pyproject.toml

test-fast: venv
	$(BIN)/python -m pytest -q -n 2 --dist loadscope -m "not slow and not browser" $(PYTEST_ARGS)

demo: venv  ## the whole lifecycle on the local cloud (no AWS account, no Docker)
	$(call step,steward demo (each step prints when it starts and how long it took))
	$(BIN)/steward demo

local-up: venv
	$(BIN)/steward local up

lint: venv
	$(BIN)/ruff check layers tools functions tests
	$(BIN)/ruff format --check layers tools functions tests bench

typecheck: venv
	$(MYPY_ALL)

docs-cli: venv  ## docs/cli.md from the real --help output (tests/unit/test_cli_reference.py checks it)
	$(BIN)/python tests/support/cli_reference.py > docs/cli.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .steward

# --- performance and packaging (docs/performance.md) ---------------------------------------------
# make bench                              # 10k, 100k, 1M rows x 25 columns, wide (200 columns), many batches
# make bench BENCH_SIZES=10000,100000     # quick run
# make bench-sensitivity                  # only the sensitivity case (bench/sensitivity.py, ~1 min)
# Evidently and NannyML run in their own venvs, created from PyPI on first use (Evidently 0.7
# needs pandas < 3; NannyML 0.13 imports statsmodels without declaring it).
BENCH_SIZES ?= 10000,100000,1000000
BENCH_RUNS ?= 3
BENCH_PEER_RUNS_1M ?= 3
BENCH_ARGS ?=  # e.g. --skip-wide --skip-many --skip-sensitivity --skip-estimation --skip-byom
BENCH_EVIDENTLY := .venv-bench-evidently
BENCH_NANNYML := .venv-bench-nannyml

$(BENCH_EVIDENTLY)/.ok:
	$(PY) -m venv $(BENCH_EVIDENTLY)
	$(BENCH_EVIDENTLY)/bin/python -m pip install -q 'evidently==0.7.*' 'pandas<3' pyarrow
	touch $@

$(BENCH_NANNYML)/.ok:
	$(PY) -m venv $(BENCH_NANNYML)
	$(BENCH_NANNYML)/bin/python -m pip install -q nannyml statsmodels pyarrow
	touch $@

bench: venv $(BENCH_EVIDENTLY)/.ok $(BENCH_NANNYML)/.ok
	$(BIN)/python bench/run.py --sizes $(BENCH_SIZES) --runs $(BENCH_RUNS) --peer-runs-1m $(BENCH_PEER_RUNS_1M) \
		--evidently $(BENCH_EVIDENTLY)/bin/python --nannyml $(BENCH_NANNYML)/bin/python $(BENCH_ARGS)

bench-sensitivity: venv $(BENCH_EVIDENTLY)/.ok $(BENCH_NANNYML)/.ok
	$(BIN)/python bench/sensitivity.py --evidently $(BENCH_EVIDENTLY)/bin/python --nannyml $(BENCH_NANNYML)/bin/python

# Every function's deployment (code + its layers, unzipped) vs Lambda's 250 MiB, the modelsteward
# modules it holds (listed in $(SIZE_DIR)/modules/) vs those its handler reaches, each run as Lambda
# loads it in python3.12 (bench/size.py; CI runs it). Fails when one is over, inexact or broken.
SIZE_DIR ?= .bench/size
size: venv
	$(BIN)/python bench/size.py --out $(SIZE_DIR)

# `sam build` without Docker (needs python3.12 and make): SAM CLI in its own venv, pinned.
SAM_VENV := .venv-sam
SAM_CLI_VERSION ?= 1.170.0
PY312 ?= $(shell $(PY) -c 'import sys; sys.path.insert(0, "layers/deps"); \
	from build_layer import python312; print(python312() or "")')

$(SAM_VENV)/.ok-$(SAM_CLI_VERSION):
	$(call step,creating $(SAM_VENV) with SAM CLI $(SAM_CLI_VERSION) (first run only))
	$(PY) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install $(PIP_PROGRESS) 'aws-sam-cli==$(SAM_CLI_VERSION)'
	touch $@

sam-build: $(SAM_VENV)/.ok-$(SAM_CLI_VERSION)
	@test -n "$(PY312)" || (echo "sam build needs python3.12 (the Lambda runtime) on this machine" >&2; exit 2)
	@# python3.12 on PATH by that name; not inside the venv (its pyvenv.cfg would capture it)
	mkdir -p $(SAM_VENV)-python312 && ln -sf "$(PY312)" $(SAM_VENV)-python312/python3.12
	PATH="$(CURDIR)/$(SAM_VENV)-python312:$(CURDIR)/$(SAM_VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 \
		sam build  # samconfig.toml next to template.yaml

# --- reliability and security gates (docs/reliability.md, docs/security.md) ---------------------------
# make reliability-report   # fuzz + tests/reliability + the hostile corpus, then renders docs/reliability.md
# make checkov              # checkov on template.yaml in its own venv (a large dependency tree from
#                           # PyPI, kept apart from .venv; `make test` builds it on first use)
# make pip-audit            # known vulnerabilities in requirements/lock.txt (needs PyPI's advisory service)
RELIABILITY_OUT ?= build/reliability
AUDIT_VENV := .venv-pip-audit

reliability-report: venv
	rm -rf $(RELIABILITY_OUT)/fuzz
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit/test_ingest_fuzz.py --basetemp=$(RELIABILITY_OUT)/fuzz
	RELIABILITY_RESULTS=$(RELIABILITY_OUT) $(BIN)/python -m pytest -q -n 2 --dist loadscope tests/reliability
	rm -rf $(RELIABILITY_OUT)/hostile
	RELIABILITY_RESULTS=$(RELIABILITY_OUT) $(BIN)/python -m pytest -q -p no:cacheprovider \
		tests/unit/test_hostile_check.py tests/e2e/test_hostile_cloud.py
	$(BIN)/python tests/reliability/render_report.py --results $(RELIABILITY_OUT) --out docs/reliability.md

$(CHECKOV_VENV)/.ok:
	$(call step,creating $(CHECKOV_VENV) for checkov (first run only: a large dependency tree))
	$(PY) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install $(PIP_PROGRESS) 'checkov==3.3.30'
	touch $@

checkov: $(CHECKOV_VENV)/.ok
	$(CHECKOV)

$(AUDIT_VENV)/.ok:
	$(PY) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/python -m pip install -q pip-audit
	touch $@

pip-audit: $(AUDIT_VENV)/.ok
	$(AUDIT_VENV)/bin/pip-audit --no-deps --disable-pip -r requirements/lock.txt

.PHONY: reliability-report checkov pip-audit
