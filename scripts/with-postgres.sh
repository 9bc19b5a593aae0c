#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster on loopback, then remove the cluster.
#   scripts/with-postgres.sh <command...>
# Exports INLOOP_TEST_POSTGRES_URL (psycopg 3 URL), INLOOP_TEST_POSTGRES_DATA and INLOOP_TEST_POSTGRES_BIN for the command. Needs Debian's postgresql
# package (.ci/run installs it). initdb refuses root, so as root the cluster runs as `postgres`.
set -euo pipefail
PORT="${INLOOP_PG_PORT:-55432}"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
  echo "with-postgres: PostgreSQL server binaries not found (apt-get install postgresql)" >&2
  exit 2
fi
DIR="$(mktemp -d /tmp/inloop-pg.XXXXXX)"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "$(id -u)" = 0 ]; then chown postgres "$DIR"; fi
cleanup() {
  as_pg "$BIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
as_pg "$BIN/initdb" -D "$DIR/data" -A trust -U postgres --no-sync >/dev/null
as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
as_pg "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres inloop_test
export INLOOP_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/inloop_test"
# For tests that restart the server mid-run (pg_ctl -D "$INLOOP_TEST_POSTGRES_DATA" restart, as the cluster's owner).
export INLOOP_TEST_POSTGRES_DATA="$DIR/data" INLOOP_TEST_POSTGRES_BIN="$BIN"
echo "with-postgres: PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT" >&2
"$@"
