#!/usr/bin/env bash
# Measures how fast the ledger applies broker events, and how long a report takes from the fill
# receiver to the ledger under intake load, on this machine.
#
#   bench/ledger_apply.sh [--no-build] [--build-dir DIR] [--orders N] [--fills F]
#                         [--lag-orders L] [--lag-rate R] [--intake-clients C]
#                         [--intake-accounts M] [--keep]
#   bench/ledger_apply.sh --section-from RESULTS.json
#
# Builds Release into build/ or DIR (unless --no-build), starts a throwaway PostgreSQL 15
# (synchronous_commit on, fsync on; databases ledger and fills) and Redis in a temporary folder on
# free ports, the ledger service and the fill receiver against them, then measures:
#   (b) lag: L orders (8 accounts) placed through the ledger's API; intake_load runs against the
#       ledger (C clients on M accounts of their own, the intake bench's 8 x 8 by default) while
#       bench/ledger_apply_load plays SIM-A's drop copy into the fill receiver's FIX acceptor:
#       each order's acknowledgement and F fills, R reports/s. Lag of each report = the ledger's
#       applied_at (executions, or applied_events for the acknowledgement) - the fill receiver's
#       received_at (its executions row), both clock_timestamp() of the same PostgreSQL server:
#       p50, p99, max.
#   (a) throughput: the fill receiver stopped; N orders placed through the API (reservations
#       booked), spread over 8 accounts, then all on 1 hot account; with the ledger's consumers
#       off, each order's ACKED order-event and F fills written to order-events and executions
#       as the gateway's and the fill receiver's relays write them; the ledger restarted with its
#       consumers on. Events applied/s = N x (1 + F) / (last applied_at - first applied_at).
# Each window records the CPU of postgres, ledger_service, fill_receiver, redis, the load tools
# and of unrelated processes (from /proc); a window in which unrelated processes used more than
# 20 % of one core is marked disturbed.
# Writes bench/results/ledger_apply-<date>.json and regenerates the section between
# <!-- ledger_apply:begin --> and <!-- ledger_apply:end --> of docs/performance.md.
# --section-from regenerates that section from a results file and does nothing else.
# Everything started here is stopped on exit, on failure too. The temporary folder (logs, raw
# outputs) is removed after a successful run unless --keep is given.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../scripts/lib/stack.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/stack.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUILD_DIR="$FBG_ROOT/build"
# FBG_BENCH_RESULTS_DIR and FBG_BENCH_DOC_FILE redirect the outputs (for a trial run).
RESULTS_DIR="${FBG_BENCH_RESULTS_DIR:-$FBG_ROOT/bench/results}"
DOC_FILE="${FBG_BENCH_DOC_FILE:-$FBG_ROOT/docs/performance.md}"

ORDERS=2000
FILLS=3
LAG_ORDERS=1000
LAG_FILLS=2
LAG_RATE=100
INTAKE_CLIENTS=8
INTAKE_ACCOUNTS=8
INTAKE_WARMUP_S=3
DISTURBED_OTHER_PCT=20
APPLY_TIMEOUT_S=300
READY_TIMEOUT_S=60
STOP_TIMEOUT_S=20
DO_BUILD=1
KEEP_LOGS=0
SECTION_FROM=""

usage() { bench_usage "${BASH_SOURCE[0]}" "$1"; }

# number_arg NAME VALUE LOW HIGH
number_arg() {
  if ! [[ "${2:-}" =~ ^[0-9]+$ ]] || (($2 < $3 || $2 > $4)); then fbg_die "$1 needs $3..$4"; fi
}

