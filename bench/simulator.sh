#!/usr/bin/env bash
# Measures the broker simulator's execution-report rate with the project's PostgreSQL FIX store
# against QuickFIX's own FileStore, on this machine.
#
#   bench/simulator.sh [--no-build] [--build-dir DIR] [--measure-s S] [--orders N]
#                      [--warmup-orders K] [--window W] [--fill-delay-ms MS] [--rounds R] [--keep]
#
# Builds Release (simulator, sim_reports_load) into build/ or DIR (unless --no-build), starts a
# throwaway PostgreSQL 15 (synchronous_commit on, fsync on) in a temporary folder on a free
# port, then runs R rounds (default 3) of: the simulator (profile SIM-A) with fix_store=postgres,
# then with fix_store=file, each on a new database and run folder and loaded the same way by
# sim_reports_load: one order-entry session, BUY LIMIT orders far above the price, at most W=64
# unfinished, for S=20 s after K=300 warmup orders (at most N=100000 orders in all); fill_slices
# 1 and a market tick every MS=5 ms, so each order gets an acknowledgement and one fill (the time
# limit keeps a run short on a slow or busy machine). The load client also accepts the
# simulator's drop copy, so every report is copied as in production. Around each load it records
# the CPU used by postgres, the simulator and the client (from /proc and the client's rusage).
# The machine may be shared: each run first waits (up to 10 s) for it to be under 25 % busy; a
# run during which other processes used more than half a core is marked disturbed, and each
# store's result is the median of its undisturbed runs (of all its runs if none is undisturbed).
# Writes bench/results/simulator-<date>.json and regenerates the section between
# <!-- simulator:begin --> and <!-- simulator:end --> of docs/performance.md.
# Target (issue): with the PostgreSQL store, time per report at most 2 x the FileStore's.
# Everything started here is stopped on exit, on failure too. The temporary folder (logs, raw
# outputs) is removed after a successful run unless --keep is given.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../scripts/lib/stack.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/stack.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUILD_DIR="$FBG_ROOT/build"
RESULTS_DIR="$FBG_ROOT/bench/results"
DOC_FILE="$FBG_ROOT/docs/performance.md"

MEASURE_S=20
ORDERS=100000 # a bound; the time limit ends a run first
WARMUP_ORDERS=300
WINDOW=64
FILL_DELAY_MS=5
ROUNDS=3
QUIET_BUSY_PCT=25 # a run waits for the machine to be less busy than this ...
QUIET_WAIT_S=10   # ... for at most this long
# A run during which processes outside the benchmark (and the kernel) used more than this share of
# one core is marked disturbed; our own stack needs well under one core of the two.
DISTURBED_OTHER_PCT=50
SYMBOL=AAPL
PRICE=100.00 # the simulator's price; the client's limit (1000.00) is far above it
TARGET_RATIO=2
READY_TIMEOUT_S=60
STOP_TIMEOUT_S=20
CLIENT_TIMEOUT_S=300

DO_BUILD=1
KEEP_LOGS=0

usage() { bench_usage "${BASH_SOURCE[0]}" "$1"; }

# set_number VAR FLAG VALUE LOW HIGH: sets VAR to VALUE if it is a whole number in LOW..HIGH.
set_number() {
  if ! [[ "$3" =~ ^[0-9]+$ ]] || (($3 < $4 || $3 > $5)); then fbg_die "$2 needs $4..$5"; fi
  printf -v "$1" '%s' "$3"
}

while (($# > 0)); do
  case "$1" in
    --no-build) DO_BUILD=0 ;;
    --keep) KEEP_LOGS=1 ;;
    --measure-s) set_number MEASURE_S "$1" "${2:-}" 5 300 && shift ;;
    --orders) set_number ORDERS "$1" "${2:-}" 100 1000000 && shift ;;
    --warmup-orders) set_number WARMUP_ORDERS "$1" "${2:-}" 0 100000 && shift ;;
    --window) set_number WINDOW "$1" "${2:-}" 1 10000 && shift ;;
    --fill-delay-ms) set_number FILL_DELAY_MS "$1" "${2:-}" 1 1000 && shift ;;
    --rounds) set_number ROUNDS "$1" "${2:-}" 1 10 && shift ;;
    --build-dir)
      [[ -n "${2:-}" ]] || fbg_die "--build-dir needs a folder"
      BUILD_DIR="$(realpath -m "$2")"
      shift
      ;;
    -h | --help) usage 0 ;;
    *) usage 2 ;;
  esac
  shift
