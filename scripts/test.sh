#!/usr/bin/env bash
# The test command: set up .venv, start a real PostgreSQL server, run the test suite.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -m slow`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
if url=$(bash scripts/postgres.sh start); then
  export PATROLCAST_TEST_PG_URL="$url"
  trap 'bash scripts/postgres.sh stop' EXIT
else
  echo "==> PostgreSQL unavailable: PostgreSQL tests will be skipped" >&2
fi
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
exit $rc