while (($# > 0)); do
  case "$1" in
    --no-build) DO_BUILD=0 ;;
    --keep) KEEP_LOGS=1 ;;
    --section-from)
      [[ -f "${2:-}" ]] || fbg_die "--section-from needs a results file"
      SECTION_FROM="$(realpath "$2")"
      shift
      ;;
    --build-dir)
      [[ -n "${2:-}" ]] || fbg_die "--build-dir needs a folder"
      BUILD_DIR="$(realpath -m "$2")"
      shift
      ;;
    --orders) number_arg "$1" "${2:-}" 10 100000 && ORDERS="$2" && shift ;;
    --fills) number_arg "$1" "${2:-}" 1 10 && FILLS="$2" && shift ;;
    --lag-orders) number_arg "$1" "${2:-}" 10 100000 && LAG_ORDERS="$2" && shift ;;
    --lag-rate) number_arg "$1" "${2:-}" 1 5000 && LAG_RATE="$2" && shift ;;
    --intake-clients) number_arg "$1" "${2:-}" 0 64 && INTAKE_CLIENTS="$2" && shift ;;
    --intake-accounts) number_arg "$1" "${2:-}" 1 64 && INTAKE_ACCOUNTS="$2" && shift ;;
    -h | --help) usage 0 ;;
    *) usage 2 ;;
  esac
  shift
done

# ---------------------------------------------------------------------------------------------
# Temporary folder, ports and cleanup
# ---------------------------------------------------------------------------------------------

WORK_DIR=""
PG_DATA_DIR=""
REDIS_DIR=""
LEDGER_PID_FILE=""
FILLS_PID_FILE=""
CHILD_PIDS=()
KEEP_WORK_DIR=1

cleanup() {
  local status=$?
  set +e
  trap - EXIT INT TERM
  local pid
  for pid in "${CHILD_PIDS[@]}"; do
    if fbg_pid_alive "$pid"; then
      kill "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
    fi
  done
  [[ -n "$LEDGER_PID_FILE" ]] && (fbg_stop_pidfile ledger_service "$LEDGER_PID_FILE" "$STOP_TIMEOUT_S")
  [[ -n "$FILLS_PID_FILE" ]] && (fbg_stop_pidfile fill_receiver "$FILLS_PID_FILE" "$STOP_TIMEOUT_S")
  [[ -n "$REDIS_DIR" ]] && (fbg_redis_stop "$REDIS_DIR" "$REDIS_PORT")
  [[ -n "$PG_DATA_DIR" ]] && (fbg_pg_stop "$PG_DATA_DIR")
  if [[ -n "$WORK_DIR" && -d "$WORK_DIR" ]]; then
    if ((status == 0 && KEEP_WORK_DIR == 0 && KEEP_LOGS == 0)); then
      rm -rf "$WORK_DIR"
    else
      fbg_log "logs kept in $WORK_DIR (remove it when done)"
    fi
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

psql_db() { "$FBG_PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$1" -tAq -c "$2"; }

# ---------------------------------------------------------------------------------------------
# CPU accounting: ticks per group of processes between two snapshots of /proc
# ---------------------------------------------------------------------------------------------

# cpu_snapshot OUT: "total busy iowait" from /proc/stat, then one line per live process:
# "pid group ticks comm" where group is postgres (the postmaster and its children), ledger,
# fills, redis, load (the load tools), ours (anything else of this script's session), kernel
# (kernel threads: disk flushes, network, also for this benchmark) or other (unrelated).
cpu_snapshot() {
  local out="$1" postmaster="" load_pids="${LOAD_PIDS[*]:-}"
  [[ -f "$PG_DATA_DIR/postmaster.pid" ]] && read -r postmaster <"$PG_DATA_DIR/postmaster.pid"
  {
    awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print t, t - $5 - $6, $6; exit }' /proc/stat
    # A process may end between the glob and its read: not an error.
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } |
      awk -v pm="$postmaster" -v ledger="$(cat "$LEDGER_PID_FILE" 2>/dev/null)" \
        -v fills="$(cat "$FILLS_PID_FILE" 2>/dev/null)" -v redis="$(cat "$REDIS_DIR/redis.pid" 2>/dev/null)" \
        -v load=" $load_pids " -v session="$(ps -o sid= -p $$ | tr -d ' ')" '
        {
          pid = $1; comm = $0; sub(/^[0-9]+ \(/, "", comm); sub(/\) [A-Za-z] .*$/, "", comm)
          rest = $0; sub(/^.*\) /, "", rest); n = split(rest, f, " ")
          # f[1] state, f[2] ppid, f[4] session, f[12] utime, f[13] stime, f[14] cutime, f[15] cstime
          ticks = f[12] + f[13]; group = "other"
          if (pid == pm) { group = "postgres"; ticks += f[14] + f[15] }
          else if (pm != "" && f[2] == pm) group = "postgres"
          else if (pid == ledger) group = "ledger"
          else if (pid == fills) group = "fills"
          else if (pid == redis) group = "redis"
          else if (index(load, " " pid " ") > 0) group = "load"
          else if (f[4] == session) group = "ours"
          else if (pid == 2 || f[2] == 2) group = "kernel"
          gsub(/ /, "_", comm)
          print pid, group, ticks, comm
        }'
  } >"$out"
}

