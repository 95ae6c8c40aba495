#!/usr/bin/env bash
# One command for a newcomer: set everything up, then run the main job on real data from
# ../shared/data (ingest, forecast, backtest, report). Results land in out/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/patrolcast demo "$@"
