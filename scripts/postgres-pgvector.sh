#!/usr/bin/env bash
# Install PostgreSQL 15 and build the pgvector extension (0.8.x) for it on Debian 12 (bookworm).
#
# Why: bookworm ships PostgreSQL 15 but no pgvector binary package. Debian's next release (trixie) carries the
# pgvector source package, which builds cleanly against PostgreSQL 15. This script fetches that source package
# from Debian's own mirror and compiles it against pg_config of PostgreSQL 15. Nothing comes from anywhere else.
#
# Usage (as root, or as a user with sudo):
#   scripts/postgres-pgvector.sh            # install if missing; prints the installed version
#   scripts/postgres-pgvector.sh --force    # rebuild and reinstall even if installed
#   scripts/postgres-pgvector.sh --check    # exit 0 if pgvector 0.8.x is installed, 1 if not; installs nothing
#
# Settings (environment):
#   PG_MAJOR=15                 PostgreSQL major version to build for
#   PGVECTOR_SUITE=trixie       Debian suite whose pgvector source package is used
#   PGVECTOR_VERSION_PREFIX=0.8 refuse a source package whose upstream version does not start with this
#   SKIP_APT_UPDATE=1           do not run `apt-get update` before installing build dependencies
#   DEBIAN_MIRROR=<URI>         Debian archive for the deb-src entry (default: the one apt already uses for bookworm)
#
# What it changes on the machine: installs postgresql-$PG_MAJOR, postgresql-server-dev-$PG_MAJOR, build-essential and
# dpkg-dev with apt; adds a deb-src entry for $PGVECTOR_SUITE only while fetching the source (the file is removed
# again afterwards); installs vector.so, vector.control and the SQL scripts into PostgreSQL's own directories
# (what `make install` of pgvector does). The build is portable (no -march=native): the same files work on
# another CPU of the same architecture.
#
# After it: `CREATE EXTENSION vector;` works in any database of a PostgreSQL $PG_MAJOR server on this machine.
# scripts/test-db.sh starts a throwaway server for the tests with the extension already created.
set -euo pipefail

PG_MAJOR="${PG_MAJOR:-15}"
PGVECTOR_SUITE="${PGVECTOR_SUITE:-trixie}"
PGVECTOR_VERSION_PREFIX="${PGVECTOR_VERSION_PREFIX:-0.8}"
PG_CONFIG="/usr/lib/postgresql/${PG_MAJOR}/bin/pg_config"
SRC_LIST="/etc/apt/sources.list.d/pgvector-${PGVECTOR_SUITE}-src.sources"

log() { printf '[postgres-pgvector] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || die "run as root or install sudo"
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive

# Prints the installed pgvector version (default_version of vector.control) or nothing.
installed_version() {
  [[ -x "$PG_CONFIG" ]] || return 0
  local share lib control
  share="$("$PG_CONFIG" --sharedir)"
  lib="$("$PG_CONFIG" --pkglibdir)"
  control="$share/extension/vector.control"
  [[ -f "$control" && -f "$lib/vector.so" ]] || return 0
  sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" "$control"
}

is_wanted_version() { [[ -n "$1" && "$1" == "$PGVECTOR_VERSION_PREFIX".* ]]; }

# Base URI of the Debian archive this machine already uses (deb822 .sources or one-line .list), so the source
# package comes from the same mirror. Security and updates suites are skipped. Set DEBIAN_MIRROR to override.
debian_mirror() {
  if [[ -n "${DEBIAN_MIRROR:-}" ]]; then printf '%s\n' "$DEBIAN_MIRROR"; return 0; fi
  local uri=""
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" && "$f" != "$SRC_LIST" ]] || continue
    uri="$(awk '
      BEGIN { RS = ""; FS = "\n" }
      {
        uris = ""; suites = ""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs:[ \t]*/, "", uris) }
          if ($i ~ /^Suites:/) { suites = $i }
        }
        if (suites ~ /bookworm([ \t]|$)/ && uris !~ /security/) { split(uris, u, /[ \t]+/); print u[1]; exit }
      }' "$f")"
    [[ -n "$uri" ]] && break
  done
  if [[ -z "$uri" && -f /etc/apt/sources.list ]]; then
    uri="$(awk '$1 == "deb" {
        for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) { u = $i; s = $(i + 1); break }
        if (s == "bookworm" && u !~ /security/) { print u; exit }
      }' /etc/apt/sources.list)"
  fi
  [[ -n "$uri" ]] || die "no bookworm Debian archive found in the apt sources (set DEBIAN_MIRROR=<archive URI>)"
  printf '%s\n' "$uri"
}

