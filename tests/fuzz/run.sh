#!/usr/bin/env bash
# run.sh FUZZER SRC_DIR NAME SECONDS: fuzzes for SECONDS from a scratch copy of the seed corpus and the
# saved regressions (the sources are never written). A crash leaves its input in the scratch directory
# and the test fails: fix it, then keep the input under tests/fuzz/regressions/NAME/.
set -euo pipefail
fuzzer=$1 src=$2 name=$3 secs=$4
work=$(mktemp -d "${TMPDIR:-/tmp}/redstore-fuzz-$name.XXXXXX")
mkdir -p "$work/corpus" "$work/artifacts"
cp "$src/corpus/$name/"* "$work/corpus/" 2>/dev/null || true
cp "$src/regressions/$name/"* "$work/corpus/" 2>/dev/null || true
if "$fuzzer" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
     -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1; then
  tail -n 2 "$work/log"
  rm -rf "$work"
else
  tail -n 40 "$work/log"
  echo "fuzz_$name: failure; inputs kept in $work/artifacts" >&2
  exit 1
fi
