#!/usr/bin/env bash
# System packages the tests need, on Debian 12 (bookworm): PostgreSQL 15 with pgvector 0.8 (built by
# scripts/postgres-pgvector.sh), Redis (for the Dify plugin daemon end-to-end test) and Python venv support.
#
# Usage (as root, or with sudo):  scripts/install-system-deps.sh
# Safe to run again: when everything is already installed it runs no apt command at all.
# Settings (environment): PG_MAJOR=15, SKIP_APT_UPDATE=1 (do not refresh the package lists).
set -euo pipefail

PG_MAJOR="${PG_MAJOR:-15}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PACKAGES=(
  "postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR" build-essential dpkg-dev # server + pgvector build
  redis-server                                                                        # Dify plugin daemon
  python3-venv ca-certificates                                                        # packaged-install tests
)

log() { printf '[install-system-deps] %s\n' "$*" >&2; }

SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { log "ERROR: run as root or install sudo"; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive

missing=()
for p in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
  [[ "$status" == "installed" ]] || missing+=("$p")
done

updated=0
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ "${SKIP_APT_UPDATE:-0}" != "1" ]]; then
    log "apt-get update"
    $SUDO apt-get update -q >/dev/null
    updated=1
  fi
  log "installing: ${missing[*]}"
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
else
  log "apt packages already installed: ${PACKAGES[*]}"
fi

# Package installs on a machine without systemd may leave services unstarted (policy-rc.d); that is fine:
# the tests start their own servers on loopback (scripts/test-db.sh, scripts/dify-daemon.sh).
if [[ "$updated" -eq 1 ]]; then export SKIP_APT_UPDATE=1; fi
PG_MAJOR="$PG_MAJOR" "$HERE/postgres-pgvector.sh" >/dev/null
log "pgvector $("$HERE/postgres-pgvector.sh" --check) for PostgreSQL $PG_MAJOR"