done
((WARMUP_ORDERS < ORDERS)) || fbg_die "--warmup-orders must be below --orders"

# ---------------------------------------------------------------------------------------------
# Temporary folder and cleanup
# ---------------------------------------------------------------------------------------------

WORK_DIR=""
PG_DATA_DIR=""
SIM_PID_FILE=""
KEEP_WORK_DIR=1

cleanup() {
  local status=$?
  set +e
  trap - EXIT INT TERM
  # Subshells: a stop that gives up (fbg_die) must not keep the next one from running.
  [[ -n "$SIM_PID_FILE" ]] && (fbg_stop_pidfile simulator "$SIM_PID_FILE" "$STOP_TIMEOUT_S")
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

# ---------------------------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------------------------

ensure_tools() {
  fbg_install_deps
  if ! command -v jq >/dev/null; then
    ((EUID == 0)) || fbg_die "jq is needed; install it (apt-get install jq)"
    fbg_log "installing jq"
    env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends jq >/dev/null
  fi
}

# The same configuration as fbg_build, but only the two targets this benchmark runs.
build() {
  fbg_log "building Release into $BUILD_DIR (simulator, sim_reports_load)"
  cmake -G Ninja -S "$FBG_ROOT" -B "$BUILD_DIR" -DFBG_SANITIZE=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" -j "$BENCH_NCPU" --target simulator sim_reports_load
}

start_postgres() {
  WORK_DIR="$(mktemp -d /tmp/fbg-simbench.XXXXXX)"
  chmod 755 "$WORK_DIR" # the postgres user must reach its data folder inside
  fbg_free_port PG_PORT
  PG_DATA_DIR="$WORK_DIR/pg/data"
  mkdir -p "$WORK_DIR/pg"
  fbg_pg_start "$PG_DATA_DIR" "$PG_PORT"
}

# write_sim_config FILE STORE DATABASE RUN_DIR: the simulator's settings for one run.
write_sim_config() {
  cat >"$1" <<CONF
# Written by bench/simulator.sh for one measured run.
profile = SIM-A
postgres_uri = postgresql://postgres@127.0.0.1:$PG_PORT/$3
http_bind_address = 127.0.0.1
http_port = $HTTP_PORT
fix_settings_file = $FBG_ROOT/fix_config/simulator-SIM-A.cfg
fix_config_dir = $FBG_ROOT/fix_config
run_dir = $4
fix_order_port = $ORDER_PORT
fix_drop_copy_port = $DROP_COPY_PORT
fix_store = $2
CONF
}

# admin METHOD PATH BODY: one admin API call that must answer 200.
admin() {
  local status
  status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X "$1" -d "$3" \
    "http://127.0.0.1:$HTTP_PORT$2" || true)"
  [[ "$status" == 200 ]] || fbg_die "simulator admin $1 $2 answered ${status:-nothing}"
}

# start_simulator NAME STORE: a new database and run folder; returns once /healthz answers and
# the faults and price of the run are set.
start_simulator() {
  local name="$1" store="$2" database="broker_sim_${1//-/_}"
  fbg_free_port HTTP_PORT
  fbg_free_port ORDER_PORT
  fbg_free_port DROP_COPY_PORT
  fbg_pg_createdb "$PG_PORT" "$database"
  mkdir -p "$WORK_DIR/$name"
  write_sim_config "$WORK_DIR/$name/simulator.conf" "$store" "$database" "$WORK_DIR/$name"
  SIM_PID_FILE="$WORK_DIR/$name/simulator.pid"
  fbg_start_background "simulator ($name)" "$WORK_DIR/$name/simulator.log" "$SIM_PID_FILE" \
    "$SIM_BIN" serve --config "$WORK_DIR/$name/simulator.conf"
  local pid deadline=$((SECONDS + READY_TIMEOUT_S))
  pid="$(<"$SIM_PID_FILE")"
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
    "http://127.0.0.1:$HTTP_PORT/healthz" || true)" == 200 ]]; do
    fbg_pid_alive "$pid" || fbg_die "simulator exited at start; see $WORK_DIR/$name/simulator.log"
    ((SECONDS < deadline)) || fbg_die "simulator not ready within ${READY_TIMEOUT_S}s"
    sleep 0.2 # polling interval of a bounded wait
  done
  admin PUT /v1/faults "{\"fill_slices\": 1, \"fill_delay_ms\": $FILL_DELAY_MS}"
  admin PUT "/v1/prices/$SYMBOL" "{\"price\": \"$PRICE\"}"
}

