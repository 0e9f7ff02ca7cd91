#!/usr/bin/env bash
# The real Dify plugin daemon (langgenius/dify-plugin-daemon) for the end-to-end tests, built from the vendored source
# archive ../shared/vendor/dify-plugin-daemon-bdb5642a.tar.gz (the Go module proxy refuses the module itself).
#
# Usage:
#   scripts/dify-daemon.sh build    # unpack the archive into a temporary folder under .cache/dify-daemon and
#                                   # `go build` cmd/server + cmd/commandline into .cache/dify-daemon/<sha256>/bin
#                                   # (skipped when that folder has both: the key is the archive's sha256); exit 3,
#                                   # with the reason in .cache/dify-daemon/build-status, when it cannot be built
#   scripts/dify-daemon.sh python   # a Python 3.12 virtualenv with `uv` in .cache/dify-daemon/python (what a packaged
#                                   # install needs: the daemon runs `uv venv --python 3.12` + `uv pip install`);
#                                   # exit 3, reason in .cache/dify-daemon/python-status, when it cannot be made
#   scripts/dify-daemon.sh bins     # print the server and commandline paths in use (exit 3 if none)
#   scripts/dify-daemon.sh start    # start Redis and the daemon on loopback against $TEST_DATABASE_URL; prints
#                                   # KEY=VALUE lines: DIFY_DAEMON_URL, DIFY_DAEMON_SERVER_KEY,
#                                   # DIFY_DAEMON_REMOTE_HOST, DIFY_DAEMON_REMOTE_PORT, DIFY_DAEMON_STATE_DIR
#   scripts/dify-daemon.sh restart  # stop the daemon of $DIFY_DAEMON_STATE_DIR and start it again with the same
#                                   # settings, Redis, database and folders (installed plugins are relaunched)
#   scripts/dify-daemon.sh stop     # stop both and delete the state directory
#
# Binaries: $DIFY_DAEMON_BIN + $DIFY_DAEMON_CLI if set, else .cache/dify-daemon/<sha256 of the archive>/bin.
# Settings (environment): DIFY_DAEMON_ARCHIVE (default ../shared/vendor/dify-plugin-daemon-bdb5642a.tar.gz beside the
# checkout), DIFY_DAEMON_PYTHON (a python3.12; default python3.12 on PATH, else pyenv's 3.12.x), DIFY_DAEMON_STATE_DIR
# (default: a new temporary directory per start; restart/stop need the same value), TEST_DATABASE_URL
# (postgres://user:password@host:port/db; the daemon gets a database of its own on that server), REDIS_SERVER
# (default: redis-server from PATH), DIFY_INNER_API_URL + DIFY_INNER_API_KEY (where the daemon forwards a plugin's
# backwards calls, e.g. the workspace's models: a test's fake of Dify's inner API; default a closed port).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ARCHIVE="${DIFY_DAEMON_ARCHIVE:-$REPO/../shared/vendor/dify-plugin-daemon-bdb5642a.tar.gz}"
# sha256 of the archive as vendored (shared/vendor/README.md); a different file is refused, not silently built.
ARCHIVE_SHA256="${DIFY_DAEMON_ARCHIVE_SHA256:-93b506f4df5f678a23a1603d79a904f725fc8045281b6296f5e0dab38875246d}"
UV_VERSION="${DIFY_DAEMON_UV_VERSION:-0.13.9}"
CACHE="$REPO/.cache/dify-daemon"
BUILD_DIR="$CACHE/$ARCHIVE_SHA256"
STATUS_FILE="$CACHE/build-status"
PYTHON_VENV="$CACHE/python"
PYTHON_STATUS_FILE="$CACHE/python-status"

