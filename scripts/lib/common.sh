# shellcheck shell=bash
# Sourced by scripts/test and scripts/demo: where things are, messages, and the CMake build.

REDSTORE_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

redstore_say() { printf '==> %s\n' "$*"; }
redstore_die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# redstore_build BUILD_DIR LOG|- [CMAKE_ARGS...]: configures (when needed) and builds BUILD_DIR with
# -j2. With LOG "-" the output streams; otherwise it goes to LOG and only its end is shown on failure.
redstore_build() {
  local dir=$1 log=$2
  shift 2
  local start=$SECONDS
  if [[ "$log" == - ]]; then
    cmake -S "$REDSTORE_REPO" -B "$dir" "$@" &&
      cmake --build "$dir" -j "${REDSTORE_JOBS:-2}" || return 1
  else
    mkdir -p "$(dirname "$log")"
    if ! { cmake -S "$REDSTORE_REPO" -B "$dir" "$@" &&
      cmake --build "$dir" -j "${REDSTORE_JOBS:-2}"; } >"$log" 2>&1; then
      printf 'build of %s failed; last lines of %s:\n' "$dir" "$log" >&2
      tail -n 60 "$log" >&2
      return 1
    fi
  fi
  redstore_say "built $dir in $((SECONDS - start))s"
}