# cpu_json START END: the CPU split of the window in % of one core per group, the busiest
# unrelated processes, and whether they disturbed the window.
cpu_json() {
  awk -v ncpu="$BENCH_NCPU" -v tck="$BENCH_CLK_TCK" -v limit="$DISTURBED_OTHER_PCT" '
    FNR == 1 { if (NR == 1) { t0 = $1; b0 = $2; w0 = $3 } else { t1 = $1; b1 = $2; w1 = $3 }; next }
    NR == FNR { start[$1] = $3; next }
    {
      d = $3 - ($1 in start ? start[$1] : 0); if (d < 0) d = 0
      used[$2] += d
      if ($2 == "other" && d > 0) other[$4] += d
    }
    END {
      per_core = (t1 - t0) / ncpu
      if (per_core <= 0) { print "null"; exit }
      printf "{\"window_s\": %.1f, \"machine_busy_pct\": %.1f, \"iowait_pct\": %.1f", per_core / tck, 100 * (b1 - b0) / (t1 - t0), 100 * (w1 - w0) / (t1 - t0)
      split("postgres ledger fills redis load ours kernel other", g, " ")
      attributed = 0
      for (i = 1; i <= 8; i++) { printf ", \"%s_core_pct\": %.1f", g[i], 100 * used[g[i]] / per_core; attributed += used[g[i]] }
      printf ", \"unattributed_core_pct\": %.1f", 100 * ((b1 - b0) - attributed) / per_core
      busiest = ""; for (k = 0; k < 3; k++) { best = ""; for (c in other) if (best == "" || other[c] > other[best]) best = c; if (best == "") break; busiest = busiest (busiest == "" ? "" : ", ") sprintf("%s %.1f", best, 100 * other[best] / per_core); delete other[best] }
      printf ", \"busiest_unrelated\": \"%s\", \"disturbed\": %s}\n", busiest, (100 * used["other"] / per_core > limit) ? "true" : "false"
    }' "$1" "$2"
}

# ---------------------------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------------------------

ensure_tools() {
  fbg_install_deps
  command -v jq >/dev/null || fbg_die "jq is needed (apt-get install jq)"
}

build() {
  fbg_log "building Release into $BUILD_DIR (ledger_service, fill_receiver, intake_load, ledger_apply_load)"
  cmake -S "$FBG_ROOT" -B "$BUILD_DIR" -DFBG_SANITIZE=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" -j "$BENCH_NCPU" --target ledger_service fill_receiver intake_load ledger_apply_load
}

start_servers() {
  WORK_DIR="$(mktemp -d /tmp/fbg-ledger-apply.XXXXXX)"
  chmod 755 "$WORK_DIR"
  fbg_free_port PG_PORT
  fbg_free_port REDIS_PORT
  fbg_free_port FILLS_PORT
  fbg_free_port FIX_PORT
  PG_DATA_DIR="$WORK_DIR/pg/data"
  REDIS_DIR="$WORK_DIR/redis"
  mkdir -p "$WORK_DIR/pg" "$REDIS_DIR" "$WORK_DIR/fills-run"
  fbg_pg_start "$PG_DATA_DIR" "$PG_PORT"
  fbg_pg_createdb "$PG_PORT" ledger
  fbg_pg_createdb "$PG_PORT" fills
  fbg_redis_start "$REDIS_DIR" "$REDIS_PORT"
  JWT_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  LEDGER_PID_FILE="$WORK_DIR/ledger.pid"
  FILLS_PID_FILE="$WORK_DIR/fills.pid"
}

