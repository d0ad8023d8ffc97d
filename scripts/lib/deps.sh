# shellcheck shell=bash
# Sourced by scripts/test, scripts/demo and scripts/dev-stack: installs the Debian packages that
# building, testing and running libredstore need. Add a package to REDSTORE_APT_PACKAGES and every
# script picks it up.
#
#   source scripts/lib/deps.sh
#   redstore_install_deps            # quiet; one summary line; details in the log file
#
# Environment:
#   REDSTORE_DEPS_LOG    where apt's output goes (default: ${TMPDIR:-/tmp}/redstore-deps.log)
#   REDSTORE_SKIP_DEPS=1 do nothing (for machines managed some other way)

REDSTORE_APT_PACKAGES=(
  # toolchain and build
  build-essential cmake pkg-config git
  # engines and their command-line tools
  redis-server redis-tools postgresql-15 postgresql-client-15
  # libraries the library, tests and programs link
  librdkafka-dev libhiredis-dev check libcjson-dev libmicrohttpd-dev libcurl4-openssl-dev
  libsodium-dev libsqlite3-dev libpq-dev
  # scripts, sanitizers and test tools
  python3 clang libclang-rt-14-dev valgrind procps iproute2 curl wrk
  # Python bindings (SWIG, built with pip into a venv, tested with pytest) and the API reference
  swig python3-dev python3-venv python3-pytest python3-setuptools doxygen
  # the headless browser test of the web pages (tests/browser: playwright-core drives it; node and npm
  # come with the machine's Node.js)
  chromium
)

# Prints the packages of REDSTORE_APT_PACKAGES that are not installed, one per line.
redstore_missing_deps() {
  local p status
  for p in "${REDSTORE_APT_PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ "$status" == installed ]] || printf '%s\n' "$p"
  done
}

redstore_install_deps() {
  if [[ "${REDSTORE_SKIP_DEPS:-0}" == 1 ]]; then
    echo "deps: skipped (REDSTORE_SKIP_DEPS=1)"
    return 0
  fi
  if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "deps: not a Debian system (no dpkg/apt-get); install these yourself: ${REDSTORE_APT_PACKAGES[*]}" >&2
    return 0
  fi
  local -a missing sudo=()
  mapfile -t missing < <(redstore_missing_deps)
  if ((${#missing[@]} == 0)); then
    echo "deps: all ${#REDSTORE_APT_PACKAGES[@]} packages present"
    return 0
  fi
  if [[ "$(id -u)" != 0 ]]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "deps: missing packages and not root and no sudo: ${missing[*]}" >&2
      return 1
    fi
    sudo=(sudo)
  fi
  local log="${REDSTORE_DEPS_LOG:-${TMPDIR:-/tmp}/redstore-deps.log}"
  local start=$SECONDS
  echo "deps: installing ${#missing[@]} package(s): ${missing[*]} (log: $log)"
  {
    echo "== $(date -u +%FT%TZ) installing: ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        --no-install-recommends "${missing[@]}"
  } >>"$log" 2>&1 || {
    echo "deps: apt-get failed; last lines of $log:" >&2
    tail -n 30 "$log" >&2
    return 1
  }
  mapfile -t missing < <(redstore_missing_deps)
  if ((${#missing[@]} > 0)); then
    echo "deps: still missing after install: ${missing[*]} (see $log)" >&2
    return 1
  fi
  echo "deps: installed in $((SECONDS - start))s"
}
