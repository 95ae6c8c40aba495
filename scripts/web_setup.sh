#!/usr/bin/env bash
# Browser assets and the test browser for the web dashboard. Idempotent and quiet.
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
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing Debian's chromium for the browser tests"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
    || echo "warning: chromium could not be installed: browser tests will skip" >&2
fi