# start_ledger CONSUMERS(true|false): the ledger with its default settings, consumers on or off.
start_ledger() {
  local consumers="$1" conf="$WORK_DIR/ledger-$1.conf"
  fbg_free_port LEDGER_PORT # a fresh port: the last process's connections may still hold the old one
  (
    umask 077
    cat >"$conf" <<CONF
# Written by bench/ledger_apply.sh for one measured run.
http_bind_address = 127.0.0.1
http_port = $LEDGER_PORT
postgres_uri = postgresql://postgres@127.0.0.1:$PG_PORT/ledger
redis_host = 127.0.0.1
redis_port = $REDIS_PORT
jwt_secret = $JWT_SECRET
fill_receiver_port = $FILLS_PORT
consumers_enabled = $consumers
CONF
  )
  fbg_start_background ledger_service "$WORK_DIR/ledger.log" "$LEDGER_PID_FILE" \
    "$LEDGER_BIN" serve --config "$conf"
  fbg_wait_http "http://127.0.0.1:$LEDGER_PORT/readyz" "$READY_TIMEOUT_S"
}

stop_ledger() { fbg_stop_pidfile ledger_service "$LEDGER_PID_FILE" "$STOP_TIMEOUT_S"; }

start_fill_receiver() {
  local conf="$WORK_DIR/fill_receiver.conf"
  cat >"$conf" <<CONF
# Written by bench/ledger_apply.sh; otherwise the fill receiver's defaults.
http_port = $FILLS_PORT
postgres_uri = postgresql://postgres@127.0.0.1:$PG_PORT/fills
redis_port = $REDIS_PORT
fix_settings_file = $FBG_ROOT/fix_config/fill_receiver.cfg
fix_config_dir = $FBG_ROOT/fix_config
run_dir = $WORK_DIR/fills-run
fix_accept_port = $FIX_PORT
CONF
  fbg_start_background fill_receiver "$WORK_DIR/fill_receiver.log" "$FILLS_PID_FILE" \
    "$FILLS_BIN" serve --config "$conf"
  fbg_wait_http "http://127.0.0.1:$FILLS_PORT/healthz" "$READY_TIMEOUT_S"
}

# wait_applied PREFIX EXPECTED: until the ledger holds EXPECTED applied events (fills and others)
# of the orders of accounts PREFIX-*; fails after APPLY_TIMEOUT_S.
applied_count() {
  psql_db ledger "SELECT (SELECT count(*) FROM executions x JOIN orders o USING (order_id)
      WHERE o.account_id LIKE '$1-%') + (SELECT count(*) FROM applied_events a JOIN orders o
      USING (order_id) WHERE o.account_id LIKE '$1-%')"
}
wait_applied() {
  local prefix="$1" expected="$2" deadline=$((SECONDS + APPLY_TIMEOUT_S)) count
  while :; do
    count="$(applied_count "$prefix")"
    ((count >= expected)) && return 0
    ((SECONDS < deadline)) || fbg_die "$prefix: $count of $expected events applied within ${APPLY_TIMEOUT_S}s; see $WORK_DIR/ledger.log"
    # Polling interval of a bounded wait; the rates come from the rows' timestamps, not from it.
    sleep 0.5
  done
}

place_orders() {
  local prefix="$1" accounts="$2" count="$3" quantity="$4"
  "$LOAD_BIN" orders --port "$LEDGER_PORT" --jwt-secret "$JWT_SECRET" --accounts "$accounts" \
    --orders "$count" --quantity "$quantity" --account-prefix "$prefix" --clients 8 \
    --out "$WORK_DIR/$prefix.orders" >"$WORK_DIR/$prefix.orders.log" 2>&1 ||
    fbg_die "placing orders failed; see $WORK_DIR/$prefix.orders.log"
  cat "$WORK_DIR/$prefix.orders.log" >&2
}

