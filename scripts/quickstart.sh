#!/usr/bin/env bash
# One command for a newcomer: set everything up, then run the main job on real data from
# ../shared/data (ingest, forecast, backtest, report); without that folder the demo says so and
# fetches a small real sample (City of London, last 12 months, data.police.uk API) into the
# data home, or stops with one line when offline. Results land in out/demo/. Then seed
# a DEMO database for the web dashboard (var/demo-web) and print how to serve and sign in.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/patrolcast demo "$@"
# The web dashboard on a DEMO database (demo accounts, the demo's forecasts; never real use).
if [ -e var/demo-web/patrolcast.db ]; then
  echo "DEMO database already seeded in var/demo-web (accounts: var/demo-web/demo-accounts.txt)"
  echo "  start:   .venv/bin/patrolcast serve --home var/demo-web"
  echo "  open:    http://127.0.0.1:8787/"
else
  .venv/bin/python -m patrolcast.app.demo_world var/demo-web
fi
