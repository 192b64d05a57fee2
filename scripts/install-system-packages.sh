#!/usr/bin/env bash
# Installs the Debian packages joinedup's tests use, only where they are missing:
# a PostgreSQL server (programme store tests), Chromium (browser tests), and the
# libraries WeasyPrint and poppler need for the board pack.
set -euo pipefail

need=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
command -v chromium >/dev/null || need+=(chromium)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
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
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