# (b) The lag from the fill receiver to the ledger, under intake load.
run_lag() {
  local prefix=LAG reports=$((LAG_ORDERS * (1 + LAG_FILLS)))
  local send_s=$(((reports + LAG_RATE - 1) / LAG_RATE))
  start_fill_receiver
  place_orders "$prefix" 8 "$LAG_ORDERS" "$LAG_FILLS"
  LOAD_PIDS=()
  local intake_pid=""
  if ((INTAKE_CLIENTS > 0)); then
    fbg_log "intake_load: $INTAKE_CLIENTS clients on $INTAKE_ACCOUNTS accounts, ${INTAKE_WARMUP_S}s warmup + $((send_s + 10))s"
    "$INTAKE_BIN" --port "$LEDGER_PORT" --jwt-secret "$JWT_SECRET" --clients "$INTAKE_CLIENTS" \
      --accounts "$INTAKE_ACCOUNTS" --duration-s "$((send_s + 10))" --warmup-s "$INTAKE_WARMUP_S" \
      --account-prefix ILOAD --setup --json-out "$WORK_DIR/intake.json" >"$WORK_DIR/intake.txt" 2>&1 &
    intake_pid=$!
    CHILD_PIDS+=("$intake_pid")
    LOAD_PIDS+=("$intake_pid")
    sleep "$((INTAKE_WARMUP_S + 2))" # the intake load's setup and warmup, before the window
  fi
  fbg_log "drop copy: $reports reports ($LAG_ORDERS orders x (1 + $LAG_FILLS)) at $LAG_RATE/s"
  "$LOAD_BIN" drop-copy --fix-port "$FIX_PORT" --http-port "$FILLS_PORT" \
    --orders "$WORK_DIR/$prefix.orders" --fills "$LAG_FILLS" --quantity "$LAG_FILLS" \
    --rate "$LAG_RATE" --exec-prefix D >"$WORK_DIR/drop-copy.log" 2>&1 &
  local drop_pid=$!
  CHILD_PIDS+=("$drop_pid")
  LOAD_PIDS+=("$drop_pid")
  cpu_snapshot "$WORK_DIR/lag.cpu-start"
  wait "$drop_pid" || fbg_die "the drop copy failed; see $WORK_DIR/drop-copy.log"
  cat "$WORK_DIR/drop-copy.log" >&2
  wait_applied "$prefix" "$reports"
  cpu_snapshot "$WORK_DIR/lag.cpu-end"
  if [[ -n "$intake_pid" ]]; then
    wait "$intake_pid" || fbg_log "intake_load exited with an error; see $WORK_DIR/intake.txt"
    cat "$WORK_DIR/intake.txt" >&2
  fi
  CHILD_PIDS=()
  LOAD_PIDS=()
  # Lag per report, in ms: ledger applied_at - fill receiver received_at (same server clock).
  psql_db fills "SELECT exec_id || ' ' || extract(epoch FROM received_at) FROM executions
      WHERE broker = 'SIM-A' ORDER BY exec_id" | LC_ALL=C sort >"$WORK_DIR/lag.received"
  psql_db ledger "SELECT exec_id || ' ' || extract(epoch FROM applied_at) FROM executions
      WHERE broker = 'SIM-A' AND exec_id LIKE 'D%' UNION ALL
      SELECT substr(event_id, 7) || ' ' || extract(epoch FROM applied_at) FROM applied_events
      WHERE event_id LIKE 'SIM-A:D%'" | LC_ALL=C sort >"$WORK_DIR/lag.applied"
  LC_ALL=C join "$WORK_DIR/lag.received" "$WORK_DIR/lag.applied" |
    awk '{ printf "%.3f\n", ($3 - $2) * 1000 }' | sort -n >"$WORK_DIR/lag.ms"
  local stored joined
  stored="$(wc -l <"$WORK_DIR/lag.received")"
  joined="$(wc -l <"$WORK_DIR/lag.ms")"
  ((joined == reports)) || fbg_die "lag: $joined reports joined, $reports sent ($stored stored)"
  local intake_json=null
  [[ -s "$WORK_DIR/intake.json" ]] && intake_json="$(jq '{clients, accounts, duration_s, accepted_per_s,
      latency_ms: {p50: .latency_ms.p50, p99: .latency_ms.p99}, accepted, account_busy,
      other_errors, transport_errors}' "$WORK_DIR/intake.json")"
  awk -v n="$joined" '{ v[NR] = $1 } END {
      p50 = v[int(0.50 * (n - 1)) + 1]; p99 = v[int(0.99 * (n - 1)) + 1]
      printf "{\"reports\": %d, \"p50_ms\": %.1f, \"p99_ms\": %.1f, \"max_ms\": %.1f, \"min_ms\": %.1f}\n", n, p50, p99, v[n], v[1]
    }' "$WORK_DIR/lag.ms" |
    jq --argjson intake "$intake_json" --argjson cpu "$(cpu_json "$WORK_DIR/lag.cpu-start" "$WORK_DIR/lag.cpu-end")" \
      --argjson orders "$LAG_ORDERS" --argjson fills "$LAG_FILLS" --argjson rate "$LAG_RATE" \
      '{orders: $orders, fills_per_order: $fills, drop_copy_reports_per_s: $rate, lag: ., intake_load: $intake, cpu: $cpu}' \
      >"$WORK_DIR/lag.json"
  fbg_stop_pidfile fill_receiver "$FILLS_PID_FILE" "$STOP_TIMEOUT_S"
}

