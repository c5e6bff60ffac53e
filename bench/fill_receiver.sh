#!/usr/bin/env bash
# Measures the fill receiver: execution reports per second stored durably on one drop-copy
# session and on two, next to a plain single-row insert loop (pgbench) on the same PostgreSQL in
# the same run, and the store latency, on this machine.
#
#   bench/fill_receiver.sh [--no-build] [--build-dir DIR] [--reports N] [--warmup-reports W]
#                          [--window K] [--insert-s S] [--rounds R] [--keep]
#   bench/fill_receiver.sh --section-from bench/results/fill_receiver-<date>.json
#
# Builds Release (fill_receiver, fill_load) into build/ or DIR (unless --no-build), starts a
# throwaway PostgreSQL 15 (synchronous_commit on, fsync on) and Redis in a temporary folder on
# free loopback ports, then runs R rounds (default 2) of four runs:
#   fill-1-R: the fill receiver (its default settings, fix_config/fill_receiver.cfg, a new
#     database) and fill_load playing SIM-A's drop copy: W=500 warmup reports, then N=10000
#     ExecutionReports (fills, unique ExecIDs) as fast as the session takes them, at most K=256
#     sent and not yet stored. Stored = below the session's durable_target_seq_num in the
#     receiver's GET /v1/sessions: every report below it has committed (group commit: the
#     receiver commits reports in batches after fromApp). Reports/s = N / time from the first
#     send to the last report stored.
#   insert-1-R: the fill receiver stopped, pgbench with 1 client for S=20 s on the same database:
#     one INSERT per transaction (synchronous commit, prepared) of a row like the receiver's
#     (the run's first stored row, a new ExecID) into the same executions table (same unique key
#     and indexes), ON CONFLICT DO NOTHING as the receiver's.
#   fill-2-R, insert-2-R: the same with two sessions (SIM-A and SIM-B, N reports each, at once)
#     and pgbench with 2 clients.
# During each measured burst or pgbench window it records the CPU used by postgres, the fill
# receiver, redis, the load client and unrelated processes (from /proc); the store latency
# comes from the receiver's fills_store_seconds histogram over the burst (bucket bounds, so
# "p99 <= X ms"). Each run first waits (up to 20 s) for the machine to be under 25 % busy; a
# run during which unrelated processes used more than 20 % of one core is marked disturbed, and
# each figure is the median of its undisturbed runs (of all its runs if none is undisturbed).
# Target (issue 6): reports/s per session at least 0.7 x the insert loop's rate per client, on
# one session (vs 1 client) and on two (vs 2 clients).
# Writes bench/results/fill_receiver-<date>.json and regenerates the section between
# <!-- fill_receiver:begin --> and <!-- fill_receiver:end --> of docs/performance.md.
# --section-from regenerates that section from a results file and does nothing else.
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
PGBENCH_BIN="$FBG_PG_BIN/pgbench"

REPORTS=10000
WARMUP_REPORTS=500
WINDOW=256
POLL_INTERVAL_MS=5
INSERT_S=20
ROUNDS=2
TARGET_RATIO=0.7 # reports/s per session at least this times the insert loop's rows/s per client
QUIET_BUSY_PCT=25
QUIET_WAIT_S=20
DISTURBED_OTHER_PCT=20 # unrelated processes above this share of one core: run disturbed
# ... or the kernel and every process outside the benchmark together above this share (catches
# short-lived processes such as compilers, which end inside the window and are not named).
DISTURBED_KERNEL_AND_OTHER_PCT=50
INSERT_WINDOW_SKIP_S=2 # the CPU window of a pgbench run starts this long after it and ends as long before its end
LOAD_TIMEOUT_S=300
MARKER_WAIT_S=320
READY_TIMEOUT_S=60
STOP_TIMEOUT_S=20

DO_BUILD=1
KEEP_LOGS=0
SECTION_FROM=""

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
    --reports) set_number REPORTS "$1" "${2:-}" 100 100000 && shift ;;
    --warmup-reports) set_number WARMUP_REPORTS "$1" "${2:-}" 0 10000 && shift ;;
    --window) set_number WINDOW "$1" "${2:-}" 1 10000 && shift ;;
    --insert-s) set_number INSERT_S "$1" "${2:-}" 6 120 && shift ;;
    --rounds) set_number ROUNDS "$1" "${2:-}" 1 5 && shift ;;
    --build-dir)
      [[ -n "${2:-}" ]] || fbg_die "--build-dir needs a folder"
      BUILD_DIR="$(realpath -m "$2")"
      shift
      ;;
    --section-from)
      [[ -f "${2:-}" ]] || fbg_die "--section-from needs a results file"
      SECTION_FROM="$(realpath "$2")"
      shift
      ;;
    -h | --help) usage 0 ;;
    *) usage 2 ;;
  esac
  shift