# What shows which store the run used: rows in the PostgreSQL store, files of the FileStore.
store_evidence_json() {
  local name="$1" database="broker_sim_${1//-/_}" tables rows=null files
  tables="$("$FBG_PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$database" -tAq \
    -c "select count(*) from pg_tables where tablename = 'fix_messages'")"
  if ((tables == 1)); then
    rows="$("$FBG_PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$database" -tAq \
      -c "select count(*) from fix_messages")"
  fi
  files="$(find "$WORK_DIR/$name/fixstore" -type f 2>/dev/null | wc -l)"
  jq -n --argjson rows "$rows" --argjson files "$files" \
    '{postgres_fix_messages_rows: $rows, filestore_files: $files}'
}

# Prints the share of all cores busy over the last 2 s once it is under QUIET_BUSY_PCT, or after
# QUIET_WAIT_S: a run should not start inside someone else's burst (a build, a test).
wait_quiet() {
  local busy deadline=$((SECONDS + QUIET_WAIT_S))
  while :; do
    busy="$(bench_machine_busy_pct 2)"
    ((busy < QUIET_BUSY_PCT || SECONDS >= deadline)) && break
  done
  echo "$busy"
}

# Cluster-wide WAL counters as JSON: what synchronous commits cost shows up as WAL flushes.
wal_json() {
  bench_psql_value "$PG_PORT" \
    "select json_build_object('records', wal_records, 'bytes', wal_bytes, 'syncs', wal_sync) from pg_stat_wal"
}

# run_load NAME STORE: one simulator run under load; writes $WORK_DIR/NAME/run.json.
run_load() {
  local name="$1" store="$2" out="$WORK_DIR/$1/load" busy_before
  busy_before="$(wait_quiet)"
  ((busy_before < QUIET_BUSY_PCT)) || fbg_log "warning: $name starts with the machine ${busy_before}% busy"
  start_simulator "$name" "$store"
  local sim_pid
  sim_pid="$(<"$SIM_PID_FILE")"
  # Dirty pages of the previous run are flushed now, not during this one.
  bench_psql_value "$PG_PORT" CHECKPOINT >/dev/null
  local wal_start
  wal_start="$(wal_json)"
  fbg_log "sim_reports_load $name: $WARMUP_ORDERS warmup orders, then ${MEASURE_S}s (at most $ORDERS orders), window $WINDOW"
  # The client's column starts at 0 and ends at its own rusage: it is gone by the end snapshot.
  echo "$(bench_cpu_snapshot "$PG_DATA_DIR" "$sim_pid") 0" >"$out.cpu-start"
  local status=0
  "$LOAD_BIN" --order-port "$ORDER_PORT" --drop-copy-port "$DROP_COPY_PORT" --orders "$ORDERS" \
    --warmup-orders "$WARMUP_ORDERS" --window "$WINDOW" --symbol "$SYMBOL" --measure-s "$MEASURE_S" \
    --store-dir "$WORK_DIR/$name/client-store" --timeout-s "$CLIENT_TIMEOUT_S" \
    --json-out "$out.json" >"$out.txt" 2>&1 || status=$?
  local client_ticks
  [[ -s "$out.json" ]] || fbg_die "sim_reports_load $name wrote no report (exit $status); see $out.txt"
  client_ticks="$(jq --argjson tck "$BENCH_CLK_TCK" \
    '(.client_cpu.user_s + .client_cpu.system_s) * $tck | round' "$out.json")"
  echo "$(bench_cpu_snapshot "$PG_DATA_DIR" "$sim_pid") $client_ticks" >"$out.cpu-end"
  fbg_pid_alive "$sim_pid" || fbg_die "the simulator died during $name; see $WORK_DIR/$name/simulator.log"
  ((status == 0)) || fbg_die "sim_reports_load $name failed (exit $status); see $out.txt"
  local issued
  issued="$(curl -s --max-time 5 "http://127.0.0.1:$HTTP_PORT/metrics" |
    awk '$1 == "sim_reports_total" { print $2 }')"
  fbg_stop_pidfile simulator "$SIM_PID_FILE" "$STOP_TIMEOUT_S"
  sleep 1 # exited backends have reported their WAL counters by now
  jq --arg name "$name" --arg store "$store" --argjson issued "${issued:-null}" \
    --argjson busy_before "$busy_before" --argjson wal_start "$wal_start" --argjson wal_end "$(wal_json)" \
    --argjson cpu "$(bench_cpu_json "$out" simulator client)" \
    --argjson evidence "$(store_evidence_json "$name")" \
    '{name: $name, store: $store, busy_before_pct: $busy_before} + .
     + {simulator_reports_issued: $issued, cpu: $cpu, store_evidence: $evidence,
        wal: {records: ($wal_end.records - $wal_start.records), bytes: ($wal_end.bytes - $wal_start.bytes),
              syncs: ($wal_end.syncs - $wal_start.syncs)}}' \
    "$out.json" >"$WORK_DIR/$name/run.json"
  jq -r '"\(.name): \(.measured.reports_per_s) reports/s, \(.measured.us_per_report) us per report"' \
    "$WORK_DIR/$name/run.json" >&2
}

