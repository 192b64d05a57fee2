#!/usr/bin/env bash
# Vendors the NHS.UK design system (nhsuk-frontend, built CSS, JS and assets) into
# src/joinedup/web/static/vendor/nhsuk-frontend/ from the npm package, so the web app
# never loads anything from a CDN or the network at run time. The vendored files are
# committed; run this again only to move to another pinned version.
#   scripts/vendor-frontend.sh            # the pinned version
#   NHSUK_FRONTEND_VERSION=10.1.0 scripts/vendor-frontend.sh
set -euo pipefail

VERSION="${NHSUK_FRONTEND_VERSION:-10.1.0}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/src/joinedup/web/static/vendor/nhsuk-frontend"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

cd "$TMP"
npm pack --silent "nhsuk-frontend@${VERSION}" >/dev/null
tar -xzf "nhsuk-frontend-${VERSION}.tgz"
DIST="$TMP/package/dist"
[ -d "$DIST" ] || { echo "nhsuk-frontend ${VERSION}: no dist/ folder in the package" >&2; exit 1; }

css="$(ls "$DIST"/nhsuk/nhsuk-frontend.min.css 2>/dev/null || ls "$DIST"/*.min.css | head -1)"
js="$(ls "$DIST"/nhsuk/nhsuk-frontend.min.js 2>/dev/null || ls "$DIST"/*.min.js | head -1)"
assets="$(ls -d "$DIST"/nhsuk/assets 2>/dev/null || ls -d "$DIST"/assets)"

rm -rf "$DEST"
mkdir -p "$DEST"
cp "$css" "$DEST/nhsuk-frontend.min.css"
cp "$js" "$DEST/nhsuk-frontend.min.js"
cp -r "$assets" "$DEST/assets"
# The package's CSS loads the Frutiger web fonts from assets.nhs.uk (licensed, not in
# the package): drop those @font-face rules so nothing is fetched at run time; the
# design system's own fallback stack (Arial, sans-serif) is used instead.
python3 - "$DEST/nhsuk-frontend.min.css" <<'PY'
import re, sys
path = sys.argv[1]
css = open(path, encoding="utf-8").read()
css, n = re.subn(r"@font-face\{[^}]*\}", "", css)
assert "https://" not in css, "vendored CSS still refers to the network"
open(path, "w", encoding="utf-8").write(css)
print(f"removed {n} @font-face rules that load fonts from the network")
PY
printf 'nhsuk-frontend %s (MIT licence, Crown copyright / NHS England), vendored from the npm package by scripts/vendor-frontend.sh\n' \
  "$VERSION" >"$DEST/VERSION"
echo "vendored nhsuk-frontend ${VERSION} into ${DEST#"$ROOT"/}"
