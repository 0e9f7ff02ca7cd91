#!/usr/bin/env bash
# A real Neo4j 5 for the graph tests and benchmarks: Neo4j's test harness (org.neo4j.test:neo4j-harness, Maven
# Central) run in-process by the launcher in scripts/neo4j/, Bolt on 127.0.0.1, authentication off. Needs Java 17 and
# Maven; the Maven repository is cached in .cache/neo4j/m2, so only the first install downloads (~150 MB).
#
# Usage:
#   scripts/neo4j-server.sh install   # resolve the harness with Maven and compile the launcher (skipped when done);
#                                     # exit 3 (reason in .cache/neo4j/install-status) when that cannot be done here
#   scripts/neo4j-server.sh command   # print the java command line that runs the launcher (exit 3 if not installed);
#                                     # tests spawn it with --watch-stdin, so the server dies with the test process
#   scripts/neo4j-server.sh start     # start a server in the background (or reuse the running one), print its URL
#   scripts/neo4j-server.sh url       # print the URL of the running server (exit 1 if none)
#   scripts/neo4j-server.sh stop      # stop the server started by `start` (no-op if none)
#
# Settings (environment): NEO4J_HARNESS_VERSION (default 5.26.0), NEO4J_PORT (fixed Bolt port for `start`; default
# a free one), NEO4J_JAVA_OPTS (default -Xmx768m).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$REPO/scripts/neo4j"
CACHE="$REPO/.cache/neo4j"
M2="$CACHE/m2"
CLASSES="$CACHE/classes"
CP_FILE="$CACHE/classpath.txt"
STATUS_FILE="$CACHE/install-status"
STAMP_FILE="$CACHE/installed-stamp"
PID_FILE="$CACHE/server.pid"
URL_FILE="$CACHE/server.url"
LOG_FILE="$CACHE/server.log"
VERSION="${NEO4J_HARNESS_VERSION:-5.26.0}"
JAVA_OPTS="${NEO4J_JAVA_OPTS:--Xmx768m}"
MAIN_CLASS="mem0dify.Neo4jTestServer"

log() { printf '[neo4j-server] %s\n' "$*" >&2; }
fail_install() {
  echo "$1" >"$STATUS_FILE"
  log "$1"
  exit 3
}

# What the installed launcher was built from: the harness version and the sources.
stamp() { { echo "$VERSION"; cat "$SRC/pom.xml" "$SRC"/src/main/java/mem0dify/*.java; } | cksum | cut -d' ' -f1; }

installed() { [[ -s "$CP_FILE" && -f "$CLASSES/mem0dify/Neo4jTestServer.class" && "$(cat "$STAMP_FILE" 2>/dev/null)" == "$(stamp)" ]]; }

install() {
  mkdir -p "$CACHE"
  if installed; then
    echo ok >"$STATUS_FILE"
    log "launcher already built (neo4j-harness $VERSION)"
    return 0
  fi
  command -v java >/dev/null 2>&1 || fail_install "java not found (Neo4j $VERSION needs Java 17: apt-get install openjdk-17-jdk-headless)"
  command -v javac >/dev/null 2>&1 || fail_install "javac not found (apt-get install openjdk-17-jdk-headless)"
  command -v mvn >/dev/null 2>&1 || fail_install "mvn not found (apt-get install maven)"
  local started=$SECONDS
  # The pom pins 5.26.0; another version is passed as a property override of the dependency.
  sed "s#<version>5.26.0</version>#<version>$VERSION</version>#" "$SRC/pom.xml" >"$CACHE/pom.xml"
  if ! mvn -B -q -f "$CACHE/pom.xml" -Dmaven.repo.local="$M2" dependency:build-classpath \
    -Dmdep.outputFile="$CP_FILE" >"$CACHE/mvn.log" 2>&1; then
    tail -5 "$CACHE/mvn.log" >&2 || true
    fail_install "Maven could not resolve org.neo4j.test:neo4j-harness:$VERSION (see .cache/neo4j/mvn.log)"
  fi
  rm -rf "$CLASSES"
  mkdir -p "$CLASSES"
  if ! javac --release 17 -nowarn -cp "$(cat "$CP_FILE")" -d "$CLASSES" "$SRC"/src/main/java/mem0dify/*.java >"$CACHE/javac.log" 2>&1; then
    cat "$CACHE/javac.log" >&2
    fail_install "javac failed on scripts/neo4j (see .cache/neo4j/javac.log)"
  fi
  stamp >"$STAMP_FILE"
  echo ok >"$STATUS_FILE"
  log "neo4j-harness $VERSION resolved and launcher compiled in $((SECONDS - started)) s"
}

command_line() {
  installed || { echo "not installed: run scripts/neo4j-server.sh install" >&2; return 3; }
  # shellcheck disable=SC2086 # JAVA_OPTS is a list of options
  printf '%s\n' java $JAVA_OPTS -cp "$CLASSES:$(cat "$CP_FILE")" "$MAIN_CLASS"
}

running() { [[ -s "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

start() {
  if running && [[ -s "$URL_FILE" ]]; then
    log "already running (pid $(cat "$PID_FILE"))"
    cat "$URL_FILE"
    return 0
  fi
  install >/dev/null
  rm -f "$URL_FILE"
  local -a cmd
  mapfile -t cmd < <(command_line)
  local -a port_args=()
  if [[ -n "${NEO4J_PORT:-}" ]]; then port_args=(--port "$NEO4J_PORT"); fi
  nohup "${cmd[@]}" "${port_args[@]}" >"$URL_FILE.tmp" 2>"$LOG_FILE" </dev/null &
  echo $! >"$PID_FILE"
  local i
  for i in $(seq 1 240); do
    if grep -q '^bolt://' "$URL_FILE.tmp" 2>/dev/null; then
      grep '^bolt://' "$URL_FILE.tmp" | head -1 >"$URL_FILE"
      cat "$URL_FILE"
      return 0
    fi
    if ! running; then
      tail -20 "$LOG_FILE" >&2 || true
      log "the server exited while starting (see .cache/neo4j/server.log)"
      return 1
    fi
    sleep 0.5
  done
  log "the server did not print its URL within 120 s (see .cache/neo4j/server.log)"
  stop
  return 1
}

stop() {
  if running; then
    local pid
    pid="$(cat "$PID_FILE")"
    kill "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 40); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    log "stopped (pid $pid)"
  fi
  rm -f "$PID_FILE" "$URL_FILE" "$URL_FILE.tmp"
}

case "${1:-}" in
  install) install ;;
  command) command_line ;;
  start) start ;;
  url) if running && [[ -s "$URL_FILE" ]]; then cat "$URL_FILE"; else exit 1; fi ;;
  stop) stop ;;
  *)
    echo "usage: $0 install|command|start|url|stop" >&2
    exit 2
    ;;
esac