main() {
  local force=0
  case "${1:-}" in
    --force) force=1 ;;
    --check)
      local v; v="$(installed_version)"
      if is_wanted_version "$v"; then echo "$v"; exit 0; fi
      exit 1 ;;
    "") ;;
    *) die "unknown argument: $1 (use --force or --check)" ;;
  esac

  local current; current="$(installed_version)"
  if [[ "$force" -eq 0 ]] && is_wanted_version "$current"; then
    log "pgvector $current already installed for PostgreSQL $PG_MAJOR; nothing to do"
    echo "$current"
    return 0
  fi

  [[ -r /etc/os-release ]] && . /etc/os-release
  [[ "${ID:-}" == "debian" ]] || die "this script is for Debian (found ID=${ID:-unknown})"

  if [[ "${SKIP_APT_UPDATE:-0}" != "1" ]]; then
    log "apt-get update"
    $SUDO apt-get update -q >/dev/null
  fi
  log "installing postgresql-$PG_MAJOR and build dependencies"
  $SUDO apt-get install -y -q --no-install-recommends \
    "postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR" build-essential dpkg-dev >/dev/null

  local mirror keyring=""
  mirror="$(debian_mirror)"
  [[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] && keyring="Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
  log "adding deb-src $mirror $PGVECTOR_SUITE main (temporary: $SRC_LIST)"
  printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\n%s\n' \
    "$mirror" "$PGVECTOR_SUITE" "$keyring" | $SUDO tee "$SRC_LIST" >/dev/null

  local work
  work="$(mktemp -d "${TMPDIR:-/tmp}/pgvector-build.XXXXXX")"
  chmod 755 "$work" # apt's download sandbox user (_apt) must be able to write the files
  # shellcheck disable=SC2064 # expand now: the trap must remove exactly these paths
  trap "rm -rf '$work'; $SUDO rm -f '$SRC_LIST'" EXIT

  # Refresh only the new source list; the other lists stay as they are.
  $SUDO apt-get update -q \
    -o Dir::Etc::sourcelist="$SRC_LIST" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 >/dev/null
  local src_version
  src_version="$(apt-cache showsrc pgvector 2>/dev/null | sed -n 's/^Version: //p' | sort -V | tail -n 1)"
  [[ -n "$src_version" ]] || die "no pgvector source package found in $PGVECTOR_SUITE at $mirror"
  [[ "$src_version" == "$PGVECTOR_VERSION_PREFIX".* ]] ||
    die "source package pgvector $src_version does not match PGVECTOR_VERSION_PREFIX=$PGVECTOR_VERSION_PREFIX"

  log "fetching source package pgvector=$src_version"
  (cd "$work" && apt-get source -q "pgvector=$src_version" >/dev/null 2>&1) ||
    die "apt-get source pgvector=$src_version failed"
  local srcdir
  srcdir="$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'pgvector-*' | head -n 1)"
  [[ -n "$srcdir" ]] || die "source package did not unpack"

  log "building in $srcdir against $PG_CONFIG"
  make -C "$srcdir" -j"$(nproc)" PG_CONFIG="$PG_CONFIG" OPTFLAGS="" >"$work/build.log" 2>&1 ||
    { tail -n 30 "$work/build.log" >&2; die "build failed"; }
  $SUDO make -C "$srcdir" install PG_CONFIG="$PG_CONFIG" OPTFLAGS="" >"$work/install.log" 2>&1 ||
    { tail -n 30 "$work/install.log" >&2; die "make install failed"; }

  local now; now="$(installed_version)"
  is_wanted_version "$now" || die "after install, vector.control reports '${now}'"
  log "installed pgvector $now for PostgreSQL $PG_MAJOR"
  echo "$now"
}

main "$@"