# (a) Events applied per second. SEQ: the last executions seq used (the fill receiver's
# reports used 1..; the injected ones follow far above).
SEQ=100000000
run_throughput() {
  local name="$1" accounts="$2" prefix="T$1" events=$((ORDERS * (1 + FILLS)))
  stop_ledger
  start_ledger false
  place_orders "$prefix" "$accounts" "$ORDERS" "$FILLS"
  fbg_log "$name: writing $events stream entries (consumers off)"
  "$LOAD_BIN" inject --redis-port "$REDIS_PORT" --orders "$WORK_DIR/$prefix.orders" \
    --fills "$FILLS" --quantity "$FILLS" --seq-start "$SEQ" --exec-prefix "$prefix-" >&2 ||
    fbg_die "inject failed"
  SEQ=$((SEQ + ORDERS * FILLS))
  stop_ledger
  LOAD_PIDS=()
  cpu_snapshot "$WORK_DIR/$name.cpu-start"
  start_ledger true
  wait_applied "$prefix" "$events"
  cpu_snapshot "$WORK_DIR/$name.cpu-end"
  local span applied
  span="$(psql_db ledger "SELECT extract(epoch FROM max(t) - min(t)) FROM (
      SELECT x.applied_at AS t FROM executions x JOIN orders o USING (order_id) WHERE o.account_id LIKE '$prefix-%'
      UNION ALL SELECT a.applied_at FROM applied_events a JOIN orders o USING (order_id) WHERE o.account_id LIKE '$prefix-%') s")"
  applied="$(applied_count "$prefix")"
  local filled
  filled="$(psql_db ledger "SELECT count(*) FROM orders WHERE account_id LIKE '$prefix-%' AND status = 'FILLED'")"
  ((filled == ORDERS)) || fbg_die "$name: $filled of $ORDERS orders FILLED"
  curl -s --max-time 5 "http://127.0.0.1:$LEDGER_PORT/metrics" >"$WORK_DIR/$name.metrics" || true
  jq -n --arg name "$name" --argjson accounts "$accounts" --argjson orders "$ORDERS" \
    --argjson fills "$FILLS" --argjson events "$applied" --argjson span "$span" \
    --argjson cpu "$(cpu_json "$WORK_DIR/$name.cpu-start" "$WORK_DIR/$name.cpu-end")" \
    '{name: $name, accounts: $accounts, orders: $orders, fills_per_order: $fills, events: $events,
      apply_span_s: (($span * 1000 | round) / 1000), events_per_s: (($events / $span * 10 | round) / 10), cpu: $cpu}' \
    >"$WORK_DIR/$name.json"
  fbg_log "$name: $applied events in ${span}s"
}