done

# ---------------------------------------------------------------------------------------------
# Temporary folder and cleanup
# ---------------------------------------------------------------------------------------------

WORK_DIR=""
PG_DATA_DIR=""
REDIS_DIR=""
FILLS_PID_FILE=""
CHILD_PIDS=() # fill_load, pgbench and samplers running in the background
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
  # Subshells: a stop that gives up (fbg_die) must not keep the next one from running.
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
  fbg_log "building Release into $BUILD_DIR (fill_receiver, fill_load)"
  cmake -G Ninja -S "$FBG_ROOT" -B "$BUILD_DIR" -DFBG_SANITIZE=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" -j "$BENCH_NCPU" --target fill_receiver fill_load
}

start_servers() {
  WORK_DIR="$(mktemp -d /tmp/fbg-fillbench.XXXXXX)"
  chmod 755 "$WORK_DIR" # the postgres user must reach its data folder inside
  fbg_free_port PG_PORT
  fbg_free_port REDIS_PORT
  PG_DATA_DIR="$WORK_DIR/pg/data"
  REDIS_DIR="$WORK_DIR/redis"
  mkdir -p "$WORK_DIR/pg" "$REDIS_DIR"
  # pg_stat_statements must be preloaded: initdb first, then the line, then the usual start
  # (fbg_pg_start only rewrites postgresql.auto.conf).
  fbg_pg_init "$PG_DATA_DIR"
  echo "shared_preload_libraries = 'pg_stat_statements'" |
    fbg_pg_as_owner tee -a "$PG_DATA_DIR/postgresql.conf" >/dev/null
  fbg_pg_start "$PG_DATA_DIR" "$PG_PORT"
  bench_psql_value "$PG_PORT" "create extension if not exists pg_stat_statements" >/dev/null
  fbg_redis_start "$REDIS_DIR" "$REDIS_PORT"
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

# others_json OUT_PREFIX WINDOW_S PID...: bench_others_json (bench/lib.sh) of the window's
# process snapshots OUT_PREFIX.procs-start and -end, with the throwaway PostgreSQL.
others_json() {
  local out="$1" window_s="$2"
  shift 2
  bench_others_json "$out.procs-start" "$out.procs-end" "$window_s" "$PG_DATA_DIR" "$@"
}

wal_json() {
  bench_psql_value "$PG_PORT" \
    "select json_build_object('records', wal_records, 'bytes', wal_bytes, 'syncs', wal_sync) from pg_stat_wal"
}

# The busiest statements of the benchmark's databases since the last reset.
pgss_json() {
  bench_psql_value "$PG_PORT" "
    select coalesce(json_agg(t), '[]') from (
      select s.calls, round(s.total_exec_time::numeric, 1) as total_ms,
             round(s.mean_exec_time::numeric, 3) as mean_ms, s.rows,
             left(regexp_replace(s.query, '\s+', ' ', 'g'), 110) as query
      from pg_stat_statements s join pg_database db on db.oid = s.dbid
      where db.datname <> 'postgres' order by s.total_exec_time desc limit 8) t"
}

# snapshot OUT_PREFIX WHEN FILLS_PID LOAD_PID: CPU first (the time-critical part), then the WAL
# counters, the statements (reset at the start, read at the end) and every process.
snapshot() {
  local out="$1" when="$2" fills_pid="$3" load_pid="$4"
  bench_cpu_snapshot "$PG_DATA_DIR" "$fills_pid" "$(<"$REDIS_DIR/redis.pid")" "$load_pid" >"$out.cpu-$when"
  wal_json >"$out.wal-$when"
  if [[ "$when" == start ]]; then
    bench_psql_value "$PG_PORT" "select pg_stat_statements_reset()" >/dev/null
  else
    pgss_json >"$out.pgss"
  fi
  bench_processes_snapshot >"$out.procs-$when"
}

# burst_sampler DIR FILLS_PID LOAD_PID: a snapshot when fill_load writes burst.start and one at
# burst.end.
burst_sampler() {
  local dir="$1" fills_pid="$2" load_pid="$3" when
  local deadline=$((SECONDS + MARKER_WAIT_S))
  for when in start end; do
    # Builtins only while the load runs (kill -0, not ps): forking a ps every few milliseconds
    # would itself use a good part of a core during the measured window.
    until [[ -e "$dir/markers/burst.$when" ]]; do
      kill -0 "$load_pid" 2>/dev/null || return 0
      ((SECONDS < deadline)) || return 0
      sleep 0.05 # polling a bounded wait
    done
    snapshot "$dir/burst" "$when" "$fills_pid" "$load_pid"
  done
}

# cpu_window_json OUT_PREFIX FILLS_PID LOAD_PID: CPU, unrelated processes and WAL of a window.
cpu_window_json() {
  local out="$1" fills_pid="$2" load_pid="$3" cpu window wal_start=null wal_end=null pgss=null
  cpu="$(bench_cpu_json "$out" fill_receiver redis client)"
  window="$(jq -r 'if . == null then "null" else .window_s end' <<<"$cpu")"
  [[ -s "$out.wal-start" ]] && wal_start="$(<"$out.wal-start")"
  [[ -s "$out.wal-end" ]] && wal_end="$(<"$out.wal-end")"
  [[ -s "$out.pgss" ]] && pgss="$(<"$out.pgss")"
  jq -n --argjson cpu "$cpu" --argjson w0 "$wal_start" --argjson w1 "$wal_end" --argjson pgss "$pgss" \
    --argjson others "$(others_json "$out" "$window" "$fills_pid" "$load_pid" "$(<"$REDIS_DIR/redis.pid")")" \
    --argjson disturbed "$DISTURBED_OTHER_PCT" --argjson disturbed_other "$DISTURBED_KERNEL_AND_OTHER_PCT" '
    {cpu: $cpu, unrelated_processes: $others, statements: $pgss,
     wal: (if $w0 == null or $w1 == null then null
           else {records: ($w1.records - $w0.records), bytes: ($w1.bytes - $w0.bytes), syncs: ($w1.syncs - $w0.syncs)} end),
     disturbed: ($others == null or $others.core_pct > $disturbed or $cpu == null
                 or $cpu.other_core_pct == null or $cpu.other_core_pct > $disturbed_other)}'
}

psql_db() {
  "$FBG_PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$1" -tAq -v ON_ERROR_STOP=1 -c "$2"
}

# start_fill_receiver NAME DATABASE: a new database and run folder; returns once /healthz answers.
start_fill_receiver() {
  local name="$1" database="$2" dir="$WORK_DIR/$1"
  fbg_free_port FILLS_HTTP_PORT
  fbg_free_port FILLS_FIX_PORT
  fbg_pg_createdb "$PG_PORT" "$database"
  mkdir -p "$dir"
  cat >"$dir/fill_receiver.conf" <<CONF
# Written by bench/fill_receiver.sh for one measured run: addresses, ports and paths only.
http_bind_address = 127.0.0.1
http_port = $FILLS_HTTP_PORT
postgres_uri = postgresql://postgres@127.0.0.1:$PG_PORT/$database
redis_host = 127.0.0.1
redis_port = $REDIS_PORT
fix_settings_file = $FBG_ROOT/fix_config/fill_receiver.cfg
fix_config_dir = $FBG_ROOT/fix_config
run_dir = $dir
fix_accept_port = $FILLS_FIX_PORT
CONF
  FILLS_PID_FILE="$dir/fill_receiver.pid"
  fbg_start_background "fill_receiver ($name)" "$dir/fill_receiver.log" "$FILLS_PID_FILE" \
    "$FILLS_BIN" serve --config "$dir/fill_receiver.conf"
  local pid deadline=$((SECONDS + READY_TIMEOUT_S))
  pid="$(<"$FILLS_PID_FILE")"
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
    "http://127.0.0.1:$FILLS_HTTP_PORT/healthz" || true)" == 200 ]]; do
    fbg_pid_alive "$pid" || fbg_die "fill_receiver exited at start; see $dir/fill_receiver.log"
    ((SECONDS < deadline)) || fbg_die "fill_receiver not ready within ${READY_TIMEOUT_S}s"
    sleep 0.2 # polling interval of a bounded wait
  done
}

