#!/usr/bin/env bash
# Create .venv and install patrolcast from requirements.lock (every dependency and extra pinned
# with SHA-256 hashes: pip install --require-hashes), then patrolcast itself without
# dependencies. Idempotent and quiet. Refuses a lock that no longer matches pyproject.toml's
# dependencies (regenerate it: bash scripts/lock.sh, then commit requirements.lock).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -f requirements.lock ]; then
  echo "error: requirements.lock is missing: run bash scripts/lock.sh" >&2
  exit 1
fi
recorded=$(sed -n 's/^# pyproject-dependencies-sha256: //p' requirements.lock)
current=$("$PY" scripts/lock_fingerprint.py)
if [ "$recorded" != "$current" ]; then
  echo "error: requirements.lock is older than the dependencies in pyproject.toml:" >&2
  echo "       run bash scripts/lock.sh, then commit requirements.lock" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.patrolcast-installed
if [ ! -f "$stamp" ] || [ requirements.lock -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "==> installing patrolcast's locked dependencies into .venv (first run takes a few minutes)"
  .venv/bin/python -m pip install --quiet --require-hashes -r requirements.lock
  .venv/bin/python -m pip install --quiet --no-deps -e .
  touch "$stamp"
fi
bash scripts/web_setup.sh  # the web dashboard: npm ci (Leaflet, axe-core); Debian chromium for browser tests
