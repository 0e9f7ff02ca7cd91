#!/usr/bin/env bash
# The real Dify plugin daemon (langgenius/dify-plugin-daemon) for end-to-end tests, at a pinned commit.
#
# Usage:
#   scripts/dify-daemon.sh build    # go install cmd/server and cmd/commandline at $DIFY_DAEMON_COMMIT into
#                                   # .cache/dify-daemon/bin; exit 3 (and the reason in .cache/dify-daemon/build-status)
#                                   # when the module cannot be had here
#   scripts/dify-daemon.sh bins     # print the server and commandline paths in use (exit 3 if none)
#   scripts/dify-daemon.sh start    # start Redis and the daemon on loopback against $TEST_DATABASE_URL; prints
#                                   # KEY=VALUE lines: DIFY_DAEMON_URL, DIFY_DAEMON_SERVER_KEY,
#                                   # DIFY_DAEMON_REMOTE_HOST, DIFY_DAEMON_REMOTE_PORT, DIFY_DAEMON_STATE_DIR
#   scripts/dify-daemon.sh stop     # stop both and delete the state directory
#
# Binaries: $DIFY_DAEMON_BIN / $DIFY_DAEMON_CLI if set, else .cache/dify-daemon/bin/{server,commandline},
# else $(go env GOPATH)/bin/{server,commandline}.
# Settings (environment): DIFY_DAEMON_COMMIT, DIFY_DAEMON_STATE_DIR (default: a new temporary directory per start;
# `stop` needs the same value), TEST_DATABASE_URL (postgres://user:password@host:port/db; the daemon gets a database
# of its own on that server), REDIS_SERVER (default: redis-server from PATH).
#
# The module comes only from the Go module proxy (GOPROXY without `direct`): nothing is cloned from anywhere else.
set -euo pipefail

DIFY_DAEMON_MODULE="github.com/langgenius/dify-plugin-daemon"
DIFY_DAEMON_COMMIT="${DIFY_DAEMON_COMMIT:-ca3d00229e71ac02518d52709680f6b83a6ef7b5}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$REPO/.cache/dify-daemon"
STATUS_FILE="$CACHE/build-status"

log() { printf '[dify-daemon] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

find_bins() {
  local server="" cli="" gopath=""
  if [[ -n "${DIFY_DAEMON_BIN:-}" || -n "${DIFY_DAEMON_CLI:-}" ]]; then
    server="${DIFY_DAEMON_BIN:-}"; cli="${DIFY_DAEMON_CLI:-}"
  elif [[ -x "$CACHE/bin/server" && -x "$CACHE/bin/commandline" ]]; then
    server="$CACHE/bin/server"; cli="$CACHE/bin/commandline"
  elif command -v go >/dev/null 2>&1; then
    gopath="$(go env GOPATH 2>/dev/null | cut -d: -f1)"
    server="$gopath/bin/server"; cli="$gopath/bin/commandline"
  fi
  [[ -n "$server" && -x "$server" && -n "$cli" && -x "$cli" ]] || return 1
  printf '%s\n%s\n' "$server" "$cli"
}

# GOPROXY of this machine with `direct` (and `off`) removed: a proxy refusal must not turn into a git clone.
proxy_only() {
  local raw out="" part
  raw="$(go env GOPROXY 2>/dev/null || true)"
  IFS=',|' read -r -a parts <<<"$raw"
  for part in "${parts[@]}"; do
    [[ -z "$part" || "$part" == "direct" || "$part" == "off" ]] && continue
    out="${out:+$out,}$part"
  done
  printf '%s\n' "$out"
}

build() {
  mkdir -p "$CACHE/bin"
  if [[ -x "$CACHE/bin/server" && -x "$CACHE/bin/commandline" && "$(cat "$CACHE/bin/.commit" 2>/dev/null)" == "$DIFY_DAEMON_COMMIT" ]]; then
    log "already built at $DIFY_DAEMON_COMMIT: $CACHE/bin"
    echo "ok: built at $DIFY_DAEMON_COMMIT" >"$STATUS_FILE"
    return 0
  fi
  command -v go >/dev/null 2>&1 || { echo "go is not installed" >"$STATUS_FILE"; log "$(cat "$STATUS_FILE")"; exit 3; }
  local proxy; proxy="$(proxy_only)"
  if [[ -z "$proxy" ]]; then
    echo "unavailable: GOPROXY ($(go env GOPROXY)) names no module proxy, and this script never fetches sources directly" >"$STATUS_FILE"
    log "$(cat "$STATUS_FILE")"; exit 3
  fi
  local cmd out rc
  for cmd in server commandline; do
    log "GOPROXY=$proxy GOFLAGS=-mod=mod go install $DIFY_DAEMON_MODULE/cmd/$cmd@$DIFY_DAEMON_COMMIT"
    rc=0
    out="$(GOBIN="$CACHE/bin" GOPROXY="$proxy" GOFLAGS=-mod=mod timeout 600 \
      go install "$DIFY_DAEMON_MODULE/cmd/$cmd@$DIFY_DAEMON_COMMIT" 2>&1)" || rc=$?
    if [[ "$rc" -ne 0 ]]; then
      {
        printf 'unavailable: `go install %s/cmd/%s@%s` (GOPROXY=%s) exited %d: ' \
          "$DIFY_DAEMON_MODULE" "$cmd" "$DIFY_DAEMON_COMMIT" "$proxy" "$rc"
        printf '%s' "$out" | tr '\n\t' '  ' | sed 's/  */ /g'
        echo
      } >"$STATUS_FILE"
      log "$(cat "$STATUS_FILE")"
      if grep -q '403 Forbidden' <<<"$out"; then
        log "The Go module proxy refuses this module (HTTP 403), for every version: the daemon cannot be built here."
      fi
      exit 3
    fi
  done
  echo "$DIFY_DAEMON_COMMIT" >"$CACHE/bin/.commit"
  echo "ok: built at $DIFY_DAEMON_COMMIT" >"$STATUS_FILE"
  log "built: $CACHE/bin/server, $CACHE/bin/commandline"
}

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p i
  for i in $(seq 1 50); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 25000))
    if port_is_free "$p"; then echo "$p"; return 0; fi
  done
  die "no free port found"
}
random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