# run_fill NAME SESSIONS DATABASE: one fill receiver run; writes $WORK_DIR/NAME/run.json.
run_fill() {
  local name="$1" sessions="$2" database="$3" dir="$WORK_DIR/$1" busy_before
  busy_before="$(wait_quiet)"
  ((busy_before < QUIET_BUSY_PCT)) || fbg_log "warning: $name starts with the machine ${busy_before}% busy"
  start_fill_receiver "$name" "$database"
  local fills_pid
  fills_pid="$(<"$FILLS_PID_FILE")"
  bench_psql_value "$PG_PORT" CHECKPOINT >/dev/null # the previous run's dirty pages, not in this one
  fbg_log "fill_load $name: $sessions session(s), $WARMUP_REPORTS warmup then $REPORTS reports each, window $WINDOW"
  "$LOAD_BIN" --connect-port "$FILLS_FIX_PORT" --http-port "$FILLS_HTTP_PORT" --sessions "$sessions" \
    --reports "$REPORTS" --warmup-reports "$WARMUP_REPORTS" --window "$WINDOW" \
    --poll-interval-ms "$POLL_INTERVAL_MS" --store-dir "$dir/load-store" --marker-dir "$dir/markers" \
    --json-out "$dir/load.json" --timeout-s "$LOAD_TIMEOUT_S" >"$dir/load.txt" 2>&1 &
  local load_pid=$!
  CHILD_PIDS+=("$load_pid")
  burst_sampler "$dir" "$fills_pid" "$load_pid" &
  local sampler_pid=$!
  CHILD_PIDS+=("$sampler_pid")
  local status=0
  wait "$load_pid" || status=$?
  wait "$sampler_pid" || true
  fbg_pid_alive "$fills_pid" || fbg_die "the fill receiver died during $name; see $dir/fill_receiver.log"
  ((status == 0)) || fbg_die "fill_load $name failed (exit $status); see $dir/load.txt"
  # Every report stored exactly once: the rows per broker in the receiver's database.
  local rows
  rows="$(psql_db "$database" "select coalesce(json_object_agg(broker, n), '{}') from (select broker, count(*) n from executions group by broker) c")"
  local metrics
  metrics="$(curl -s --max-time 5 "http://127.0.0.1:$FILLS_HTTP_PORT/metrics" |
    awk '$1 ~ /^fills_(reports|store_failures)/ { printf "%s\"%s\": %s", (n++ ? ", " : "{"), $1, $2 } END { print (n ? "}" : "{}") }')"
  fbg_stop_pidfile fill_receiver "$FILLS_PID_FILE" "$STOP_TIMEOUT_S"
  jq -n --arg name "$name" --argjson sessions "$sessions" --argjson busy_before "$busy_before" \
    --arg database "$database" --argjson rows "$rows" --argjson metrics "$metrics" \
    --argjson window "$(cpu_window_json "$dir/burst" "$fills_pid" "$load_pid")" \
    --argjson expected "$((WARMUP_REPORTS + REPORTS))" --slurpfile load "$dir/load.json" '
    $load[0] as $l
    | {name: $name, kind: "fill", sessions: $sessions, database: $database, busy_before_pct: $busy_before,
       reports_per_s: $l.burst.reports_per_s, reports_per_s_per_session: $l.burst.reports_per_s_per_session,
       window_s: $l.burst.window_s, per_session: $l.burst.per_session,
       store_latency: $l.burst.store_latency, receiver_counters_burst: $l.burst.receiver_counters,
       receiver_counters_run: $metrics, rows_by_broker: $rows,
       every_report_stored_once: (($rows | length) == $sessions and ($rows | to_entries | all(.value == $expected))
                                  and ($metrics.fills_reports_duplicate_total // 0) == 0
                                  and ($metrics.fills_reports_invalid_total // 0) == 0),
       polls: $l.polls, poll_failures: $l.poll_failures, load: $l.settings} + $window' \
    >"$dir/run.json"
  jq -e '.every_report_stored_once' "$dir/run.json" >/dev/null ||
    fbg_die "$name: not every report stored exactly once; see $dir/run.json"
  jq -r '"\(.name): \(.reports_per_s) reports/s (\(.reports_per_s_per_session) per session), store p99 <= \(.store_latency.p99_at_most_ms) ms, disturbed \(.disturbed)"' \
    "$dir/run.json" >&2
}

# insert_script DATABASE FILE: the pgbench script, one INSERT of the run's first stored row with a
# new ExecID (':' in its text become '.', so that pgbench sees no variables in it).
insert_script() {
  psql_db "$1" "
    select format('INSERT INTO executions (broker, exec_id, order_id, cl_ord_id, broker_order_id, '
      'exec_type, ord_status, symbol, side, order_qty, last_qty, last_px, cum_qty, leaves_qty, avg_px, '
      'transact_time, text, raw_message) VALUES (%L || :client_id::text, gen_random_uuid()::text, '
      '%L, %L, %L, %L, %L, %L, %L, %s, %s, %L::numeric, %s, %s, %L::numeric, %L, %L, %L) '
      'ON CONFLICT (broker, exec_id) DO NOTHING;',
      'REF-', order_id, cl_ord_id, broker_order_id, exec_type, ord_status, symbol, side, order_qty,
      last_qty, last_px, cum_qty, leaves_qty, avg_px, replace(transact_time, ':', '.'), text,
      replace(raw_message, ':', '.'))
    from executions order by seq limit 1" >"$2"
  [[ -s "$2" ]] || fbg_die "no stored row in $1 to copy for the insert loop"
}

# run_insert NAME CLIENTS DATABASE: pgbench's insert loop; writes $WORK_DIR/NAME/run.json.
run_insert() {
  local name="$1" clients="$2" database="$3" dir="$WORK_DIR/$1" busy_before
  mkdir -p "$dir"
  insert_script "$database" "$dir/insert.sql"
  busy_before="$(wait_quiet)"
  ((busy_before < QUIET_BUSY_PCT)) || fbg_log "warning: $name starts with the machine ${busy_before}% busy"
  bench_psql_value "$PG_PORT" CHECKPOINT >/dev/null
  fbg_log "pgbench $name: $clients client(s), one INSERT per transaction, ${INSERT_S}s"
  "$PGBENCH_BIN" -h 127.0.0.1 -p "$PG_PORT" -U postgres -n -M prepared -c "$clients" -j "$clients" \
    -T "$INSERT_S" -f "$dir/insert.sql" "$database" >"$dir/pgbench.log" 2>&1 &
  local pid=$!
  CHILD_PIDS+=("$pid")
  # A fixed measuring window inside pgbench's run: the end snapshot needs pgbench alive.
  sleep "$INSERT_WINDOW_SKIP_S"
  snapshot "$dir/insert" start "" "$pid"
  local rows_start
  rows_start="$(psql_db "$database" "select count(*) from executions where broker like 'REF-%'")"
  sleep "$((INSERT_S - 2 * INSERT_WINDOW_SKIP_S))"
  snapshot "$dir/insert" end "" "$pid"
  wait "$pid" || fbg_die "pgbench failed; see $dir/pgbench.log"
  local tps latency transactions failed
  tps="$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$dir/pgbench.log")"
  latency="$(sed -n 's/^latency average = \([0-9.]*\) ms$/\1/p' "$dir/pgbench.log")"
  transactions="$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$dir/pgbench.log")"
  failed="$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$dir/pgbench.log")"
  [[ -n "$tps" ]] || fbg_die "no tps in the pgbench output; see $dir/pgbench.log"
  local rows_end
  rows_end="$(psql_db "$database" "select count(*) from executions where broker like 'REF-%'")"
  jq -n --arg name "$name" --argjson clients "$clients" --argjson busy_before "$busy_before" \
    --arg database "$database" --argjson tps "$tps" --argjson latency "${latency:-null}" \
    --argjson transactions "${transactions:-0}" --argjson failed "${failed:-0}" \
    --argjson rows "$((rows_end))" --argjson rows_start "$((rows_start))" --argjson duration "$INSERT_S" \
    --arg statement "$(<"$dir/insert.sql")" \
    --argjson window "$(cpu_window_json "$dir/insert" "" "$pid")" '
    {name: $name, kind: "insert", clients: $clients, database: $database, busy_before_pct: $busy_before,
     duration_s: $duration, rows_per_s: ($tps * 10 | round / 10), rows_per_s_per_client: ($tps / $clients * 10 | round / 10),
     latency_average_ms: $latency, transactions: $transactions, failed_transactions: $failed,
     rows_inserted: $rows, statement: $statement} + $window' >"$dir/run.json"
  jq -r '"\(.name): \(.rows_per_s) rows/s (\(.rows_per_s_per_client) per client), latency average \(.latency_average_ms) ms, disturbed \(.disturbed)"' \
    "$dir/run.json" >&2
}