write_results() {
  local file="$1" runs=()
  local name
  for name in "${RUN_NAMES[@]}"; do runs+=("$WORK_DIR/$name/run.json"); done
  jq -n --argjson machine "$(bench_machine_json "$PG_DATA_DIR" "$PG_PORT" "$RUN_DATE" "$BUSY_BEFORE_PCT" '{}')" \
    --argjson orders "$ORDERS" --argjson warmup "$WARMUP_ORDERS" --argjson window "$WINDOW" \
    --argjson measure_s "$MEASURE_S" \
    --argjson fill_delay "$FILL_DELAY_MS" --argjson rounds "$ROUNDS" --argjson target "$TARGET_RATIO" \
    --argjson disturbed "$DISTURBED_OTHER_PCT" \
    --slurpfile runs <(jq -s . "${runs[@]}") '
    # CPU microseconds per report issued on the order session, over the whole load run.
    def per_report(pct): if pct == null then null
      else (pct / 100 * .cpu.window_s * 1e6 / .reports * 10 | round / 10) end;
    ($runs[0] | map(. + {cpu_us_per_report: {postgres: per_report(.cpu.postgres_core_pct),
                                             simulator: per_report(.cpu.simulator_core_pct),
                                             client: per_report(.cpu.client_core_pct)},
                         disturbed: (.cpu.other_core_pct == null or .cpu.other_core_pct > $disturbed)})) as $all
    # The median run of a store (the mean of the middle two for an even count).
    | def median: sort | if length % 2 == 1 then .[length / 2 | floor]
                         else (.[length / 2 - 1] + .[length / 2]) / 2 end;
      def summary(store): ($all | map(select(.store == store))) as $r
        | ($r | map(select(.disturbed | not))) as $quiet
        | ((if ($quiet | length) > 0 then $quiet else $r end) | map(.measured.reports_per_s)) as $rates
        | ($rates | median) as $rate
        | {runs: ($r | length), undisturbed_runs: ($quiet | length),
           median_of: (if ($quiet | length) > 0 then "undisturbed runs" else "all runs (every run was disturbed)" end),
           reports_per_s_by_run: ($r | map(.measured.reports_per_s)),
           reports_per_s: ($rate * 10 | round / 10), us_per_report: (1e6 / $rate * 10 | round / 10)};
    summary("postgres") as $pg | summary("file") as $file
    | ($pg.us_per_report / $file.us_per_report * 1000 | round / 1000) as $ratio
    | {machine: $machine,
       disturbed_when_other_core_pct_above: $disturbed,
       load: {measure_s: $measure_s, orders_max: $orders, warmup_orders: $warmup, window: $window, fill_slices: 1,
              fill_delay_ms: $fill_delay, rounds: $rounds, profile: "SIM-A", drop_copy: "connected"},
       runs: $all,
       stores: {postgres: $pg, file: $file},
       target: {postgres_us_per_report_at_most_x_file: $target, ratio: $ratio,
                pass: ($ratio <= $target and ($all | all(.completed)))}}' >"$file"
}

