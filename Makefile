# The two commands: `make demo` and `make test`. Each does all of its own set-up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint format bench docs system-packages oracles clean

demo: $(STAMP) system-packages
	$(BIN)/joinedup demo

test: $(STAMP) system-packages oracles
	JOINEDUP_REQUIRE_ALL=1 $(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

docs: $(STAMP)
	$(BIN)/joinedup schema docs --out docs/schema.md
	$(BIN)/joinedup settings --markdown --out docs/settings.md
	$(BIN)/joinedup mappings --markdown --out docs/layouts.md

# The virtual environment, rebuilt whenever pyproject.toml changes (after the Debian
# packages: a fresh Debian 12 has no python3-venv).
$(STAMP): pyproject.toml | system-packages
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

# Independent implementations the tests compare against (comorbidipy on Python 3.13, where
# there is one; elsewhere the tests use its stored answers, tests/risk/comorbidipy/).
oracles:
	bash scripts/setup-oracles.sh

# Debian packages the tests need (python3-venv, PostgreSQL server, Chromium, Java),
# installed only if missing.
system-packages:
	bash scripts/install-system-packages.sh

clean:
	rm -rf $(VENV) joinedup-data .pytest_cache .ruff_cache .hypothesis test-artifacts
