#!/usr/bin/env bash
# A real Chroma server for the vector-store tests: PyPI's `chromadb` package (its wheel ships the `chroma run`
# server) installed into a virtualenv under .cache/chroma. Nothing comes from anywhere but PyPI.
#
# Usage:
#   scripts/chroma-server.sh install   # create the venv and install chromadb==$CHROMA_VERSION (skipped when present);
#                                      # prints the path of the `chroma` program; exit 3 (reason in
#                                      # .cache/chroma/install-status) when it cannot be installed here
#   scripts/chroma-server.sh bin       # print the `chroma` program in use (exit 3 if none)
#
# The test (tests/integration/vector-stores-chroma.test.ts) starts `chroma run` itself on a free loopback port with a
# data folder made by mkdtemp, and skips with a clear reason when the program is not installed.
# Settings (environment): CHROMA_VERSION (default 1.5.9: serves the v2 API the npm `chromadb` 3.x client of mem0ai
# speaks), CHROMA_BIN (use this program instead), PYTHON (default python3).
set -euo pipefail

CHROMA_VERSION="${CHROMA_VERSION:-1.5.9}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$REPO/.cache/chroma"
VENV="$CACHE/venv"
STATUS_FILE="$CACHE/install-status"
PYTHON="${PYTHON:-python3}"

log() { printf '[chroma-server] %s\n' "$*" >&2; }

bin_path() {
  if [[ -n "${CHROMA_BIN:-}" && -x "$CHROMA_BIN" ]]; then echo "$CHROMA_BIN"; return 0; fi
  if [[ -x "$VENV/bin/chroma" ]]; then echo "$VENV/bin/chroma"; return 0; fi
  return 3
}

installed_version() {
  "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("chromadb"))' 2>/dev/null || true
}

install() {
  mkdir -p "$CACHE"
  if [[ -x "$VENV/bin/chroma" && "$(installed_version)" == "$CHROMA_VERSION" ]]; then
    log "chromadb $CHROMA_VERSION already installed"
    echo "ok" >"$STATUS_FILE"
    echo "$VENV/bin/chroma"
    return 0
  fi
  local started=$SECONDS
  if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
    echo "python3 -m venv failed (is python3-venv installed?)" >"$STATUS_FILE"
    log "$(cat "$STATUS_FILE")"
    return 3
  fi
  if ! "$VENV/bin/pip" install --quiet --disable-pip-version-check "chromadb==$CHROMA_VERSION" >"$CACHE/pip.log" 2>&1; then
    echo "pip install chromadb==$CHROMA_VERSION failed (see .cache/chroma/pip.log)" >"$STATUS_FILE"
    log "$(cat "$STATUS_FILE")"
    tail -5 "$CACHE/pip.log" >&2 || true
    return 3
  fi
  echo "ok" >"$STATUS_FILE"
  log "chromadb $CHROMA_VERSION installed in $((SECONDS - started)) s"
  echo "$VENV/bin/chroma"
}

case "${1:-}" in
  install) install ;;
  bin) bin_path ;;
  *)
    echo "usage: $0 install|bin" >&2
    exit 2
    ;;
esac