start() {
  local bins server cli
  bins="$(find_bins)" || { log "daemon binaries not found; run: scripts/dify-daemon.sh build"; exit 3; }
  server="$(sed -n 1p <<<"$bins")"; cli="$(sed -n 2p <<<"$bins")"
  [[ -n "${TEST_DATABASE_URL:-}" ]] || die "TEST_DATABASE_URL is not set (scripts/test-db.sh start)"
  local redis="${REDIS_SERVER:-$(command -v redis-server || true)}"
  [[ -n "$redis" ]] || die "redis-server not found (apt-get install redis-server)"

  # postgres://user:password@host:port/database
  local re='^postgres(ql)?://([^:@/]+):([^@/]*)@([^:/]+):([0-9]+)/([^?]+)'
  [[ "$TEST_DATABASE_URL" =~ $re ]] || die "TEST_DATABASE_URL is not of the form postgres://user:password@host:port/db"
  local db_user="${BASH_REMATCH[2]}" db_pass="${BASH_REMATCH[3]}" db_host="${BASH_REMATCH[4]}" db_port="${BASH_REMATCH[5]}"
  local db_name="dify_plugin_$(random_hex 4)"

  local state="${DIFY_DAEMON_STATE_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/dify-daemon.XXXXXX")}"
  # `stop` deletes this directory, so it must be new (or empty) here.
  if [[ -d "$state" && -n "$(ls -A "$state")" ]]; then die "DIFY_DAEMON_STATE_DIR $state is not empty"; fi
  mkdir -p "$state"/{redis,cwd,storage,working,installed,packages,assets,persistence}
  touch "$state/.dify-daemon-state"
  local redis_port http_port remote_port server_key
  redis_port="$(free_port)"; http_port="$(free_port)"; remote_port="$(free_port)"
  server_key="$(random_hex 24)"

  "$redis" --bind 127.0.0.1 --port "$redis_port" --daemonize yes --dir "$state/redis" \
    --pidfile "$state/redis.pid" --logfile "$state/redis.log" --save "" --appendonly no >/dev/null
  echo "$redis_port" >"$state/redis.port"

  PGPASSWORD="$db_pass" psql -X -q -v ON_ERROR_STOP=1 -h "$db_host" -p "$db_port" -U "$db_user" -d postgres \
    -c "CREATE DATABASE $db_name" >/dev/null

  cat >"$state/daemon.env" <<EOF
