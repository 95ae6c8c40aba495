#!/usr/bin/env bash
# Create .venv and install patrolcast with its development extras. Idempotent and quiet.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.patrolcast-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "==> installing patrolcast and its dependencies into .venv (first run takes a few minutes)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev,api,postgres]"
  touch "$stamp"
fi
bash scripts/web_setup.sh  # the web dashboard: npm ci (Leaflet, axe-core); Debian chromium for browser tests
