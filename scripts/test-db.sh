#!/usr/bin/env bash
# A throwaway PostgreSQL server with pgvector for the tests, on 127.0.0.1 only.
#
# Usage:
#   scripts/test-db.sh start    # start (or reuse) the server; prints its URL on stdout
#   scripts/test-db.sh url      # print the URL of the running server (exit 1 if none)
#   scripts/test-db.sh env      # print `export TEST_DATABASE_URL=...` (for eval)
#   scripts/test-db.sh status   # exit 0 if running
#   scripts/test-db.sh stop     # stop the server and delete its files (no-op if not running)
#
#   export TEST_DATABASE_URL="$(scripts/test-db.sh start)"
#   npm test
#   scripts/test-db.sh stop
#
# The URL looks like postgres://postgres:<random password>@127.0.0.1:<free port>/mem0_test. The database has the
# `vector` extension created (so does template1, so `CREATE DATABASE x` gets it too). The server is tuned for tests,
# not for keeping data: fsync, synchronous_commit and full_page_writes are off.
#
# Needs PostgreSQL 15 with pgvector (scripts/postgres-pgvector.sh). Run as root, the server runs as the `postgres`
# system user (PostgreSQL refuses to run as root); otherwise as the calling user.
#
# Settings (environment): PG_MAJOR=15, TEST_DB_DIR (state directory; default: one per checkout under $TMPDIR or
# /tmp; it is deleted by `stop` and by a fresh `start`), TEST_DB_NAME=mem0_test, TEST_DB_PORT (fixed port;
# default: a free one).
set -euo pipefail

PG_MAJOR="${PG_MAJOR:-15}"
PG_BIN="/usr/lib/postgresql/${PG_MAJOR}/bin"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_KEY="$(printf '%s' "$REPO" | cksum | cut -d' ' -f1)"
STATE_DIR="${TEST_DB_DIR:-${TMPDIR:-/tmp}/mem0-dify-test-db-$(id -u)-${REPO_KEY}}"
DB_NAME="${TEST_DB_NAME:-mem0_test}"
DATA="$STATE_DIR/data"
SOCK="$STATE_DIR/sock"
URL_FILE="$STATE_DIR/url"
LOG_FILE="$STATE_DIR/postgres.log"

log() { printf '[test-db] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ -x "$PG_BIN/pg_ctl" ]] || die "PostgreSQL $PG_MAJOR not found in $PG_BIN (run scripts/postgres-pgvector.sh)"
[[ "$DB_NAME" =~ ^[a-z_][a-z0-9_]*$ ]] || die "TEST_DB_NAME must be a plain lowercase identifier"
# The state directory is deleted on stop/start: refuse anything that is not clearly ours.
case "$STATE_DIR" in
  /*) ;;
  *) die "TEST_DB_DIR must be an absolute path" ;;
esac
if [[ "$STATE_DIR" == "$REPO" || "$STATE_DIR" == / || "$(basename "$STATE_DIR")" != *test-db* ]]; then
  die "refusing state directory $STATE_DIR: its name must contain 'test-db' (it is deleted on stop)"
fi

# PostgreSQL will not run as root: as root, run its programs as the postgres system user.
RUN_AS=()
if [[ "$(id -u)" -eq 0 ]]; then
  id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' user to run the server as"
  RUN_AS=(runuser -u postgres --)
fi
as_owner() { (cd / && "${RUN_AS[@]}" "$@"); } # cd /: the postgres user may not be able to enter $PWD

is_running() { [[ -f "$DATA/PG_VERSION" ]] && as_owner "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pick_port() {
  local p i
  for i in $(seq 1 50); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 25000))
    if port_is_free "$p"; then echo "$p"; return 0; fi
  done
  die "no free port found"
}

psql_admin() { # psql_admin <port> <database> <sql>
  PGPASSWORD="$(cat "$STATE_DIR/password")" "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$1" -U postgres -d "$2" -c "$3" >/dev/null
}

start() {
  if is_running && [[ -s "$URL_FILE" ]]; then
    log "already running ($STATE_DIR)"
    cat "$URL_FILE"
    return 0
  fi
  # Anything left over from an earlier run is throwaway state: begin again from an empty cluster.
  if [[ -f "$DATA/PG_VERSION" ]]; then as_owner "$PG_BIN/pg_ctl" -D "$DATA" stop -m immediate >/dev/null 2>&1 || true; fi
  rm -rf "$STATE_DIR"
  mkdir -p "$STATE_DIR" "$SOCK"
  chmod 700 "$STATE_DIR"
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$STATE_DIR/password"
  chmod 600 "$STATE_DIR/password"
  if [[ ${#RUN_AS[@]} -gt 0 ]]; then chown -R postgres:postgres "$STATE_DIR"; fi

  local t0=$SECONDS
  as_owner "$PG_BIN/initdb" -D "$DATA" -U postgres --auth=scram-sha-256 --pwfile="$STATE_DIR/password" \
    --encoding=UTF8 --locale=C >"$STATE_DIR/initdb.log" 2>&1 || { cat "$STATE_DIR/initdb.log" >&2; die "initdb failed"; }

  local port attempt started=0
  for attempt in 1 2 3 4 5; do
    port="${TEST_DB_PORT:-$(pick_port)}"
    if as_owner "$PG_BIN/pg_ctl" -D "$DATA" -l "$LOG_FILE" -w -t 60 -o "\
-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$SOCK \
-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null; then
      started=1
      break
    fi
    log "start on port $port failed (attempt $attempt); last log lines:"
    tail -n 5 "$LOG_FILE" >&2 || true
    [[ -z "${TEST_DB_PORT:-}" ]] || break
  done
  [[ "$started" -eq 1 ]] || die "could not start PostgreSQL (log: $LOG_FILE)"

  psql_admin "$port" postgres "CREATE DATABASE $DB_NAME"
  psql_admin "$port" template1 "CREATE EXTENSION IF NOT EXISTS vector"
  psql_admin "$port" "$DB_NAME" "CREATE EXTENSION IF NOT EXISTS vector"

  local url="postgres://postgres:$(cat "$STATE_DIR/password")@127.0.0.1:$port/$DB_NAME"
  printf '%s\n' "$url" >"$URL_FILE"
  chmod 600 "$URL_FILE"
  log "PostgreSQL $PG_MAJOR with pgvector on 127.0.0.1:$port, database $DB_NAME ($((SECONDS - t0)) s; state in $STATE_DIR)"
  printf '%s\n' "$url"
}

stop() {
  if [[ -f "$DATA/PG_VERSION" ]]; then
    as_owner "$PG_BIN/pg_ctl" -D "$DATA" stop -m fast -w -t 30 >/dev/null 2>&1 ||
      as_owner "$PG_BIN/pg_ctl" -D "$DATA" stop -m immediate >/dev/null 2>&1 || true
    log "stopped"
  fi
  rm -rf "$STATE_DIR"
}

url() {
  is_running && [[ -s "$URL_FILE" ]] || die "not running (scripts/test-db.sh start)"
  cat "$URL_FILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) url ;;
  env) printf 'export TEST_DATABASE_URL=%q\n' "$(url)" ;;
  status) if is_running; then log "running ($STATE_DIR)"; else log "not running"; exit 1; fi ;;
  *) die "usage: $0 start|stop|url|env|status" ;;
esac
