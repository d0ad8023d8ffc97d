# Shared by the ctest scripts that run Node.js programs (tests/browser/run.sh, tests/timescale/run.sh).
# Source it; every function exits the script with a message prefixed by $rs_test_name on failure.

# Exits unless the REDSTORE_* environment of a dev stack is set and node and npm are there.
rs_need_stack_and_node() {
  local v
  for v in REDSTORE_REDIS_URL REDSTORE_DATABASE_URL REDSTORE_KAFKA_BROKERS; do
    if [[ -z ${!v:-} ]]; then
      echo "$rs_test_name: $v is not set: start the dev stack (scripts/dev-stack up) and source its env" >&2
      exit 1
    fi
  done
  command -v node > /dev/null && command -v npm > /dev/null || {
    echo "$rs_test_name: node and npm are required" >&2
    exit 1
  }
}

# rs_npm_ci SRC WORK: the packages of SRC/package.json exactly as SRC/package-lock.json locks them (npm ci:
# the lock file decides, nothing else), installed into WORK once per lock file.
rs_npm_ci() {
  local src=$1 work=$2 stamp
  mkdir -p "$work"
  stamp="$work/node_modules/.redstore-lock-$(sha256sum "$src/package-lock.json" | cut -c1-16)"
  if [[ ! -f $stamp ]]; then
    cp "$src/package.json" "$src/package-lock.json" "$work/"
    (cd "$work" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$stamp"
  fi
}
