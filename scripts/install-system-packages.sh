#!/usr/bin/env bash
# Installs the Debian packages joinedup's tests use, only where they are missing:
# python3-venv (the Makefile's virtual environment), a PostgreSQL server (programme store
# tests), Chromium (browser tests), a Java runtime (Spark tests: Debian 12's OpenJDK 17),
# the shared libraries a standard Debian 12 install lacks (LightGBM's OpenMP runtime
# libgomp1; libatomic1 for Playwright's driver), and the libraries WeasyPrint and poppler
# need for the board pack.
set -euo pipefail

need=()
# Debian's python3 has no ensurepip (so no `python3 -m venv`) without python3-venv.
"${PYTHON:-python3}" -c "import ensurepip" 2>/dev/null || need+=(python3-venv)
[ -x /usr/lib/postgresql/15/bin/initdb ] || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
command -v chromium >/dev/null || need+=(chromium)
# Spark finds Java on PATH or in JAVA_HOME (src/joinedup/warehouse/spark.py).
command -v java >/dev/null || [ -x "${JAVA_HOME:-/nonexistent}/bin/java" ] || need+=(openjdk-17-jre-headless)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
dpkg -s libgomp1 >/dev/null 2>&1 || need+=(libgomp1)
dpkg -s libatomic1 >/dev/null 2>&1 || need+=(libatomic1)
dpkg -s libpango-1.0-0 >/dev/null 2>&1 || need+=(libpango-1.0-0 libpangoft2-1.0-0)
dpkg -s fonts-dejavu-core >/dev/null 2>&1 || need+=(fonts-dejavu-core)

if [ ${#need[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "system packages: need root (or sudo) to install: ${need[*]}" >&2
    exit 1
  fi
fi
echo "system packages: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
# OpenJDK's postinst links its manual pages and fails where a slim image removed the folder.
$sudo mkdir -p /usr/share/man/man1
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
