# shellcheck shell=bash
# Sourced by scripts/demo and scripts/chaos: a store with its programs and simulated tills on a dev stack.
#
# The caller sets, before calling anything here:
#   BUILD   the build directory (examples/ under it)
#   CLI     redstore-cli
#   APPS    where programs record NAME.pid and NAME.log (the stack's apps/, so dev-stack down stops them)
#   RUN     a directory for this run's files (tills' journals, status files, logs, the server's port)
#   STORE   the store
#   HOT     the product to watch (one that is not made to order, so it can never be oversold)
# and has the stack's environment loaded (eval "$(scripts/dev-stack env)").

PORT=""
START_MS=0
till_pids=()

now_ms() { date +%s%3N; }

# start_app NAME ARGS...: a program in the background, its pid in $APPS/NAME.pid, output in NAME.log.
start_app() {
  local name=$1
  shift
  mkdir -p "$APPS"
  setsid "$@" >>"$APPS/$name.log" 2>&1 </dev/null &
  echo $! >"$APPS/$name.pid"
  disown $! # not a job of this shell: a kill -9 of it is a fault we inject, not news for the terminal
}

app_pid() { cat "$APPS/$1.pid" 2>/dev/null; }

# stop_app NAME [SIGNAL]: signals it (TERM by default), waits up to 15 s, then KILL.
stop_app() {
  local pid
  pid=$(app_pid "$1") || return 0
  kill "-${2:-TERM}" "$pid" 2>/dev/null || true
  for _ in $(seq 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$APPS/$1.pid"
}

stop_apps() {
  local f
  for f in "$APPS"/*.pid; do
    [[ -e "$f" ]] || continue
    stop_app "$(basename "$f" .pid)"
  done
}

available() { "$CLI" stock --store "$STORE" "$1" | awk '{print $8}'; }
on_hand() { "$CLI" stock --store "$STORE" "$1" | awk '{print $4}'; }

# store_staff TILLS: cashier1..N (PIN 1000+i) and a manager (PIN 2468), whether or not they exist.
store_staff() {
  local i
  for i in $(seq "$1"); do
    "$CLI" employee add --store "$STORE" --if-missing "cashier$i" "Cashier $i" cashier "$((1000 + i))" >/dev/null ||
      redstore_die "could not add cashier$i to $STORE"
  done
  "$CLI" employee add --store "$STORE" --if-missing manager "Store manager" manager 2468 >/dev/null ||
    redstore_die "could not add the manager to $STORE"
}

# store_top_up EACH HOT_QTY: receives what brings every product to EACH available, and $HOT to HOT_QTY.
store_top_up() {
  local lines=() sku avail want
  while read -r sku avail; do
    want=$1
    [[ "$sku" == "$HOT" ]] && want=$2
    ((avail < want)) && lines+=("$sku:$((want - avail))")
  done < <("$CLI" stock --store "$STORE" | awk '{print $1, $8}')
  if ((${#lines[@]})); then
    "$CLI" receive --store "$STORE" --ref "top-up" "${lines[@]}" >/dev/null || redstore_die "receiving stock failed"
  fi
}

# start_server [PORT]: redstore-server on PORT (0 or none: a free one), with the run's auth secret.
start_server() {
  if [[ ! -s "$RUN/auth.secret" ]]; then
    (umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n/+=' >"$RUN/auth.secret")
  fi
  REDSTORE_AUTH_SECRET=$(cat "$RUN/auth.secret")
  export REDSTORE_AUTH_SECRET
  rm -f "$RUN/server.port"
  start_app server "$BUILD/examples/server/redstore-server" --port "${1:-0}" --port-file "$RUN/server.port"
  for _ in $(seq 150); do
    [[ -s "$RUN/server.port" ]] && break
    sleep 0.1
  done
  [[ -s "$RUN/server.port" ]] || redstore_die "redstore-server did not start (see $APPS/server.log)"
  PORT=$(cat "$RUN/server.port")
  curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" || redstore_die "redstore-server does not answer /healthz"
}

start_projector() { start_app projector "$BUILD/examples/projector/redstore-projector"; }
start_worker() { start_app worker "$BUILD/examples/worker/redstore-worker" --store "$STORE"; }

# pg_sales_since MS: the store's sales in PostgreSQL made since then (ms since the epoch; as the
# superuser, so row-level security does not apply).
pg_sales_since() {
  psql "$REDSTORE_ADMIN_DATABASE_URL" -Atc \
    "SELECT count(*) FROM sales WHERE store_id = '$STORE' AND kind = 'sale' AND occurred_at >= to_timestamp($1 / 1000.0)"
}

# pg_duplicate_sales MS: sale ids recorded more than once since then (must always be 0).
pg_duplicate_sales() {
  psql "$REDSTORE_ADMIN_DATABASE_URL" -Atc \
    "SELECT count(*) FROM (SELECT sale_id FROM sales WHERE store_id = '$STORE' AND occurred_at >= to_timestamp($1 / 1000.0)
     GROUP BY sale_id HAVING count(*) > 1) d"
}

# status_sum FIELD: FIELD summed over the tills' status files.
status_sum() {
  local total=0 f v
  for f in "$RUN"/till-*.status; do
    [[ -e "$f" ]] || continue
    v=$(tr ' ' '\n' <"$f" | sed -n "s/^$1=//p")
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

# start_tills N SECONDS RATE [EXTRA-ARGS-FOR-TILL-N...]: pairs N tills and starts them selling; the
# extra arguments go to the last till only (e.g. --offline-at 8 --offline-for 12). TILL_ARGS (an array)
# goes to every till.
start_tills() {
  local n=$1 secs=$2 rate=$3 i code extra
  shift 3
  rm -f "$RUN"/till-*.status "$RUN"/till-*.db "$RUN"/till-*.log
  till_pids=()
  START_MS=$(now_ms)
  for i in $(seq "$n"); do
    code=$("$CLI" pairing-code --store "$STORE" "till $i") || redstore_die "no pairing code for till $i"
    extra=()
    ((i == n)) && extra=("$@")
    "$BUILD/examples/terminal-sim/redstore-terminal-sim" --server "http://127.0.0.1:$PORT" --store "$STORE" \
      --code "$code" --employee "cashier$i" --pin "$((1000 + i))" --journal "$RUN/till-$i.db" \
      --seconds "$secs" --rate "$rate" --hot "$HOT" --seed "$i" --status "$RUN/till-$i.status" \
      --name "till $i" "${TILL_ARGS[@]}" "${extra[@]}" >"$RUN/till-$i.log" 2>&1 &
    till_pids+=($!)
  done
}

tills_running() {
  local p running=0
  for p in "${till_pids[@]}"; do kill -0 "$p" 2>/dev/null && running=$((running + 1)); done
  ((running > 0))
}

# wait_tills: waits for every till; returns how many failed (or left sales pending).
wait_tills() {
  local p failed=0
  for p in "${till_pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
  return "$failed"
}

# wait_projected SECONDS: waits until PostgreSQL holds as many of the run's sales as the tills had
# acknowledged (or the time is up); prints that count.
wait_projected() {
  local synced in_pg deadline=$((SECONDS + $1))
  synced=$(status_sum synced)
  while :; do
    in_pg=$(pg_sales_since "$START_MS" 2>/dev/null) || in_pg=-1
    ((in_pg >= synced || SECONDS > deadline)) && break
    sleep 0.5
  done
  echo "$in_pg"
}
TILL_ARGS=()