SERVER_PORT=$http_port
SERVER_KEY=$server_key
PLATFORM=local
DB_TYPE=postgresql
DB_HOST=$db_host
DB_PORT=$db_port
DB_USERNAME=$db_user
DB_PASSWORD=$db_pass
DB_DATABASE=$db_name
DB_DEFAULT_DATABASE=postgres
DB_SSL_MODE=disable
REDIS_HOST=127.0.0.1
REDIS_PORT=$redis_port
DIFY_INNER_API_URL=http://127.0.0.1:9
DIFY_INNER_API_KEY=$(random_hex 16)
PLUGIN_REMOTE_INSTALLING_ENABLED=true
PLUGIN_REMOTE_INSTALLING_HOST=127.0.0.1
PLUGIN_REMOTE_INSTALLING_PORT=$remote_port
PLUGIN_STORAGE_TYPE=local
PLUGIN_STORAGE_LOCAL_ROOT=$state/storage
PLUGIN_WORKING_PATH=$state/working
PLUGIN_INSTALLED_PATH=$state/installed
PLUGIN_PACKAGE_CACHE_PATH=$state/packages
PLUGIN_MEDIA_CACHE_PATH=$state/assets
PERSISTENCE_STORAGE_PATH=$state/persistence
PIP_MIRROR_AUTO_DETECT=false
FORCE_VERIFYING_SIGNATURE=false
PLUGIN_ENDPOINT_ENABLED=false
EOF
  chmod 600 "$state/daemon.env"

  # The daemon reads its settings from the environment (and a .env in its working directory, which has none).
  ( cd "$state/cwd" && set -a && . "$state/daemon.env" && set +a && "$cli" migrate ) >"$state/migrate.log" 2>&1 ||
    { tail -n 20 "$state/migrate.log" >&2; die "commandline migrate failed"; }
  ( cd "$state/cwd" && set -a && . "$state/daemon.env" && set +a && exec "$server" ) >"$state/daemon.log" 2>&1 &
  echo $! >"$state/daemon.pid"

  local i
  for i in $(seq 1 120); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$http_port") 2>/dev/null &&
      curl -fsS -m 2 "http://127.0.0.1:$http_port/health/check" >/dev/null 2>&1; then
      break
    fi
    kill -0 "$(cat "$state/daemon.pid")" 2>/dev/null || { tail -n 30 "$state/daemon.log" >&2; die "daemon exited"; }
    sleep 0.5
  done
  curl -fsS -m 2 "http://127.0.0.1:$http_port/health/check" >/dev/null 2>&1 ||
    { tail -n 30 "$state/daemon.log" >&2; die "daemon did not answer /health/check in 60 s"; }
  log "daemon on http://127.0.0.1:$http_port, remote debugging on 127.0.0.1:$remote_port, Redis on $redis_port"
  printf 'DIFY_DAEMON_URL=http://127.0.0.1:%s\nDIFY_DAEMON_SERVER_KEY=%s\nDIFY_DAEMON_REMOTE_HOST=127.0.0.1\nDIFY_DAEMON_REMOTE_PORT=%s\nDIFY_DAEMON_STATE_DIR=%s\n' \
    "$http_port" "$server_key" "$remote_port" "$state"
}

stop() {
  local state="${DIFY_DAEMON_STATE_DIR:-}"
  [[ -n "$state" && -d "$state" ]] || { log "nothing to stop (set DIFY_DAEMON_STATE_DIR)"; return 0; }
  # The state directory is deleted below: only ever one that `start` made (it holds the marker file).
  [[ -f "$state/.dify-daemon-state" ]] || die "refusing to stop/delete $state: not made by 'start'"
  if [[ -f "$state/daemon.pid" ]]; then
    local pid; pid="$(cat "$state/daemon.pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  if [[ -f "$state/redis.port" ]] && command -v redis-cli >/dev/null 2>&1; then
    redis-cli -h 127.0.0.1 -p "$(cat "$state/redis.port")" shutdown nosave >/dev/null 2>&1 || true
  elif [[ -f "$state/redis.pid" ]]; then
    kill "$(cat "$state/redis.pid")" 2>/dev/null || true
  fi
  if [[ -f "$state/daemon.env" ]]; then # the daemon's own database on the test server
    ( set -a && . "$state/daemon.env" && set +a &&
      PGPASSWORD="$DB_PASSWORD" psql -X -q -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USERNAME" -d postgres \
        -c "DROP DATABASE IF EXISTS $DB_DATABASE WITH (FORCE)" >/dev/null 2>&1 ) || true
  fi
  rm -rf "$state"
  log "stopped"
}

case "${1:-}" in
  build) build ;;
  bins) find_bins || { log "daemon binaries not found"; exit 3; } ;;
  start) start ;;
  stop) stop ;;
  *) die "usage: $0 build|bins|start|stop" ;;
esac