write_results() {
  local file="$1" redis_version
  redis_version="$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')"
  jq -n --argjson machine "$(bench_machine_json "$PG_DATA_DIR" "$PG_PORT" "$RUN_DATE" "$BUSY_BEFORE_PCT" \
    "$(jq -n --arg v "$redis_version" '{redis_version: $v}')")" \
    --slurpfile lag "$WORK_DIR/lag.json" --slurpfile spread "$WORK_DIR/8-accounts.json" \
    --slurpfile hot "$WORK_DIR/1-hot-account.json" --argjson disturbed "$DISTURBED_OTHER_PCT" \
    '{machine: $machine, disturbed_when_unrelated_core_pct_above: $disturbed,
      throughput: [$spread[0], $hot[0]], lag: $lag[0]}' >"$file"
}

section_markdown() {
  local file="$1" relative="${1#"$FBG_ROOT"/}"
  jq -r --arg file "$relative" '
    def yn: if . then "yes" else "no" end;
    def cpu: "\(.postgres_core_pct) | \(.ledger_core_pct) | \(.fills_core_pct) | \(.redis_core_pct) | \(.load_core_pct) | \(.other_core_pct)\(if .busiest_unrelated != "" then " (\(.busiest_unrelated))" else "" end) | \(.kernel_core_pct) | \(.unattributed_core_pct) | \(.machine_busy_pct) % | \(.disturbed | yn)";
    .machine as $m | .lag as $l |
    "<!-- ledger_apply:begin -->",
    "<!-- Generated by bench/ledger_apply.sh; edits between these markers are overwritten. -->",
    "## Ledger applying acknowledgements and fills",
    "",
    "Reproduce: `bench/ledger_apply.sh` (builds Release into build/, then about 3 minutes; `--help` for the sizes, the drop copy'"'"'s rate and the intake load).",
    "",
    "Measured \($m.date) on commit `\($m.commit)`\(if $m.working_tree_dirty then " (with uncommitted changes)" else "" end); raw results in `\($file)`. Machine: \($m.cpu_model), \($m.cores) cores, \($m.memory_gib) GiB, \($m.storage); PostgreSQL \($m.postgresql_version) (synchronous_commit=\($m.synchronous_commit), fsync=\($m.fsync)), Redis \($m.redis_version); \($m.busy_before_run_pct) % of all cores busy before the run. The ledger and the fill receiver run with their default settings.",
    "",
    "Events applied per second: orders placed through the ledger'"'"'s API (so each has its reservation), then each order'"'"'s ACKED order-event and \(.throughput[0].fills_per_order) fills written to `order-events` and `executions` exactly as the gateway'"'"'s and the fill receiver'"'"'s relays write them while the ledger'"'"'s consumers are off; the ledger is started with its consumers on and the rate is the events over the time from the first to the last `applied_at`. Every event is one transaction (dedup row, order, account, position, journal, revisions), committed synchronously.",
    "",
    "| Orders on | orders | events | seconds | events applied/s |",
    "|---|---:|---:|---:|---:|",
    (.throughput[] | "| \(.accounts) account\(if .accounts == 1 then " (hot)" else "s" end) | \(.orders) | \(.events) | \(.apply_span_s) | **\(.events_per_s)** |"),
    "",
    "Lag from a report'"'"'s arrival at the fill receiver (its `executions.received_at`) to its application in the ledger (`executions.applied_at` for fills, `applied_events.applied_at` for acknowledgements), both the same PostgreSQL server'"'"'s clock: `bench/ledger_apply_load drop-copy` plays SIM-A'"'"'s drop copy over FIX into the real fill receiver, \($l.orders) orders x (1 acknowledgement + \($l.fills_per_order) fills) = \($l.lag.reports) reports at \($l.drop_copy_reports_per_s) reports/s, through the `executions` stream" +
      (if $l.intake_load != null then ", while `intake_load` places orders on the ledger with \($l.intake_load.clients) clients on \($l.intake_load.accounts) account\(if $l.intake_load.accounts == 1 then "" else "s" end)\(if $l.intake_load.clients == 8 and $l.intake_load.accounts == 8 then " (the intake bench'"'"'s 8 x 8 scenario)" else "" end): \($l.intake_load.accepted_per_s) orders/s accepted, p99 \($l.intake_load.latency_ms.p99) ms." else ", without intake load." end),
    "",
    "| reports | p50 ms | p99 ms | max ms |",
    "|---:|---:|---:|---:|",
    "| \($l.lag.reports) | **\($l.lag.p50_ms)** | **\($l.lag.p99_ms)** | \($l.lag.max_ms) |",
    "",
    "CPU in each window, % of one core (\($m.cores) cores = \($m.cores * 100) %), from /proc; unrelated: processes outside this benchmark (other engineers'"'"' work), disturbed above \(.disturbed_when_unrelated_core_pct_above) %; kernel threads: kworkers and the like (disk flushes and network, for this benchmark too); unattributed: what no process alive at the end of the window accounts for (the kernel'"'"'s time inside system calls is already the caller'"'"'s): processes that ended inside the window, such as this script'"'"'s psql polls, Redis'"'"'s append-only-file rewrite child or other engineers'"'"' short compiler runs, and interrupts. Only unrelated processes alive at the end count towards disturbed.",
    "",
    "| Window | postgres | ledger_service | fill_receiver | redis | load tools | unrelated | kernel threads | unattributed | machine busy | disturbed |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    (.throughput[] | "| apply, \(.accounts) account\(if .accounts == 1 then "" else "s" end) | \(.cpu | cpu) |"),
    "| lag under intake load | \($l.cpu | cpu) |",
    "<!-- ledger_apply:end -->"
  ' "$file"
}

