#!/usr/bin/env bash
# Start (or stop) a throwaway PostgreSQL server on 127.0.0.1 for the test run.
# Usage: scripts/postgres.sh start|stop   (prints the database URL on start)
set -euo pipefail
PGPORT=${PATROLCAST_PG_PORT:-54329}
PGROOT=${PATROLCAST_PG_DIR:-/tmp/patrolcast-pg}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing Debian's postgresql package" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null 2>&1 || true
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  fi
fi
if [ -z "$bindir" ]; then
  echo "postgresql server binaries not found" >&2
  exit 3
fi
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "${1:-start}" in
  start)
    if [ -f "$PGROOT/data/postmaster.pid" ]; then as_owner "$bindir/pg_ctl" -D "$PGROOT/data" -m immediate stop >/dev/null 2>&1 || true; fi
    rm -rf "$PGROOT"; mkdir -p "$PGROOT"
    if [ "$(id -u)" = 0 ]; then chown postgres "$PGROOT"; fi
    as_owner "$bindir/initdb" -D "$PGROOT/data" -U patrolcast --auth=trust -E UTF8 >/dev/null
    as_owner "$bindir/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/log" -w \
      -o "-p $PGPORT -k $PGROOT -c listen_addresses=127.0.0.1 -c fsync=on" start >/dev/null
    as_owner "$bindir/createdb" -h 127.0.0.1 -p "$PGPORT" -U patrolcast patrolcast_test
    echo "postgresql+psycopg://patrolcast@127.0.0.1:$PGPORT/patrolcast_test"
    ;;
  stop)
    as_owner "$bindir/pg_ctl" -D "$PGROOT/data" -m fast stop >/dev/null 2>&1 || true
    ;;
esac
