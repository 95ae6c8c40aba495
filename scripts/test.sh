#!/usr/bin/env bash
# The test command: set up .venv, start a real PostgreSQL server, run the test suite.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -m slow`).
#
# With CI=true (set by .ci/run) nothing is skipped silently: the run fails before the tests if
# PostgreSQL cannot start or the shared data folder (../shared/data, or $PATROLCAST_SHARED_DATA)
# is absent. A local run skips those tests and says so in one summary line at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
ci=false
case "${CI:-}" in true | 1 | yes) ci=true ;; esac
data=${PATROLCAST_SHARED_DATA:-$(cd .. && pwd)/shared/data}
missing=()
# a private server per run (its own folder, a free port), so that two runs on one machine never
# share, restart or stop each other's database
own_dir=
if [ -z "${PATROLCAST_PG_DIR:-}" ]; then
  own_dir=$(mktemp -d /tmp/patrolcast-pg.XXXXXX)
  export PATROLCAST_PG_DIR=$own_dir
fi
if [ -z "${PATROLCAST_PG_PORT:-}" ]; then
  PATROLCAST_PG_PORT=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  export PATROLCAST_PG_PORT
fi
trap 'bash scripts/postgres.sh stop; [ -z "$own_dir" ] || rm -rf "$own_dir"' EXIT
if url=$(bash scripts/postgres.sh start); then
  export PATROLCAST_TEST_PG_URL="$url"
else
  missing+=("PostgreSQL unavailable (postgres tests skipped)")
fi
if [ ! -f "$data/PROVENANCE.md" ]; then
  missing+=("shared data $data absent (realdata tests skipped)")
fi
if [ "$ci" = true ] && [ ${#missing[@]} -gt 0 ]; then
  for m in "${missing[@]}"; do echo "==> CI: ${m%% (*}: refusing to run with tests skipped" >&2; done
  exit 1
fi
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ ${#missing[@]} -gt 0 ]; then
  summary=$(printf '%s; ' "${missing[@]}")
  echo "==> local run, NOT a full check: ${summary%; } (CI=true fails instead)" >&2
fi
exit $rc