update_doc() {
  local section
  section="$(mktemp /tmp/fbg-ledger-apply-section.XXXXXX)"
  section_markdown "$1" >"$section"
  bench_replace_section "$DOC_FILE" ledger_apply "$section"
  rm -f "$section"
}

main() {
  if [[ -n "$SECTION_FROM" ]]; then
    update_doc "$SECTION_FROM"
    fbg_log "section regenerated in $DOC_FILE from $SECTION_FROM"
    return 0
  fi
  LEDGER_BIN="$BUILD_DIR/ledger_service/ledger_service"
  FILLS_BIN="$BUILD_DIR/fill_receiver/fill_receiver"
  INTAKE_BIN="$BUILD_DIR/bench/intake_load"
  LOAD_BIN="$BUILD_DIR/bench/ledger_apply_load"
  ensure_tools
  ((DO_BUILD)) && build
  local bin
  for bin in "$LEDGER_BIN" "$FILLS_BIN" "$INTAKE_BIN" "$LOAD_BIN"; do
    [[ -x "$bin" ]] || fbg_die "$bin not built (run without --no-build)"
  done
  RUN_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  # Up to 30 s for the machine to be under 25 % busy (other engineers' builds and tests).
  local quiet_deadline=$((SECONDS + 30))
  BUSY_BEFORE_PCT="$(bench_machine_busy_pct 3)"
  while ((BUSY_BEFORE_PCT >= 25 && SECONDS < quiet_deadline)); do
    fbg_log "the machine is ${BUSY_BEFORE_PCT}% busy; waiting for a quieter moment"
    BUSY_BEFORE_PCT="$(bench_machine_busy_pct 3)"
  done
  start_servers
  start_ledger true
  run_lag
  run_throughput 8-accounts 8
  run_throughput 1-hot-account 1
  mkdir -p "$RESULTS_DIR"
  local results
  results="$RESULTS_DIR/ledger_apply-$(date -u -d "$RUN_DATE" +%Y%m%d-%H%M%S).json"
  write_results "$results"
  update_doc "$results"
  fbg_log "results: $results; section updated in $DOC_FILE"
  sed -n '/<!-- ledger_apply:begin -->/,/<!-- ledger_apply:end -->/p' "$DOC_FILE"
  KEEP_WORK_DIR=0
}

main
