#!/usr/bin/env bash
# Create .venv-oracle: an independent implementation of the comorbidity scores (comorbidipy 0.8,
# a polars package that needs Python 3.13) used by tests/risk and benchmarks/scores_benchmark.py.
# Idempotent: re-running keeps a working environment and only installs what is missing.
# Python 3.13 is taken from $ORACLE_PYTHON, else pyenv, else python3.13 on PATH. Where there is
# none (a fresh Debian 12 has Python 3.11 only) nothing is made and the tests compare with
# comorbidipy's stored answers in tests/risk/comorbidipy/ (see tests/risk/comorbidipy_answers.py).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-oracle
SPEC="comorbidipy==0.8.*"

find_python() {
  if [[ -n "${ORACLE_PYTHON:-}" ]]; then echo "$ORACLE_PYTHON"; return; fi
  if command -v pyenv >/dev/null 2>&1; then
    local v
    v=$(pyenv versions --bare 2>/dev/null | grep -E '^3\.13(\.[0-9]+)?$' | sort -V | tail -n1 || true)
    if [[ -n "$v" ]]; then echo "$(pyenv root)/versions/$v/bin/python3.13"; return; fi
  fi
  if command -v python3.13 >/dev/null 2>&1; then command -v python3.13; return; fi
}

if [[ ! -x "$VENV/bin/python" ]]; then
  PY=$(find_python)
  if [[ -z "$PY" ]]; then
    echo "setup-oracles: no Python 3.13 (set ORACLE_PYTHON, or: pyenv install 3.13), so no" \
      "$VENV: tests/risk compares with comorbidipy's stored answers in tests/risk/comorbidipy/"
    exit 0
  fi
  echo "setup-oracles: creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi
if "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(0 if m.version('comorbidipy').startswith('0.8.') else 1)" 2>/dev/null; then
  echo "setup-oracles: $VENV already has comorbidipy $("$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('comorbidipy'))")"
else
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet "$SPEC" pandas pyarrow
  echo "setup-oracles: installed $("$VENV/bin/python" -m pip show comorbidipy | grep -i '^version')"
fi
