#!/usr/bin/env bash
# The headless browser test of the web pages (ctest: browser_web).
#
#   run.sh SERVER PROJECTOR FIXTURE WEB_ROOT WORKDIR
#
# Installs playwright-core with `npm ci` into WORKDIR (once per package-lock.json), then starts a real
# redstore-server (free port, --web-root WEB_ROOT) and a redstore-projector against the dev stack of the
# REDSTORE_* environment, each run on its own Kafka topic prefix and session secret, seeds a store with
# the fixture program, and runs web.test.mjs in Debian's chromium, headless.
#
# Exit 77 (skipped) only when chromium is missing on a developer machine; under CI (.ci/run sets
# REDSTORE_REQUIRE_BROWSER=1; CI=true counts too) a missing chromium fails. REDSTORE_CHROMIUM overrides
# /usr/bin/chromium. The server must exit 0 on SIGTERM (under ASan: no leak, no error).
set -euo pipefail

server=$1 projector=$2 fixture=$3 webroot=$4 work=$5
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
chromium=${REDSTORE_CHROMIUM:-/usr/bin/chromium}

if [[ ! -x $chromium ]]; then
  if [[ ${REDSTORE_REQUIRE_BROWSER:-0} == 1 || ${CI:-} == true ]]; then
    echo "browser_web: FAILED: $chromium is missing (CI installs Debian's chromium: scripts/lib/deps.sh)" >&2
    exit 1
  fi
  echo "browser_web: SKIPPED: chromium is not installed ($chromium); install it with: apt-get install chromium"
  exit 77
fi
# shellcheck source=tests/support/npm.sh
source "$here/../support/npm.sh"
rs_test_name=browser_web
rs_need_stack_and_node
# playwright-core, exactly as locked, into the build tree
rs_npm_ci "$here" "$work"
cp "$here/web.test.mjs" "$work/" # ES modules resolve packages next to the script

tmp=$(mktemp -d /tmp/rs-browser-XXXXXX)
server_pid="" projector_pid=""
cleanup() {
  local rc=$? src=0
  for pid in $server_pid $projector_pid; do
    kill -TERM "$pid" 2> /dev/null || true
  done
  if [[ -n $server_pid ]]; then
    wait "$server_pid" 2> /dev/null || src=$?
    if ((src != 0)); then
      echo "browser_web: redstore-server exited $src after SIGTERM" >&2
      ((rc != 0)) || rc=1
    fi
  fi
  if [[ -n $projector_pid ]]; then
    wait "$projector_pid" 2> /dev/null || true
  fi
  if [[ $rc -ne 0 ]]; then
    echo "--- redstore-server log"; tail -n 40 "$tmp/server.log" 2> /dev/null || true
    echo "--- redstore-projector log"; tail -n 20 "$tmp/projector.log" 2> /dev/null || true
  fi
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT

# this run's own topics, consumer group and session secret: runs in parallel never see each other
run="web-$$-$(date +%s%N | tail -c 7)"
export REDSTORE_KAFKA_TOPIC_PREFIX="$run."
export REDSTORE_KAFKA_METADATA_REFRESH_MS=1000
export REDSTORE_AUTH_SECRET="browser-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export REDSTORE_AUTH_PIN_OPSLIMIT=1 REDSTORE_AUTH_PIN_MEMLIMIT_KIB=8
group="$run-projector"

# the store is in UTC+14 and the dashboard's browser in UTC-11: their dates always differ
"$fixture" setup web Pacific/Kiritimati > "$tmp/fixture.json"
"$projector" --group "$group" --batch 100 > "$tmp/projector.log" 2>&1 &
projector_pid=$!
"$server" --port 0 --port-file "$tmp/port" --web-root "$webroot" --heartbeat-ms 1000 > "$tmp/server.log" 2>&1 &
server_pid=$!

deadline=$((SECONDS + 20))
until [[ -s $tmp/port ]] && curl -fsS -o /dev/null "http://127.0.0.1:$(cat "$tmp/port")/healthz"; do
  if ((SECONDS > deadline)) || ! kill -0 "$server_pid" 2> /dev/null; then
    echo "browser_web: redstore-server did not become healthy within 20 s" >&2
    exit 1
  fi
  sleep 0.1 # polling a condition (the port file and /healthz) with a deadline
done

BASE_URL="http://127.0.0.1:$(cat "$tmp/port")" FIXTURE="$tmp/fixture.json" FIXTURE_BIN="$fixture" \
  PROJECTOR_GROUP="$group" CHROMIUM="$chromium" timeout 150 node "$work/web.test.mjs"
