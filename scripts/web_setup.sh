#!/usr/bin/env bash
# Browser assets for the web dashboard and the Debian packages the tests use. Idempotent, quiet.
# - npm ci: Leaflet (served by the app) and axe-core (injected by the browser tests) into
#   node_modules/ (never copied into the repository; nothing is fetched at run time).
# - Debian's chromium for the Playwright browser tests, when running as root and it is absent
#   (never Playwright's own browser download).
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v npm >/dev/null 2>&1; then
  if [ ! -d node_modules/leaflet ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "==> installing the web dashboard's browser assets (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
else
  echo "warning: npm not found: the web dashboard's map library is missing (install nodejs/npm)" >&2
fi
# Debian packages the tests use, installed when running as root and absent:
# - chromium: the Playwright browser tests (never Playwright's own browser download);
# - gdal-bin: `ogrinfo`, which the tests use to open every GIS output as a GIS user would;
# - libpango-1.0-0 / libpangoft2-1.0-0: the text layout WeasyPrint needs for PDF briefing packs.
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v ogrinfo >/dev/null 2>&1 || need+=(gdal-bin)
ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0' || need+=(libpango-1.0-0 libpangoft2-1.0-0)
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing Debian packages: ${need[*]}"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null \
    || echo "warning: ${need[*]} could not be installed: the tests that need them will fail or skip" >&2
fi