# The markdown of the section, from a results file.
section_markdown() {
  local file="$1" relative="${1#"$FBG_ROOT"/}"
  jq -r --arg file "$relative" '
    def pf(b): if b then "PASS" else "FAIL" end;
    def n1: if . == null then "n/a" else (. * 10 | round / 10 | tostring) end;
    def store_label: if . == "postgres" then "PostgreSQL store" else "QuickFIX FileStore" end;
    .machine as $m | .load as $l | .stores as $s | .target as $t |
    "<!-- simulator:begin -->",
    "<!-- Generated by bench/simulator.sh; edits between these markers are overwritten. -->",
    "## Broker simulator: execution reports with the PostgreSQL FIX store and with FileStore",
    "",
    "Measured \($m.date) on commit `\($m.commit)`\(if $m.working_tree_dirty then " (with uncommitted changes)" else "" end); raw results in `\($file)`.",
    "",
    "What ran: the simulator (profile \($l.profile)) with `fix_store=postgres`, then with `fix_store=file`, \($l.rounds) round\(if $l.rounds == 1 then "" else "s" end) in that order, each run on a new database. One order-entry session: `sim_reports_load` sends BUY LIMIT orders far above the price, at most \($l.window) unfinished, and each gets an acknowledgement (150=0) and one fill (150=F; fill_slices 1, a market tick every \($l.fill_delay_ms) ms). Reports/s counts both kinds on that session during \($l.measure_s) s after the first \($l.warmup_orders) orders are finished; time per report is its inverse; each store'"'"'s figure is the median of its runs that no other process disturbed (others used at most \(.disturbed_when_other_core_pct_above) % of one core; of all its runs if none qualifies). The drop copy is connected to the load client, so each report is also copied through the same store. Only the FIX store (sequence numbers and sent messages of both sessions) differs between the runs: the simulator keeps its orders and executions in PostgreSQL in both. The FileStore is the reference: it writes without fsync (it survives a process crash, not a machine crash); the PostgreSQL store commits each sent message with its sequence number in one statement, with fix_store_synchronous_commit=false, the simulator default (no wait for the WAL flush: it survives a crash of the simulator, not of the database server; the runs before 2026-11-25T20:30Z in bench/results used synchronous commits and gave 2.1 to 2.2 ×).",
    "",
    "| Machine | |",
    "|---|---|",
    "| CPU | \($m.cpu_model), \($m.cores) cores |",
    "| Memory | \($m.memory_gib) GiB |",
    "| Kernel | \($m.kernel) |",
    "| Storage (PostgreSQL data, FileStore) | \($m.storage) |",
    "| PostgreSQL | \($m.postgresql_version), synchronous_commit=\($m.synchronous_commit), fsync=\($m.fsync), shared_buffers=\($m.shared_buffers) |",
    "| Busy before the run (other processes) | \($m.busy_before_run_pct) % of all cores |",
    "",
    "| Store | Reports/s | µs per report | median of | every run (reports/s) |",
    "|---|---:|---:|---|---|",
    ("postgres", "file" | . as $k | $s[$k] | "| \($k | store_label) | \(.reports_per_s) | \(.us_per_report) | \(.median_of) | \(.reports_per_s_by_run | map(tostring) | join(", ")) |"),
    "",
    "Target: time per report with the PostgreSQL store at most \($t.postgres_us_per_report_at_most_x_file) × the FileStore'"'"'s: **\(pf($t.pass))** (\($t.ratio) ×)" +
      (if $s.postgres.undisturbed_runs == 0 or $s.file.undisturbed_runs == 0 then "; measured while other processes kept the machine busy (every run of a store was disturbed), so the ratio is less certain than the table suggests." else "." end),
    "",
    "| Run | disturbed | Reports/s | µs per report | ack p50 / p99 ms | fill p50 / p99 ms | drop-copy reports | postgres CPU µs/report | simulator CPU µs/report | WAL flushes/report | WAL records/report |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    (.runs[] | "| \(.name) | \(if .disturbed then "yes" else "no" end) | \(.measured.reports_per_s) | \(.measured.us_per_report) | \(.ack_latency_ms.p50) / \(.ack_latency_ms.p99) | \(.fill_latency_ms.p50) / \(.fill_latency_ms.p99) | \(.drop_copy.reports) of \(.reports) | \(.cpu_us_per_report.postgres | n1) | \(.cpu_us_per_report.simulator | n1) | \(.wal.syncs / .reports * 100 | round / 100) | \(.wal.records / .reports * 10 | round / 10) |"),
    "",
    "Latencies are client side, from sending the order; with \($l.window) orders in flight they are mostly queueing. CPU and WAL per report are over the whole load run (logon, warmup, drop-copy drain) divided by the reports of the order session; WAL flushes are pg_stat_wal'"'"'s wal_sync, one per synchronous commit that was not grouped with another.",
    "",
    "CPU during each load run, in % of one core (\($m.cores) cores = \($m.cores * 100) %):",
    "",
    "| Run | postgres | simulator | load client | other (kernel, unrelated processes) | machine busy | iowait | machine busy just before |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    (.runs[] | "| \(.name) | \(.cpu.postgres_core_pct | n1) | \(.cpu.simulator_core_pct | n1) | \(.cpu.client_core_pct | n1) | \(.cpu.other_core_pct | n1) | \(.cpu.machine_busy_pct | n1) % | \(.cpu.iowait_pct | n1) % | \(.busy_before_pct) % |"),
    "",
    "\"other\" is everything busy outside postgres, the simulator and the client: the kernel (loopback, fsync) and unrelated processes. Above \(.disturbed_when_other_core_pct_above) % the run is marked disturbed.",
    "<!-- simulator:end -->"
  ' "$file"
}