write_results() {
  local file="$1" runs=() name
  for name in "${RUN_NAMES[@]}"; do runs+=("$WORK_DIR/$name/run.json"); done
  jq -n --argjson machine "$(bench_machine_json "$PG_DATA_DIR" "$PG_PORT" "$RUN_DATE" "$BUSY_BEFORE_PCT" \
    "$(jq -n --arg v "$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')" '{redis_version: $v}')")" \
    --argjson reports "$REPORTS" --argjson warmup "$WARMUP_REPORTS" --argjson window "$WINDOW" \
    --argjson poll "$POLL_INTERVAL_MS" --argjson insert_s "$INSERT_S" --argjson rounds "$ROUNDS" \
    --argjson target "$TARGET_RATIO" --argjson disturbed "$DISTURBED_OTHER_PCT" \
    --argjson disturbed_other "$DISTURBED_KERNEL_AND_OTHER_PCT" --slurpfile runs <(jq -s . "${runs[@]}") '
    def median: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
                       else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    def r1: if . == null then null else . * 10 | round / 10 end;
    def r3: if . == null then null else . * 1000 | round / 1000 end;
    # The runs of one kind and size: undisturbed ones if any.
    def pick(kind; n): ($runs[0] | map(select(.kind == kind and (.sessions // .clients) == n))) as $r
      | ($r | map(select(.disturbed | not))) as $quiet
      | {all: $r, used: (if ($quiet | length) > 0 then $quiet else $r end),
         median_of: (if ($quiet | length) > 0 then "undisturbed runs (\($quiet | length) of \($r | length))"
                     else "all runs (every run was disturbed)" end)};
    def fill(n): pick("fill"; n) as $p
      | {sessions: n, median_of: $p.median_of,
         reports_per_s: ($p.used | map(.reports_per_s) | median | r1),
         reports_per_s_per_session: ($p.used | map(.reports_per_s_per_session) | median | r1),
         reports_per_s_by_run: ($p.all | map(.reports_per_s)),
         store_p50_at_most_ms: ($p.used | map(.store_latency.p50_at_most_ms) | max),
         store_p99_at_most_ms: ($p.used | map(.store_latency.p99_at_most_ms) | max),
         store_mean_ms: ($p.used | map(.store_latency.mean_ms) | median | r3)};
    def insert(n): pick("insert"; n) as $p
      | {clients: n, median_of: $p.median_of,
         rows_per_s: ($p.used | map(.rows_per_s) | median | r1),
         rows_per_s_per_client: ($p.used | map(.rows_per_s_per_client) | median | r1),
         rows_per_s_by_run: ($p.all | map(.rows_per_s))};
    fill(1) as $f1 | fill(2) as $f2 | insert(1) as $i1 | insert(2) as $i2
    | ($f1.reports_per_s_per_session / $i1.rows_per_s_per_client | r3) as $ratio1
    | ($f2.reports_per_s_per_session / $i2.rows_per_s_per_client | r3) as $ratio2
    | {machine: $machine,
       disturbed_when_unrelated_core_pct_above: $disturbed,
       disturbed_when_kernel_and_other_core_pct_above: $disturbed_other,
       load: {reports_per_session: $reports, warmup_reports_per_session: $warmup, window_per_session: $window,
              poll_interval_ms: $poll, insert_s: $insert_s, rounds: $rounds},
       runs: $runs[0],
       summary: {fill_1_session: $f1, fill_2_sessions: $f2, insert_1_client: $i1, insert_2_clients: $i2},
       target: {per_session_at_least_x_insert_per_client: $target,
                ratio_1_session: $ratio1, ratio_2_sessions: $ratio2,
                pass_1_session: ($ratio1 >= $target), pass_2_sessions: ($ratio2 >= $target),
                pass: ($ratio1 >= $target and $ratio2 >= $target)}}' >"$file"
}

section_markdown() {
  jq -r '
    def n1: if . == null then "-" else . * 10 | round / 10 | tostring end;
    def pf(x): if x then "PASS" else "FAIL" end;
    .machine as $m | .load as $l | .summary as $s | .target as $t |
    "<!-- fill_receiver:begin -->",
    "<!-- Generated by bench/fill_receiver.sh; edits between these markers are overwritten. -->",
    "## Fill receiver: execution reports stored per second, next to a plain insert loop",
    "",
    "Measured \($m.date) on commit `\($m.commit)`\(if $m.working_tree_dirty then " (with uncommitted changes)" else "" end); raw results in `\(input_filename | sub(".*/bench/"; "bench/"))`. Reproduce with `bench/fill_receiver.sh` (builds, then about \($l.rounds * 2) minutes; `--help` for the load).",
    "",
    "What ran: \($l.rounds) rounds of four runs on one PostgreSQL server, each fill run on a new database. **fill, 1 session**: the fill receiver with its default settings (`fix_config/fill_receiver.cfg`: data dictionary, message log, PgMessageStore with synchronous_commit off for the FIX state; group commit: fromApp hands each report to a queue and one writer thread commits the queued reports, up to 512, in one multi-row INSERT committed synchronously, which also raises the FIX store'"'"'s persisted sequence number past them; then relayed to Redis) and `fill_load` as SIM-A'"'"'s drop copy (a `fix::Engine` initiator, FileStore, no dictionary): \($l.warmup_reports_per_session) warmup reports, then \($l.reports_per_session) ExecutionReports (fills, unique ExecIDs) as fast as the session takes them, at most \($l.window_per_session) sent and not yet stored. A report is stored when its MsgSeqNum is below the session'"'"'s `durable_target_seq_num` (`GET /v1/sessions`, polled every \($l.poll_interval_ms) ms): every report below it has committed; reports/s = reports / time from the first send to the last stored; the database holds each report once (checked per run). **insert loop, 1 client**: the fill receiver stopped, `pgbench -n -M prepared -c 1 -T \($l.insert_s)` on the same database: one INSERT per transaction, committed synchronously, of the run'"'"'s first stored row with a new ExecID into the same `executions` table (same unique key and indexes, ON CONFLICT DO NOTHING). Then the same with **2 sessions** (SIM-A and SIM-B at once, \($l.reports_per_session) reports each) and **2 clients**.",
    "",
    "| Machine | |",
    "|---|---|",
    "| CPU | \($m.cpu_model), \($m.cores) cores |",
    "| Memory | \($m.memory_gib) GiB |",
    "| Kernel | \($m.kernel) |",
    "| Storage (PostgreSQL data) | \($m.storage) |",
    "| PostgreSQL | \($m.postgresql_version), synchronous_commit=\($m.synchronous_commit), fsync=\($m.fsync), shared_buffers=\($m.shared_buffers) |",
    "| Redis | \($m.redis_version) |",
    "| Busy before the run (other processes) | \($m.busy_before_run_pct) % of all cores |",
    "",
    "| | total /s | per session or client /s | median of | every run (total /s) | store p50 / p99 (fills_store_seconds) | store mean |",
    "|---|---:|---:|---|---|---:|---:|",
    "| fill receiver, 1 session | **\($s.fill_1_session.reports_per_s)** | \($s.fill_1_session.reports_per_s_per_session) | \($s.fill_1_session.median_of) | \($s.fill_1_session.reports_per_s_by_run | map(tostring) | join(", ")) | ≤ \($s.fill_1_session.store_p50_at_most_ms) / ≤ \($s.fill_1_session.store_p99_at_most_ms) ms | \($s.fill_1_session.store_mean_ms) ms |",
    "| insert loop, 1 client | **\($s.insert_1_client.rows_per_s)** | \($s.insert_1_client.rows_per_s_per_client) | \($s.insert_1_client.median_of) | \($s.insert_1_client.rows_per_s_by_run | map(tostring) | join(", ")) | | |",
    "| fill receiver, 2 sessions | **\($s.fill_2_sessions.reports_per_s)** | \($s.fill_2_sessions.reports_per_s_per_session) | \($s.fill_2_sessions.median_of) | \($s.fill_2_sessions.reports_per_s_by_run | map(tostring) | join(", ")) | ≤ \($s.fill_2_sessions.store_p50_at_most_ms) / ≤ \($s.fill_2_sessions.store_p99_at_most_ms) ms | \($s.fill_2_sessions.store_mean_ms) ms |",
    "| insert loop, 2 clients | **\($s.insert_2_clients.rows_per_s)** | \($s.insert_2_clients.rows_per_s_per_client) | \($s.insert_2_clients.median_of) | \($s.insert_2_clients.rows_per_s_by_run | map(tostring) | join(", ")) | | |",
    "",
    "Target (issue 6): reports/s per session at least \($t.per_session_at_least_x_insert_per_client) × the insert loop'"'"'s rows/s per client. One session: **\(pf($t.pass_1_session))** (\($t.ratio_1_session) ×). Two sessions: **\(pf($t.pass_2_sessions))** (\($t.ratio_2_sessions) ×). Overall: **\(pf($t.pass))**.",
    "",
    "Store latency is the receiver'"'"'s own `fills_store_seconds` over the measured reports (from the report'"'"'s handover in fromApp to the commit of its batch, queue wait included, one observation per report), read as the smallest histogram bound holding 50 % / 99 % of them (bounds 0.1, 0.25, 0.5, 1, 2.5, 5, 10 ms, ...), the worst of the runs used; the mean is sum / count.",
    "",
    "Every run, with the CPU during its measured window in % of one core (\($m.cores) cores = \($m.cores * 100) %; for the insert loop the load client is pgbench, and its window leaves out the first and last seconds):",
    "",
    "| Run | disturbed | /s | store p99 ≤ ms | postgres | fill_receiver | redis | load client | unrelated processes (busiest) | kernel and unattributed | machine busy | iowait | WAL flushes per row |",
    "|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    (.runs[] | (.cpu.postgres_core_pct + .cpu.fill_receiver_core_pct + .cpu.redis_core_pct + .cpu.client_core_pct + (.unrelated_processes.core_pct // 0)) as $ours_and_others
      | (if .kind == "fill" then .reports_per_s else .rows_per_s end) as $rate
      | "| \(.name) | \(if .disturbed then "yes" else "no" end) | \($rate) | \(if .kind == "fill" then .store_latency.p99_at_most_ms else "-" end) | \(.cpu.postgres_core_pct | n1) | \(.cpu.fill_receiver_core_pct | n1) | \(.cpu.redis_core_pct | n1) | \(.cpu.client_core_pct | n1) | \(.unrelated_processes.core_pct | n1) (\(.unrelated_processes.busiest[:3] | map("\(.name) \(.core_pct)") | join(", "))) | \((.cpu.machine_busy_pct * .cpu.cores) - $ours_and_others | n1) | \(.cpu.machine_busy_pct | n1) % | \(.cpu.iowait_pct | n1) % | \(if .wal == null or $rate == null then "-" else (.wal.syncs / ($rate * .cpu.window_s) * 100 | round / 100 | tostring) end) |"),
    "",
    "Unrelated processes: every process outside this benchmark alive at the end of the window (other engineers'"'"' builds, tests and servers); a run is marked disturbed when they used more than \(.disturbed_when_unrelated_core_pct_above) % of one core, or when they and the kernel together used more than \(.disturbed_when_kernel_and_other_core_pct_above) % (short-lived processes such as compilers end inside the window and are only seen there). WAL flushes per row: pg_stat_wal'"'"'s wal_sync over the window divided by the rows the window should hold at the run'"'"'s rate (one flush per synchronous commit not grouped with another).",
    (first(.runs[] | select(.kind == "fill" and .sessions == 1 and (.disturbed | not))) // first(.runs[] | select(.kind == "fill" and .sessions == 1))
     | . as $run | ($run.receiver_counters_burst.fills_reports_stored_total // 0) as $reports
     | "", "Statements the server ran during the burst of \($run.name) (pg_stat_statements, every database of the run; per report = calls over the reports the receiver stored in the burst, rows per call = rows over calls):",
       "",
       "| statement | calls per report | mean ms | rows per call |",
       "|---|---:|---:|---:|",
       ($run.statements // [] | .[] | "| `\(.query | gsub("\\|"; "\\|"))` | \(if $reports > 0 then (.calls / $reports * 100 | round / 100) else "-" end) | \(.mean_ms) | \(if .calls > 0 then (.rows / .calls * 10 | round / 10) else "-" end) |")),
    "<!-- fill_receiver:end -->"
  ' "$1"
}

update_doc() {
  local results="$1" section
  section="$(mktemp /tmp/fbg-fillbench-section.XXXXXX)"
  section_markdown "$results" >"$section"
  [[ -f "$DOC_FILE" ]] || fbg_die "$DOC_FILE is missing (bench/intake.sh writes its introduction)"
  bench_replace_section "$DOC_FILE" fill_receiver "$section"
  rm -f "$section"
}

# ---------------------------------------------------------------------------------------------

main() {
  if [[ -n "$SECTION_FROM" ]]; then
    update_doc "$SECTION_FROM"
    fbg_log "section regenerated in $DOC_FILE from $SECTION_FROM"
    return 0
  fi
  FILLS_BIN="$BUILD_DIR/fill_receiver/fill_receiver"
  LOAD_BIN="$BUILD_DIR/bench/fill_load"
  ensure_tools
  ((DO_BUILD)) && build
  [[ -x "$FILLS_BIN" ]] || fbg_die "$FILLS_BIN not built (run without --no-build)"
  [[ -x "$LOAD_BIN" ]] || fbg_die "$LOAD_BIN not built (run without --no-build)"
  [[ -x "$PGBENCH_BIN" ]] || fbg_die "$PGBENCH_BIN is missing (package postgresql-contrib or postgresql-15)"
  RUN_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  BUSY_BEFORE_PCT="$(bench_machine_busy_pct 3)"
  ((BUSY_BEFORE_PCT < 20)) ||
    fbg_log "warning: the machine is already ${BUSY_BEFORE_PCT}% busy; the numbers will be lower than on a quiet machine"
  start_servers
  RUN_NAMES=()
  local round n
  for ((round = 1; round <= ROUNDS; round++)); do
    for n in 1 2; do
      RUN_NAMES+=("fill-$n-$round" "insert-$n-$round")
      run_fill "fill-$n-$round" "$n" "fills_${n}_$round"
      run_insert "insert-$n-$round" "$n" "fills_${n}_$round"
    done
  done
  mkdir -p "$RESULTS_DIR"
  local results
  results="$RESULTS_DIR/fill_receiver-$(date -u -d "$RUN_DATE" +%Y%m%d-%H%M%S).json"
  write_results "$results"
  update_doc "$results"
  fbg_log "results: $results; section updated in $DOC_FILE"
  sed -n '/<!-- fill_receiver:begin -->/,/<!-- fill_receiver:end -->/p' "$DOC_FILE"
  KEEP_WORK_DIR=0
}

main