log() { printf '[dify-daemon] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
unavailable() { # status file, reason: record why, say it, exit 3
  echo "unavailable: $2" >"$1"
  log "$(cat "$1")"
  exit 3
}

find_bins() {
  local server="" cli=""
  if [[ -n "${DIFY_DAEMON_BIN:-}" || -n "${DIFY_DAEMON_CLI:-}" ]]; then
    server="${DIFY_DAEMON_BIN:-}"; cli="${DIFY_DAEMON_CLI:-}"
  else
    server="$BUILD_DIR/bin/server"; cli="$BUILD_DIR/bin/commandline"
  fi
  [[ -n "$server" && -x "$server" && -n "$cli" && -x "$cli" ]] || return 1
  printf '%s\n%s\n' "$server" "$cli"
}

build() {
  mkdir -p "$CACHE"
  if [[ -x "$BUILD_DIR/bin/server" && -x "$BUILD_DIR/bin/commandline" ]]; then
    log "already built from the archive with sha256 $ARCHIVE_SHA256: $BUILD_DIR/bin"
    echo "ok: built from $(basename "$ARCHIVE") (sha256 $ARCHIVE_SHA256)" >"$STATUS_FILE"
    return 0
  fi
  [[ -f "$ARCHIVE" ]] || unavailable "$STATUS_FILE" "the daemon's source archive $ARCHIVE does not exist"
  local sum; sum="$(sha256sum "$ARCHIVE" | cut -d' ' -f1)"
  [[ "$sum" == "$ARCHIVE_SHA256" ]] ||
    unavailable "$STATUS_FILE" "$ARCHIVE has sha256 $sum, expected $ARCHIVE_SHA256 (shared/vendor/README.md)"
  command -v go >/dev/null 2>&1 || unavailable "$STATUS_FILE" "go is not installed (the daemon needs Go >= 1.26 to build)"
  local started=$SECONDS src rc out cmd
  # Unpacked into the cache (shared/ is read-only in CI), in a fresh folder deleted afterwards.
  src="$(mktemp -d "$CACHE/src.XXXXXX")"
  BUILD_SRC="$src"
  trap 'rm -rf "$BUILD_SRC"' EXIT
  tar xzf "$ARCHIVE" -C "$src" || unavailable "$STATUS_FILE" "could not unpack $ARCHIVE"
  mkdir -p "$src/out"
  for cmd in server commandline; do
    log "go build ./cmd/$cmd ($(go version | cut -d' ' -f3); ~5 min cold, ~40 s with a warm Go build cache)"
    rc=0
    out="$(cd "$src/dify-plugin-daemon" && timeout 1200 go build -o "$src/out/$cmd" "./cmd/$cmd" 2>&1)" || rc=$?
    if [[ "$rc" -ne 0 ]]; then
      unavailable "$STATUS_FILE" "\`go build ./cmd/$cmd\` exited $rc: $(printf '%s' "$out" | tail -n 15 | tr '\n\t' '  ' | sed 's/  */ /g')"
    fi
  done
  rm -rf "$BUILD_DIR"
  mkdir -p "$BUILD_DIR"
  mv "$src/out" "$BUILD_DIR/bin"
  echo "ok: built from $(basename "$ARCHIVE") (sha256 $ARCHIVE_SHA256)" >"$STATUS_FILE"
  log "built in $((SECONDS - started)) s: $BUILD_DIR/bin/server, $BUILD_DIR/bin/commandline"
}

find_python312() {
  local candidate
  if [[ -n "${DIFY_DAEMON_PYTHON:-}" ]]; then echo "$DIFY_DAEMON_PYTHON"; return 0; fi
  # pyenv's real interpreters first: its python3.12 shim on PATH fails unless 3.12 is the selected version.
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12 "$(command -v python3.12 || true)"; do
    [[ -n "$candidate" && -x "$candidate" ]] && "$candidate" --version >/dev/null 2>&1 && { echo "$candidate"; return 0; }
  done
  return 1
}

# What a packaged (.difypkg) install needs from the daemon's machine: the daemon finds `uv` through its
# PYTHON_INTERPRETER_PATH (`from uv._find_uv import find_uv_bin`) and runs `uv venv --python 3.12`, which looks for a
# python3.12 on PATH. A virtualenv of our own keeps uv out of the machine's Python.
python_env() {
  mkdir -p "$CACHE"
  if [[ -x "$PYTHON_VENV/bin/python" && -f "$PYTHON_VENV/base-python" ]] &&
    [[ "$("$PYTHON_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("uv"))' 2>/dev/null)" == "$UV_VERSION" ]]; then
    log "uv $UV_VERSION already installed in $PYTHON_VENV"
    echo "ok" >"$PYTHON_STATUS_FILE"
    return 0
  fi
  local base started=$SECONDS
  base="$(find_python312)" || unavailable "$PYTHON_STATUS_FILE" \
    "no Python 3.12 found (python3.12 on PATH, pyenv's versions/3.12.x, or DIFY_DAEMON_PYTHON): a packaged install runs \`uv venv --python 3.12\`"
  rm -rf "$PYTHON_VENV"
  "$base" -m venv "$PYTHON_VENV" >/dev/null 2>&1 || unavailable "$PYTHON_STATUS_FILE" "$base -m venv failed"
  "$PYTHON_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION" >"$CACHE/pip.log" 2>&1 ||
    unavailable "$PYTHON_STATUS_FILE" "pip install uv==$UV_VERSION failed: $(tail -n 3 "$CACHE/pip.log" | tr '\n' ' ')"
  # The venv's own bin/ has python3.12 too, but uv resolves it back to the base interpreter; PATH gets the base's folder.
  dirname "$base" >"$PYTHON_VENV/base-python"
  echo "ok" >"$PYTHON_STATUS_FILE"
  log "uv $UV_VERSION installed in $PYTHON_VENV in $((SECONDS - started)) s (base: $base)"
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
DIFY_INNER_API_URL=${DIFY_INNER_API_URL:-http://127.0.0.1:9}
DIFY_INNER_API_KEY=${DIFY_INNER_API_KEY:-$(random_hex 16)}
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
  if [[ -f "$PYTHON_VENV/base-python" ]]; then # packaged installs (scripts/dify-daemon.sh python)
    cat >>"$state/daemon.env" <<EOF
PYTHON_INTERPRETER_PATH=$PYTHON_VENV/bin/python
UV_PATH=$PYTHON_VENV/bin/uv
PATH=$(cat "$PYTHON_VENV/base-python"):$PYTHON_VENV/bin:$PATH
PIP_EXTRA_ARGS=--system-certs
EOF
  fi
  echo "$server" >"$state/server.path"
  chmod 600 "$state/daemon.env"

  ( cd "$state/cwd" && set -a && . "$state/daemon.env" && set +a && "$cli" migrate ) >"$state/migrate.log" 2>&1 ||
    { tail -n 20 "$state/migrate.log" >&2; die "commandline migrate failed"; }
  launch "$state" "$server"
  log "daemon on http://127.0.0.1:$http_port, remote debugging on 127.0.0.1:$remote_port, Redis on $redis_port"
  printf 'DIFY_DAEMON_URL=http://127.0.0.1:%s\nDIFY_DAEMON_SERVER_KEY=%s\nDIFY_DAEMON_REMOTE_HOST=127.0.0.1\nDIFY_DAEMON_REMOTE_PORT=%s\nDIFY_DAEMON_STATE_DIR=%s\n' \
    "$http_port" "$server_key" "$remote_port" "$state"
}

# Starts the daemon of a state directory in the background and waits until it answers /health/check.
launch() {
  local state="$1" server="$2" port i
  port="$(sed -n 's/^SERVER_PORT=//p' "$state/daemon.env")"
  # The daemon reads its settings from the environment (and a .env in its working directory, which has none).
  ( cd "$state/cwd" && set -a && . "$state/daemon.env" && set +a && exec "$server" ) >>"$state/daemon.log" 2>&1 &
  echo $! >"$state/daemon.pid"
  for i in $(seq 1 120); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null &&
      curl -fsS -m 2 "http://127.0.0.1:$port/health/check" >/dev/null 2>&1; then
      return 0
    fi
    kill -0 "$(cat "$state/daemon.pid")" 2>/dev/null || { tail -n 30 "$state/daemon.log" >&2; die "daemon exited"; }
    sleep 0.5
  done
  tail -n 30 "$state/daemon.log" >&2
  die "daemon did not answer /health/check in 60 s"
}

stop_daemon() {
  local state="$1" pid
  [[ -f "$state/daemon.pid" ]] || return 0
  pid="$(cat "$state/daemon.pid")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$state/daemon.pid"
}

restart() {
  local state="${DIFY_DAEMON_STATE_DIR:-}"
  [[ -n "$state" && -f "$state/.dify-daemon-state" && -f "$state/server.path" ]] ||
    die "restart needs DIFY_DAEMON_STATE_DIR of a daemon that 'start' made"
  stop_daemon "$state"
  launch "$state" "$(cat "$state/server.path")"
  log "daemon restarted"
}

stop() {
  local state="${DIFY_DAEMON_STATE_DIR:-}"
  [[ -n "$state" && -d "$state" ]] || { log "nothing to stop (set DIFY_DAEMON_STATE_DIR)"; return 0; }
  # The state directory is deleted below: only ever one that `start` made (it holds the marker file).
  [[ -f "$state/.dify-daemon-state" ]] || die "refusing to stop/delete $state: not made by 'start'"
  stop_daemon "$state"
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
  python) python_env ;;
  restart) restart ;;
  bins) find_bins || { log "daemon binaries not found"; exit 3; } ;;
  start) start ;;
  stop) stop ;;
  *) die "usage: $0 build|python|bins|start|restart|stop" ;;
esac