update_doc() {
  local results="$1" section="$WORK_DIR/section.md"
  section_markdown "$results" >"$section"
  [[ -f "$DOC_FILE" ]] || fbg_die "$DOC_FILE is missing (bench/intake.sh writes its introduction)"
  bench_replace_section "$DOC_FILE" simulator "$section"
}

# ---------------------------------------------------------------------------------------------

main() {
  SIM_BIN="$BUILD_DIR/simulator/simulator"
  LOAD_BIN="$BUILD_DIR/bench/sim_reports_load"
  ensure_tools
  ((DO_BUILD)) && build
  [[ -x "$SIM_BIN" ]] || fbg_die "$SIM_BIN not built (run without --no-build)"
  [[ -x "$LOAD_BIN" ]] || fbg_die "$LOAD_BIN not built (run without --no-build)"
  RUN_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  BUSY_BEFORE_PCT="$(bench_machine_busy_pct 3)"
  ((BUSY_BEFORE_PCT < 20)) ||
    fbg_log "warning: the machine is already ${BUSY_BEFORE_PCT}% busy; the numbers will be lower than on a quiet machine"
  start_postgres
  RUN_NAMES=()
  local round store
  for ((round = 1; round <= ROUNDS; round++)); do
    for store in postgres file; do
      RUN_NAMES+=("$store-$round")
      run_load "$store-$round" "$store"
    done
  done
  mkdir -p "$RESULTS_DIR"
  local results
  results="$RESULTS_DIR/simulator-$(date -u -d "$RUN_DATE" +%Y%m%d-%H%M%S).json"
  write_results "$results"
  update_doc "$results"
  fbg_log "results: $results; section updated in $DOC_FILE"
  sed -n '/<!-- simulator:begin -->/,/<!-- simulator:end -->/p' "$DOC_FILE"
  KEEP_WORK_DIR=0
}

main
