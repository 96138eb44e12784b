#!/usr/bin/env bash
# Makes sure the test suite can start real PostgreSQL and MariaDB servers (the tests start
# their own throwaway servers; they never use the system services): uses the machine's
# binaries when present, else installs Debian's `postgresql` / `mariadb-server` with apt-get
# (as root, or through sudo). Called by `make test`; safe to run again (installs nothing then).
set -euo pipefail

missing=()
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
    && [ -z "${PG_BIN_DIR:-}" ]; then
  missing+=(postgresql)
fi
if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ] && [ ! -x /usr/sbin/mysqld ] \
    && [ -z "${MARIADB_BIN_DIR:-}" ]; then
  missing+=(mariadb-server)
fi
[ "${#missing[@]}" -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "The test suite needs ${missing[*]} (PostgreSQL: initdb/pg_ctl; MariaDB: mariadbd) and this" \
       "machine has no apt-get: install them with your package manager and run make test again." >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "The test suite needs ${missing[*]}: install them as root (apt-get install ${missing[*]})." >&2
    exit 1
  fi
  sudo="sudo"
fi
echo "Installing ${missing[*]} for the test suite's throwaway database servers..." >&2
$sudo apt-get update -qq
# RUNLEVEL=1: invoke-rc.d does not start the packages' system services (the tests run their own).
DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $sudo apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
