#!/usr/bin/env bash
# Measures the gateway: orders per second from the stream orders:SIM-A to the broker's
# acknowledgement applied, and the latency from stream entry to the NewOrderSingle at the broker,
# next to a bare QuickFIX initiator sending the same messages in the same run, on this machine.
#
#   bench/gateway.sh [--no-build] [--build-dir DIR] [--burst-orders N] [--paced RATE:SECONDS]...
#                    [--warmup-orders W] [--rounds K] [--set KEY=VALUE]... [--keep]
#   bench/gateway.sh --section-from bench/results/gateway-<date>.json
#
# Builds Release (gateway, gateway_load) into build/ or DIR (unless --no-build), starts a
# throwaway PostgreSQL 15 (synchronous_commit on, fsync on, pg_stat_statements loaded) and Redis
# in a temporary folder on free ports, then runs K rounds (default 2) of:
#   gateway-K: gateway_load plays the broker (acceptor SIM-A -> GATEWAY, QuickFIX FileStore,
#     an ExecutionReport acknowledgement for every NewOrderSingle at once) and the order source;
#     the gateway process runs with its default settings (plus --set lines) on a new database.
#     W=500 warmup orders, then a burst of N=10000 orders XADDed as fast as one Redis connection
#     allows (throughput), then paced phases for the latency (default 100/s for 5 s, then 500/s
#     for 10 s; --paced replaces them). An order is done when its ACKED event is in order-events.
#   bare-K: the gateway stopped, gateway_load is also the initiator (GATEWAY -> SIM-A) with the
#     gateway's session settings (fix_config/gateway-SIM-A.cfg) and its default store,
#     PgMessageStore with synchronous_commit off, on a new database; the same phases, each order
#     sent with one send call and done when its acknowledgement is back.
# During each burst and paced phase it records the CPU used by postgres, the gateway, redis,
# gateway_load and the busiest other processes (from /proc), the gateway's threads (named from one
# gdb backtrace after the phases), the gateway's /metrics and pg_stat_statements. Each run
# first waits (up to 20 s) for the machine to be under 25 % busy; a phase during which unrelated
# processes used more than 20 % of one core is marked disturbed.
# Reference: the ledger's intake rate at 32 clients on 32 accounts in the newest
# bench/results/intake-*.json. Target (issue 5): the gateway's burst orders/s (median of the
# rounds) at least 2 x that rate.
# Writes bench/results/gateway-<date>.json and regenerates the section between
# <!-- gateway:begin --> and <!-- gateway:end --> of docs/performance.md.
# --set KEY=VALUE adds a line to the gateway's configuration (see `gateway config-help`).
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

BROKER=SIM-A
WARMUP_ORDERS=500
BURST_ORDERS=10000
PACED=(100:5 500:10) # RATE:SECONDS of each paced phase, in order
PACED_GIVEN=0
ROUNDS=2
TARGET_RATIO=2 # gateway orders/s at least this many times the ledger's intake rate
QUIET_BUSY_PCT=25
QUIET_WAIT_S=20
# A phase during which processes outside the benchmark used more than this share of one core is
# marked disturbed (the kernel's own time is not counted: loopback and disk work are ours too).
DISTURBED_OTHER_PCT=20
LOAD_TIMEOUT_S=150 # one gateway_load run: logon, warmup, burst and paced
MARKER_WAIT_S=160
READY_TIMEOUT_S=60
STOP_TIMEOUT_S=20

DO_BUILD=1
KEEP_LOGS=0
SECTION_FROM=""
EXTRA_SETTINGS=()

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
    --burst-orders) set_number BURST_ORDERS "$1" "${2:-}" 100 100000 && shift ;;
    --paced)
      [[ "${2:-}" =~ ^[0-9]+:[0-9]+$ ]] || fbg_die "--paced needs RATE:SECONDS"
      rate="${2%%:*}" seconds="${2#*:}"
      ((rate >= 10 && rate <= 5000 && seconds >= 2 && seconds <= 60)) ||
        fbg_die "--paced needs RATE 10..5000 and SECONDS 2..60"
      ((PACED_GIVEN)) || PACED=()
      PACED_GIVEN=1
      PACED+=("$2")
      shift
      ;;
    --warmup-orders) set_number WARMUP_ORDERS "$1" "${2:-}" 0 10000 && shift ;;
    --rounds) set_number ROUNDS "$1" "${2:-}" 1 5 && shift ;;
    --build-dir)
      [[ -n "${2:-}" ]] || fbg_die "--build-dir needs a folder"
      BUILD_DIR="$(realpath -m "$2")"
      shift
      ;;
    --set)
      [[ "${2:-}" =~ ^[a-z_]+=[^[:space:]]*$ ]] || fbg_die "--set needs KEY=VALUE"
      EXTRA_SETTINGS+=("$2")
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
TOTAL_ORDERS=$((WARMUP_ORDERS + BURST_ORDERS))
PHASES=(burst)
for spec in "${PACED[@]}"; do
  TOTAL_ORDERS=$((TOTAL_ORDERS + ${spec%%:*} * ${spec#*:}))
  PHASES+=("paced-${spec%%:*}")
done
((TOTAL_ORDERS <= 200000)) || fbg_die "at most 200000 orders per run (warmup + burst + paced)"

# ---------------------------------------------------------------------------------------------
# Temporary folder and cleanup
# ---------------------------------------------------------------------------------------------

WORK_DIR=""
PG_DATA_DIR=""
REDIS_DIR=""
GATEWAY_PID_FILE=""
CHILD_PIDS=() # gateway_load and samplers running in the background
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
  [[ -n "$GATEWAY_PID_FILE" ]] && (fbg_stop_pidfile gateway "$GATEWAY_PID_FILE" "$STOP_TIMEOUT_S")
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
  fbg_log "building Release into $BUILD_DIR (gateway, gateway_load)"
  cmake -G Ninja -S "$FBG_ROOT" -B "$BUILD_DIR" -DFBG_SANITIZE=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" -j "$BENCH_NCPU" --target gateway gateway_load
}

# The newest intake results and their rate at 32 clients on 32 accounts, as JSON.
reference_json() {
  local file
  file="$(find "$RESULTS_DIR" -maxdepth 1 -name 'intake-*.json' | sort | tail -n 1)"
  [[ -n "$file" ]] || fbg_die "no bench/results/intake-*.json: run bench/intake.sh first"
  jq --arg file "${file#"$FBG_ROOT"/}" --argjson ratio "$TARGET_RATIO" '
    (.scenarios | map(select(.name == "32x32"))[0]) as $s
    | if $s == null then error("no 32x32 scenario in \($file)") else . end
    | {source: $file, measured: .machine.date, commit: .machine.commit, scenario: "32 clients on 32 accounts",
       intake_orders_per_s: $s.accepted_per_s, ratio_min: $ratio,
       target_orders_per_s: ($s.accepted_per_s * $ratio * 10 | round / 10)}' "$file"
}

start_servers() {
  WORK_DIR="$(mktemp -d /tmp/fbg-gwbench.XXXXXX)"
  chmod 755 "$WORK_DIR" # the postgres user must reach its data folder inside
  fbg_free_port PG_PORT
  fbg_free_port REDIS_PORT
  PG_DATA_DIR="$WORK_DIR/pg/data"
  REDIS_DIR="$WORK_DIR/redis"
  mkdir -p "$WORK_DIR/pg" "$REDIS_DIR"
  # pg_stat_statements must be preloaded: initdb first, then the lines, then the usual start
  # (fbg_pg_start only rewrites postgresql.auto.conf). track_wal_io_timing: the WAL flush time.
  fbg_pg_init "$PG_DATA_DIR"
  printf '%s\n' "shared_preload_libraries = 'pg_stat_statements'" "track_wal_io_timing = on" |
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

# threads_snapshot PID: "tid ticks" per thread of PID (nothing for no process).
threads_snapshot() {
  local pid="$1" file line fields
  [[ -n "$pid" && -d "/proc/$pid/task" ]] || return 0
  for file in /proc/"$pid"/task/[0-9]*/stat; do
    { read -r line <"$file"; } 2>/dev/null || continue
    read -ra fields <<<"${line##*) }"
    echo "${line%% *} $((fields[11] + fields[12]))"
  done
}

# others_json OUT_PREFIX WINDOW_S PID...: bench_others_json (bench/lib.sh) of the window's
# process snapshots OUT_PREFIX.procs-start and -end, with the throwaway PostgreSQL.
others_json() {
  local out="$1" window_s="$2"
  shift 2
  bench_others_json "$out.procs-start" "$out.procs-end" "$window_s" "$PG_DATA_DIR" "$@"
}

# Prometheus text on stdin -> {"series": value, ...} (series with their labels).
metrics_json() {
  awk '!/^#/ && NF == 2 { gsub(/\\/, "\\\\", $1); gsub(/"/, "\\\"", $1); printf "%s\"%s\": %s", (n++ ? ", " : "{"), $1, $2 }
       END { print (n ? "}" : "{}") }'
}

gateway_metrics() {
  local port="$1"
  [[ -n "$port" ]] || {
    echo '{}'
    return 0
  }
  curl -s --max-time 5 "http://127.0.0.1:$port/metrics" | metrics_json || echo '{}'
}

wal_json() {
  bench_psql_value "$PG_PORT" \
    "select json_build_object('records', wal_records, 'bytes', wal_bytes, 'syncs', wal_sync, 'writes', wal_write, 'sync_time_ms', wal_sync_time) from pg_stat_wal"
}

# Statement counts and times per database and the busiest statements since the last reset.
pgss_json() {
  bench_psql_value "$PG_PORT" "
    select json_build_object(
      'by_database', (select coalesce(json_agg(d), '[]') from (
         select db.datname as database, sum(s.calls)::bigint as calls,
                round(sum(s.total_exec_time)::numeric, 1) as total_ms
         from pg_stat_statements s join pg_database db on db.oid = s.dbid
         where db.datname <> 'postgres' group by db.datname order by 3 desc) d),
      'top', (select coalesce(json_agg(t), '[]') from (
         select db.datname as database, s.calls, round(s.total_exec_time::numeric, 1) as total_ms,
                round(s.mean_exec_time::numeric, 3) as mean_ms, s.rows,
                left(regexp_replace(s.query, '\s+', ' ', 'g'), 160) as query
         from pg_stat_statements s join pg_database db on db.oid = s.dbid
         where db.datname <> 'postgres' order by s.total_exec_time desc limit 12) t))"
}

# snapshot OUT_PREFIX WHEN GATEWAY_PID LOAD_PID GATEWAY_HTTP_PORT: CPU first (the time-critical
# part), then the gateway's threads, every process, the gateway's metrics and the database's
# counters.
snapshot() {
  local out="$1" when="$2" gw_pid="$3" load_pid="$4" http_port="$5"
  bench_cpu_snapshot "$PG_DATA_DIR" "$gw_pid" "$(<"$REDIS_DIR/redis.pid")" "$load_pid" >"$out.cpu-$when"
  threads_snapshot "$gw_pid" >"$out.threads-$when"
  bench_processes_snapshot >"$out.procs-$when"
  gateway_metrics "$http_port" >"$out.metrics-$when"
  wal_json >"$out.wal-$when"
  if [[ "$when" == start ]]; then
    bench_psql_value "$PG_PORT" "select pg_stat_statements_reset()" >/dev/null
  else
    pgss_json >"$out.pgss"
  fi
}

# phase_sampler RUN_DIR GATEWAY_PID LOAD_PID GATEWAY_HTTP_PORT: for each measured phase, a
# snapshot when gateway_load writes the phase's start marker and one at its end marker.
phase_sampler() {
  local dir="$1" gw_pid="$2" load_pid="$3" http_port="$4" phase when
  local deadline=$((SECONDS + MARKER_WAIT_S))
  for phase in "${PHASES[@]}"; do
    for when in start end; do
      until [[ -e "$dir/markers/$phase.$when" ]]; do
        fbg_pid_alive "$load_pid" || return 0
        ((SECONDS < deadline)) || return 0
        sleep 0.01 # polling a bounded wait
      done
      snapshot "$dir/$phase" "$when" "$gw_pid" "$load_pid" "$http_port"
    done
  done
}

# thread_roles PID: the gateway's threads named by what they run, from one backtrace of each
# ("tid role" lines). Optional: needs gdb and ptrace; the gateway pauses for the time it takes,
# after the phases.
thread_roles() {
  local pid="$1"
  command -v gdb >/dev/null || return 0
  timeout 60 gdb -p "$pid" -batch -ex 'thread apply all bt 40' 2>/dev/null |
    awk '
      /^Thread [0-9]+ .*LWP [0-9]+/ { if (tid) print tid, role; match($0, /LWP [0-9]+/); tid = substr($0, RSTART + 4, RLENGTH - 4); role = "other"; next }
      role == "other" && /OrderSender::run/ { role = "order_sender" }
      role == "other" && /EventRelay::run/ { role = "event_relay" }
      role == "other" && /ReplyApplier::run/ { role = "reply_applier" }
      role == "other" && /StreamConsumer|StreamReader/ { role = "stream_reader" }
      role == "other" && /FIX::(ThreadedSocket|SocketInitiator|Initiator)/ { role = "fix_session" }
      role == "other" && /Poco::|HttpServer/ { role = "http" }
      role == "other" && /waitForStopSignal|sigwait/ { role = "main" }
      END { if (tid) print tid, role }' || true
}

# threads_json OUT_PREFIX ROLES_FILE WINDOW_S: per thread of the gateway, % of one core in the
# phase, busiest first, with its role.
threads_json() {
  local out="$1" roles="$2" window_s="$3"
  [[ -s "$out.threads-start" && -s "$out.threads-end" && "$window_s" != null ]] || {
    echo '[]'
    return 0
  }
  [[ -s "$roles" ]] || roles=/dev/null
  awk -v tck="$BENCH_CLK_TCK" -v window="$window_s" '
    FILENAME == ARGV[1] { role[$1] = $2; next }
    FILENAME == ARGV[2] { start[$1] = $2; next }
    { used = $2 - ($1 in start ? start[$1] : 0)
      printf "%s{\"tid\": %s, \"role\": \"%s\", \"core_pct\": %.1f}", (n++ ? "," : "["), $1, ($1 in role ? role[$1] : "unknown"), 100 * used / tck / window }
    END { print (n ? "]" : "[]") }' "$roles" "$out.threads-start" "$out.threads-end" |
    jq 'sort_by(-.core_pct)'
}

# phase_json RUN_DIR PHASE ROLES_FILE GATEWAY_PID LOAD_PID: what the snapshots of one phase say.
phase_json() {
  local dir="$1" phase="$2" roles="$3" gw_pid="$4" load_pid="$5" out="$1/$2"
  local cpu window
  cpu="$(bench_cpu_json "$out" gateway redis client)"
  window="$(jq -r 'if . == null then "null" else .window_s end' <<<"$cpu")"
  local metrics_start='{}' metrics_end='{}' wal_start=null wal_end=null pgss=null
  [[ -s "$out.metrics-start" ]] && metrics_start="$(<"$out.metrics-start")"
  [[ -s "$out.metrics-end" ]] && metrics_end="$(<"$out.metrics-end")"
  [[ -s "$out.wal-start" ]] && wal_start="$(<"$out.wal-start")"
  [[ -s "$out.wal-end" ]] && wal_end="$(<"$out.wal-end")"
  [[ -s "$out.pgss" ]] && pgss="$(<"$out.pgss")"
  local redis_pid
  redis_pid="$(<"$REDIS_DIR/redis.pid")"
  jq -n --argjson cpu "$cpu" --argjson threads "$(threads_json "$out" "$roles" "$window")" \
    --argjson others "$(others_json "$out" "$window" "$gw_pid" "$load_pid" "$redis_pid")" \
    --argjson m0 "$metrics_start" --argjson m1 "$metrics_end" \
    --argjson w0 "$wal_start" --argjson w1 "$wal_end" --argjson pgss "$pgss" \
    --argjson disturbed "$DISTURBED_OTHER_PCT" '
    # The change of a gateway series over the phase; histograms summarised.
    def delta(name): (($m1[name] // 0) - ($m0[name] // 0));
    # The upper bound (ms) of the bucket holding quantile q: the quantile is at most that.
    def bucket_le(name; n; q):
      [$m1 | to_entries[] | select(.key | startswith(name + "_bucket{le=\""))
       | {le: (.key | capture("le=\"(?<v>[^\"]+)\"").v), c: (.value - ($m0[.key] // 0))}
       | select(.le != "+Inf") | {le: (.le | tonumber), c}]
      | sort_by(.le) | map(select(.c >= n * q)) | first | if . == null then null else .le * 1000 end;
    def hist(name):
      delta(name + "_count") as $n
      | if $n <= 0 then null else
          {count: $n, sum_s: (delta(name + "_sum") * 1000 | round / 1000),
           mean_ms: (delta(name + "_sum") / $n * 1e6 | round / 1e3),
           p50_le_ms: bucket_le(name; $n; 0.5), p99_le_ms: bucket_le(name; $n; 0.99)} end;
    {cpu: $cpu, disturbed: ($others == null or $others.core_pct > $disturbed),
     other_processes: $others, gateway_threads: $threads,
     gateway_metrics: (if ($m1 | length) == 0 then null else
       {stream_entries: delta("gateway_stream_entries_total"), orders_sent: delta("gateway_orders_sent_total"),
        replies_applied: delta("gateway_replies_total"), events_published: delta("gateway_events_published_total"),
        ack_timeouts: delta("gateway_ack_timeouts_total"), stream_failures: delta("gateway_stream_failures_total"),
        send_refused: delta("gateway_send_refused_total"), reply_storage_failures: delta("gateway_reply_storage_failures_total"),
        send_latency: hist("gateway_send_latency_seconds"), reply_apply: hist("gateway_reply_apply_seconds")} end),
     wal: (if $w0 == null or $w1 == null then null else
       {records: ($w1.records - $w0.records), bytes: ($w1.bytes - $w0.bytes), syncs: ($w1.syncs - $w0.syncs),
        writes: ($w1.writes - $w0.writes), sync_time_ms: (($w1.sync_time_ms - $w0.sync_time_ms) * 10 | round / 10)} end),
     pg_stat_statements: $pgss}'
}

# write_gateway_config FILE DATABASE RUN_DIR HTTP_PORT ACCEPT_PORT
write_gateway_config() {
  local setting
  {
    cat <<CONF
# Written by bench/gateway.sh for one measured run; every other key has its default.
broker = $BROKER
http_bind_address = 127.0.0.1
http_port = $4
postgres_uri = postgresql://postgres@127.0.0.1:$PG_PORT/$2
redis_host = 127.0.0.1
redis_port = $REDIS_PORT
fix_settings_file = $FBG_ROOT/fix_config/gateway-$BROKER.cfg
fix_config_dir = $FBG_ROOT/fix_config
run_dir = $3
fix_connect_port = $5
CONF
    for setting in "${EXTRA_SETTINGS[@]}"; do printf '%s = %s\n' "${setting%%=*}" "${setting#*=}"; done
  } >"$1"
}

load_args() {
  local spec
  echo --warmup-orders "$WARMUP_ORDERS" --burst-orders "$BURST_ORDERS" --timeout-s "$LOAD_TIMEOUT_S"
  for spec in "${PACED[@]}"; do echo --paced "$spec"; done
}

# run_json NAME MODE ROUND BUSY_BEFORE LOAD_STATUS GATEWAY_DIED GATEWAY_PID LOAD_PID: the run's
# JSON from its files.
run_json() {
  local name="$1" dir="$WORK_DIR/$1" phases='{}' phase
  [[ -s "$dir/load.json" ]] || fbg_die "gateway_load $name wrote no report (exit $5); see $dir/load.txt"
  for phase in "${PHASES[@]}"; do
    phases="$(jq --arg p "$phase" --argjson v "$(phase_json "$dir" "$phase" "$dir/thread-roles" "$7" "$8")" \
      '. + {($p): $v}' <<<"$phases")"
  done
  jq --arg name "$name" --arg mode "$2" --argjson round "$3" --argjson busy "$4" \
    --argjson status "$5" --arg died "$6" --argjson phases "$phases" '
    {name: $name, mode: $mode, round: $round, busy_before_pct: $busy, load_exit_status: $status,
     gateway_died: (if $died == "" then null else $died end), load: ., phases: $phases}' \
    "$dir/load.json" >"$dir/run.json"
}

# run_gateway ROUND
run_gateway() {
  local round="$1" name="gateway-$1"
  local dir="$WORK_DIR/$name" database="gateway_r$1" busy
  mkdir -p "$dir/markers" "$dir/run"
  busy="$(wait_quiet)"
  ((busy < QUIET_BUSY_PCT)) || fbg_log "warning: $name starts with the machine ${busy}% busy"
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" flushall >/dev/null # a new orders:$BROKER and order-events
  fbg_pg_createdb "$PG_PORT" "$database"
  local accept_port http_port
  fbg_free_port accept_port
  fbg_free_port http_port
  fbg_log "gateway_load gateway ($name): broker on port $accept_port; $WARMUP_ORDERS warmup, burst of $BURST_ORDERS, paced ${PACED[*]}"
  # shellcheck disable=SC2046 # load_args prints separate words on purpose
  "$LOAD_BIN" gateway --accept-port "$accept_port" --redis-port "$REDIS_PORT" --broker "$BROKER" \
    --store-dir "$dir/broker-store" --marker-dir "$dir/markers" --json-out "$dir/load.json" \
    $(load_args) >"$dir/load.out" 2>"$dir/load.txt" &
  local load_pid=$!
  CHILD_PIDS+=("$load_pid")
  write_gateway_config "$dir/gateway.conf" "$database" "$dir/run" "$http_port" "$accept_port"
  GATEWAY_PID_FILE="$dir/gateway.pid"
  fbg_start_background "gateway ($name)" "$dir/gateway.log" "$GATEWAY_PID_FILE" \
    "$GATEWAY_BIN" serve --config "$dir/gateway.conf"
  local gw_pid
  gw_pid="$(<"$GATEWAY_PID_FILE")"
  fbg_wait_http "http://127.0.0.1:$http_port/healthz" "$READY_TIMEOUT_S"
  phase_sampler "$dir" "$gw_pid" "$load_pid" "$http_port" &
  local sampler=$!
  CHILD_PIDS+=("$sampler")
  local status=0
  wait "$load_pid" || status=$?
  wait "$sampler" || true
  CHILD_PIDS=()
  cat "$dir/load.txt" >&2
  local died=""
  if fbg_pid_alive "$gw_pid"; then
    thread_roles "$gw_pid" >"$dir/thread-roles"
    gateway_metrics "$http_port" >"$dir/metrics-final.json"
    fbg_stop_pidfile gateway "$GATEWAY_PID_FILE" "$STOP_TIMEOUT_S"
  else
    died="exited"
    fbg_log "the gateway died during $name; last lines of its log:"
    tail -n 5 "$dir/gateway.log" >&2 || true
  fi
  GATEWAY_PID_FILE=""
  run_json "$name" gateway "$round" "$busy" "$status" "$died" "$gw_pid" "$load_pid"
  ((status == 0)) || fbg_log "gateway_load $name exited with status $status"
  jq -r '"\(.name): burst \(.load.phases[] | select(.name == "burst") | .orders_per_s) orders/s"' "$dir/run.json" >&2 || true
}

# run_bare ROUND
run_bare() {
  local round="$1" name="bare-$1"
  local dir="$WORK_DIR/$name" database="bare_r$1" busy
  mkdir -p "$dir/markers" "$dir/run"
  busy="$(wait_quiet)"
  ((busy < QUIET_BUSY_PCT)) || fbg_log "warning: $name starts with the machine ${busy}% busy"
  fbg_pg_createdb "$PG_PORT" "$database"
  local accept_port
  fbg_free_port accept_port
  fbg_log "gateway_load bare ($name): broker on port $accept_port; $WARMUP_ORDERS warmup, burst of $BURST_ORDERS, paced ${PACED[*]}"
  # shellcheck disable=SC2046 # load_args prints separate words on purpose
  "$LOAD_BIN" bare --accept-port "$accept_port" --store-dir "$dir/broker-store" \
    --postgres-uri "postgresql://postgres@127.0.0.1:$PG_PORT/$database" \
    --fix-settings-file "$FBG_ROOT/fix_config/gateway-$BROKER.cfg" --fix-config-dir "$FBG_ROOT/fix_config" \
    --run-dir "$dir/run" --marker-dir "$dir/markers" --json-out "$dir/load.json" \
    $(load_args) >"$dir/load.out" 2>"$dir/load.txt" &
  local load_pid=$!
  CHILD_PIDS+=("$load_pid")
  phase_sampler "$dir" "" "$load_pid" "" &
  local sampler=$!
  CHILD_PIDS+=("$sampler")
  local status=0
  wait "$load_pid" || status=$?
  wait "$sampler" || true
  CHILD_PIDS=()
  cat "$dir/load.txt" >&2
  run_json "$name" bare "$round" "$busy" "$status" "" "" "$load_pid"
  ((status == 0)) || fbg_log "gateway_load $name exited with status $status"
  jq -r '"\(.name): burst \(.load.phases[] | select(.name == "burst") | .orders_per_s) orders/s"' "$dir/run.json" >&2 || true
}

# The gateway's settings: its configuration file, the keys changed from the defaults, and
# config-help (every key's default).
gateway_config_json() {
  local conf="$WORK_DIR/gateway-1/gateway.conf"
  jq -n --arg file "$(grep -v '^#' "$conf")" --arg help "$("$GATEWAY_BIN" config-help 2>/dev/null || true)" \
    --argjson extra "$(printf '%s\n' "${EXTRA_SETTINGS[@]}" | jq -R 'select(length > 0)' | jq -s .)" \
    '{file_lines: ($file | split("\n") | map(select(length > 0))), changed_from_defaults: $extra,
      config_help: ($help | split("\n") | map(select(length > 0)))}'
}

write_results() {
  local file="$1" runs=() name
  for name in "${RUN_NAMES[@]}"; do runs+=("$WORK_DIR/$name/run.json"); done
  local redis_version
  redis_version="$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')"
  jq -n --argjson machine "$(bench_machine_json "$PG_DATA_DIR" "$PG_PORT" "$RUN_DATE" "$BUSY_BEFORE_PCT" \
    "$(jq -n --arg v "$redis_version" '{redis_version: $v}')")" \
    --argjson reference "$REFERENCE_JSON" --argjson config "$(gateway_config_json)" \
    --argjson warmup "$WARMUP_ORDERS" --argjson burst "$BURST_ORDERS" --argjson rounds "$ROUNDS" \
    --argjson paced "$(printf '%s\n' "${PACED[@]}" | jq -R 'split(":") | {rate_per_s: (.[0] | tonumber), seconds: (.[1] | tonumber)}' | jq -s .)" \
    --argjson phases "$(printf '%s\n' "${PHASES[@]}" | jq -R . | jq -s .)" \
    --argjson disturbed "$DISTURBED_OTHER_PCT" \
    --slurpfile runs <(jq -s . "${runs[@]}") '
    def median: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
                       else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    def r1: if . == null then null else . * 10 | round / 10 end;
    def r3: if . == null then null else . * 1000 | round / 1000 end;
    def phase(p): .load.phases | map(select(.name == p))[0];
    def med(f): map(f) | map(select(. != null)) | median;
    def summary(mode): ($runs[0] | map(select(.mode == mode))) as $r
      | {runs: ($r | length),
         completed: ($r | all(.load.completed and .gateway_died == null)),
         failed_orders: ($r | map(.load.phases[].failed) | add),
         # Per phase: the median of the rounds no unrelated process disturbed (of all if none).
         phases: ($phases | map(. as $p | ($r | map(select(.phases[$p].disturbed | not))) as $quiet
           | (if ($quiet | length) > 0 then $quiet else $r end) as $use | {key: $p, value: {
           median_of: (if ($quiet | length) > 0 then "undisturbed rounds (\($quiet | length) of \($r | length))"
                       else "all rounds (every round was disturbed)" end),
           undisturbed_runs: ($quiet | length),
           orders_per_s_by_run: ($r | map(phase($p).orders_per_s)),
           orders_per_s: ($use | med(phase($p).orders_per_s) | r1),
           issue_to_broker_ms: {p50: ($use | med(phase($p).latency_ms.issue_to_broker.p50) | r3),
                                p99: ($use | med(phase($p).latency_ms.issue_to_broker.p99) | r3),
                                max: ($use | map(phase($p).latency_ms.issue_to_broker.max) | max)},
           issue_to_done_ms: {p50: ($use | med(phase($p).latency_ms.issue_to_done.p50) | r3),
                              p99: ($use | med(phase($p).latency_ms.issue_to_done.p99) | r3),
                              max: ($use | map(phase($p).latency_ms.issue_to_done.max) | max)}}}) | from_entries)};
    summary("gateway") as $gw | summary("bare") as $bare
    | ($gw.phases.burst.orders_per_s) as $gw_burst
    | {machine: $machine, reference: $reference, gateway_config: $config,
       disturbed_when_other_processes_core_pct_above: $disturbed,
       load: {broker: "gateway_load: acceptor SIM-A -> GATEWAY, QuickFIX FileStore, no data dictionary, no message log; an ExecutionReport 150=0 for every NewOrderSingle at once",
              warmup_orders: $warmup, burst_orders: $burst, paced: $paced, phases: $phases, rounds: $rounds},
       runs: $runs[0],
       summary: {gateway: $gw, bare: $bare,
                 gateway_vs_bare_burst: (if $gw_burst and $bare.phases.burst.orders_per_s
                                         then ($gw_burst / $bare.phases.burst.orders_per_s | r3) else null end)},
       target: {gateway_orders_per_s_min: $reference.target_orders_per_s,
                gateway_burst_orders_per_s: $gw_burst,
                ratio_to_intake: (if $gw_burst then ($gw_burst / $reference.intake_orders_per_s | r3) else null end),
                pass: ($gw.completed and $gw.failed_orders == 0 and ($gw_burst // 0) >= $reference.target_orders_per_s)}}' \
    >"$file"
}

# The markdown of the section, from a results file.
section_markdown() {
  local file="$1" relative="${1#"$FBG_ROOT"/}"
  jq -r --arg file "$relative" '
    def pf(b): if b then "PASS" else "FAIL" end;
    def n1: if . == null then "n/a" else (. * 10 | round / 10 | tostring) end;
    def n2: if . == null then "n/a" else (. * 100 | round / 100 | tostring) end;
    def lat3(l): if l == null then "n/a" else "\(l.p50 | n2) / \(l.p99 | n2) / \(l.max | n1)" end;
    def phase(run; p): run.load.phases | map(select(.name == p))[0];
    def plabel(p): if p == "burst" then "burst" else "\(p | ltrimstr("paced-"))/s" end;
    def yn(b): if b then "yes" else "no" end;
    def cell: tostring | gsub("\\|"; "\\|");
    .machine as $m | .reference as $ref | .load as $l | .summary as $s | .target as $t
    | ($l.phases | map(select(startswith("paced-")))) as $paced
    | (.runs | map(select(.mode == "gateway"))[0]) as $g1 |
    "<!-- gateway:begin -->",
    "<!-- Generated by bench/gateway.sh; edits between these markers are overwritten. -->",
    "## Gateway: orders from the stream to the broker, next to a bare QuickFIX initiator",
    "",
    "Measured \($m.date) on commit `\($m.commit)`\(if $m.working_tree_dirty then " (with uncommitted changes)" else "" end); raw results in `\($file)`. Reproduce with `bench/gateway.sh` (builds, then about 3 minutes; `--help` for the load).",
    "",
    "What ran: `gateway_load` plays the broker SIM-A: a `fix::Engine` acceptor with QuickFIX'"'"'s FileStore, no data dictionary and no message log, answering every NewOrderSingle at once with an ExecutionReport acknowledgement (150=0). \($l.rounds) round\(if $l.rounds == 1 then "" else "s" end) of two runs, each on a new database of the same PostgreSQL:",
    "",
    "- **gateway**: the gateway process with its default settings (its configuration file sets only addresses, ports and paths\(if (.gateway_config.changed_from_defaults | length) > 0 then "; changed here: `\(.gateway_config.changed_from_defaults | join("`, `"))`" else "" end)); its FIX store is the PgMessageStore with synchronous_commit off (the default). `gateway_load` XADDs the orders to `orders:SIM-A` (kind NEW, the ledger'"'"'s payload JSON) over one Redis connection; an order is done when its ACKED event is in `order-events`: the gateway has applied the acknowledgement in its database and published it.",
    "- **bare**: no gateway; `gateway_load` is also the initiator GATEWAY -> SIM-A, with the gateway'"'"'s session settings (`fix_config/gateway-SIM-A.cfg`: data dictionary, message log) and the same store, PgMessageStore with synchronous_commit off. It sends the same NewOrderSingles, one send call each; an order is done when its acknowledgement arrives.",
    "",
    "Each run: \($l.warmup_orders) warmup orders (not measured); a **burst** of \($l.burst_orders) orders issued as fast as possible, for the throughput (orders / time from the first issue to the last order done); then paced phases for the latency: \($l.paced | map("\(.rate_per_s) orders/s for \(.seconds) s") | join(", then ")). Issue = just before the XADD (gateway) or the send call (bare). Latency to the broker = from the issue to the NewOrderSingle received by the broker'"'"'s acceptor (127.0.0.1, same clock): when it left the sender'"'"'s socket, plus the loopback and QuickFIX'"'"'s parse.",
    "",
    "| Machine | |",
    "|---|---|",
    "| CPU | \($m.cpu_model), \($m.cores) cores |",
    "| Memory | \($m.memory_gib) GiB |",
    "| Kernel | \($m.kernel) |",
    "| Storage (PostgreSQL data) | \($m.storage) |",
    "| PostgreSQL | \($m.postgresql_version), synchronous_commit=\($m.synchronous_commit), fsync=\($m.fsync), shared_buffers=\($m.shared_buffers), pg_stat_statements loaded, track_wal_io_timing on |",
    "| Redis | \($m.redis_version) |",
    "| Busy before the run (other processes) | \($m.busy_before_run_pct) % of all cores |",
    "",
    "Reference: the ledger'"'"'s intake at \($ref.scenario), **\($ref.intake_orders_per_s | n1) orders/s** (`\($ref.source)`, measured \($ref.measured) on commit `\($ref.commit)`). Target (issue 5): the gateway is never the slowest hop: its burst rate at least \($ref.ratio_min) × the intake rate, **\($ref.target_orders_per_s) orders/s**.",
    "",
    "| | burst orders/s (median) | median of | every round | \($paced | map("orders/s at \(plabel(.))") | join(" | ")) |",
    "|---|---:|---|---|\($paced | map("---:") | join("|"))|",
    ("gateway", "bare" | . as $k | $s[$k].phases as $ps
      | "| \($k) | **\($ps.burst.orders_per_s | n1)** | \($ps.burst.median_of) | \($ps.burst.orders_per_s_by_run | map(n1) | join(", ")) | \($paced | map($ps[.].orders_per_s | n1) | join(" | ")) |"),
    "",
    "Target: gateway burst ≥ \($t.gateway_orders_per_s_min) orders/s: **\(pf($t.pass))** (\($t.gateway_burst_orders_per_s | n1) orders/s = \($t.ratio_to_intake) × the intake rate\(if $s.gateway.phases.burst.undisturbed_runs == 0 then "; every round was disturbed by unrelated processes, so the figure is lower than this machine can do" else "" end)). The bare initiator did \($s.bare.phases.burst.orders_per_s | n1) orders/s: the gateway reaches \($s.gateway_vs_bare_burst) × a bare QuickFIX session with the same store." +
      (if $s.gateway.completed then "" else " Not every gateway run completed (see the runs below)." end),
    "",
    "Latency in ms, p50 / p99 / max (p50 and p99: median of the rounds, max: the largest; of the undisturbed rounds if any):",
    "",
    "| | phase | issue → NewOrderSingle at the broker | issue → done | median of |",
    "|---|---|---:|---:|---|",
    ("gateway", "bare" | . as $k | $l.phases[] as $p | $s[$k].phases[$p] as $ph
      | "| \($k) | \(plabel($p)) | \(lat3($ph.issue_to_broker_ms)) | \(lat3($ph.issue_to_done_ms)) | \($ph.median_of) |"),
    "",
    "A paced phase faster than a run can go is not paced any more: its orders queue and its latency is queueing (compare its orders/s with its rate).",
    "",
    "Every run (latencies in ms: p50 / p99 / max):",
    "",
    "| Run | phase | orders done | orders/s | issue → broker | issue → done | disturbed | retries, failed, duplicates |",
    "|---|---|---:|---:|---:|---:|---|---|",
    (.runs[] as $r | $l.phases[] as $p | phase($r; $p) as $ph | $r.phases[$p] as $pp
      | "| \($r.name) | \(plabel($p)) | \($ph.done) of \($ph.orders) | \($ph.orders_per_s | n1) | \(lat3($ph.latency_ms.issue_to_broker)) | \(lat3($ph.latency_ms.issue_to_done)) | \(yn($pp.disturbed)) | \($r.load.anomalies.status_requests + $r.load.anomalies.poss_resends), \($ph.failed), \($r.load.anomalies.duplicate_orders) |"),
    "",
    "CPU during each phase, in % of one core (\($m.cores) cores = \($m.cores * 100) %), from /proc; in the bare runs gateway_load is both the broker and the initiator:",
    "",
    "| Run | phase | postgres | gateway | redis | gateway_load | unrelated processes | the busiest of them | kernel and unattributed | machine busy | iowait | busy just before the run |",
    "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    (.runs[] as $r | $l.phases[] as $p | $r.phases[$p] as $pp | $pp.cpu as $c
      | "| \($r.name) | \(plabel($p)) | \($c.postgres_core_pct | n1) | \(if $r.mode == "bare" then "-" else ($c.gateway_core_pct | n1) end) | \($c.redis_core_pct | n1) | \($c.client_core_pct | n1) | \($pp.other_processes.core_pct | n1) | \($pp.other_processes.busiest // [] | .[:3] | map("\(.name | cell) \(.core_pct)") | join(", ")) | \(if $c.other_core_pct == null or $pp.other_processes == null then "n/a" else ($c.other_core_pct - $pp.other_processes.core_pct | n1) end) | \($c.machine_busy_pct | n1) % | \($c.iowait_pct | n1) % | \($r.busy_before_pct) % |"),
    "",
    "Unrelated processes: every process outside this benchmark alive at the end of the phase (other engineers'"'"' builds, tests and servers), by name; above \(.disturbed_when_other_processes_core_pct_above) % of one core the phase is marked disturbed. Kernel and unattributed: the rest of the machine'"'"'s busy time: the kernel'"'"'s work for all (loopback, disk, interrupts) and processes that ended during the phase.",
    "",
    "### Where the gateway'"'"'s time goes in the burst",
    "",
    "From the gateway'"'"'s /metrics, its threads in /proc (named from a backtrace) and pg_stat_statements, over each burst:",
    "",
    "| Run | orders/s | reply apply transactions: count, replies each, mean ms, p99 ≤ ms | share of the burst spent in them | replies/s at that mean, one at a time | recorded → handed to QuickFIX: mean ms | busiest gateway threads (% of one core) | gateway CPU ms per order | postgres CPU ms per order | SQL statements per order | statement time per order ms |",
    "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    (.runs[] | select(.mode == "gateway") | . as $r | .phases.burst as $b | phase($r; "burst") as $ph
      | ($b.pg_stat_statements.by_database // [] | map(select(.database | startswith("gateway")))[0]) as $db
      | $b.gateway_metrics.reply_apply as $ra
      | (if $ra == null or $ra.count == 0 then null else $b.gateway_metrics.replies_applied / $ra.count end) as $per
      | "| \($r.name) | \($ph.orders_per_s | n1) | \($ra.count), \($per | n1), \($ra.mean_ms | n2), \($ra.p99_le_ms | n1) | \(if $ra == null or $b.cpu == null then "n/a" else "\($ra.sum_s / $b.cpu.window_s * 100 | n1) %" end) | \(if $ra == null or $per == null then "n/a" else ($per * 1000 / $ra.mean_ms | n1) end) | \($b.gateway_metrics.send_latency.mean_ms | n1) | \($b.gateway_threads[:4] | map("\(.role) \(.core_pct)") | join(", ")) | \(if $b.cpu == null then "n/a" else ($b.cpu.gateway_core_pct / 100 * $b.cpu.window_s * 1000 / $ph.orders | n2) end) | \(if $b.cpu == null then "n/a" else ($b.cpu.postgres_core_pct / 100 * $b.cpu.window_s * 1000 / $ph.orders | n2) end) | \(if $db == null then "n/a" else ($db.calls / $ph.orders | n1) end) | \(if $db == null then "n/a" else ($db.total_ms / $ph.orders | n2) end) |"),
    "",
    "Reply apply transactions are `gateway_reply_apply_seconds` (one observation per transaction that applies broker replies; replies each = `gateway_replies_total` over its count). They run one at a time on one thread, so replies each × 1000 / mean ms is the most acknowledgements per second the gateway can apply at that mean, and a share of the burst near 100 % means that thread is the limit. Recorded → handed to QuickFIX is `gateway_send_latency_seconds` (from the row'"'"'s received_at, millisecond clock): orders wait as RECEIVED while `in_flight_orders_max` orders are sent and unanswered. Statements per order: every statement pg_stat_statements saw in the gateway'"'"'s database during the burst (BEGIN, COMMIT and the FIX store'"'"'s included) over the burst'"'"'s orders; statement time is their execution time in the server, without the round trips.",
    "",
    "CPU per order in each burst, ms of one core (the phase'"'"'s CPU over its orders; the machine has \($m.cores) cores, so \($m.cores * 1000) ms of CPU per second at most):",
    "",
    "| Run | orders/s | postgres | gateway | redis | gateway_load | kernel and unattributed | unrelated processes | whole machine |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    (.runs[] | . as $r | .phases.burst as $b | $b.cpu as $c | phase($r; "burst") as $ph
      | def per(pct): if pct == null or $c == null then "n/a" else (pct / 100 * $c.window_s * 1000 / $ph.orders | n2) end;
      "| \($r.name) | \($ph.orders_per_s | n1) | \(per($c.postgres_core_pct)) | \(if $r.mode == "bare" then "-" else per($c.gateway_core_pct) end) | \(per($c.redis_core_pct)) | \(per($c.client_core_pct)) | \(if $b.other_processes == null then "n/a" else per($c.other_core_pct - $b.other_processes.core_pct) end) | \(per($b.other_processes.core_pct)) | \(per($c.machine_busy_pct * $c.cores)) |"),
    "",
    (if ($paced | length) == 0 then empty else
      ($paced[0]) as $low |
      "### Where the latency goes at \(plabel($low))",
      "",
      "In the slowest paced phase each order meets an idle pipeline. Issue → broker = XADD, the stream read and the order'"'"'s recording (one transaction per read, committed synchronously), then recorded → handed to QuickFIX (`gateway_send_latency_seconds`, from the row'"'"'s insert: the recording'"'"'s synchronous commit, the sender'"'"'s wake-up and claim, committed synchronously, and the send through the FIX store), then the wire:",
      "",
      "| Run | issue → broker: mean, p50 ms | recorded → handed to QuickFIX: mean ms | so XADD → recorded, about ms | WAL flushes per order | WAL flush mean ms | reply apply transaction: mean ms | issue → done: mean, p50 ms |",
      "|---|---:|---:|---:|---:|---:|---:|---:|",
      (.runs[] | select(.mode == "gateway") | . as $r | .phases[$low] as $b | phase($r; $low) as $ph
        | $ph.latency_ms.issue_to_broker as $ib | $b.gateway_metrics.send_latency.mean_ms as $send
        | "| \($r.name) | \($ib.mean | n2), \($ib.p50 | n2) | \($send | n2) | \(if $ib == null or $send == null then "n/a" else ($ib.mean - $send | n2) end) | \(if $b.wal == null then "n/a" else ($b.wal.syncs / $ph.orders | n2) end) | \(if $b.wal == null or $b.wal.syncs == 0 or $b.wal.sync_time_ms == null then "n/a" else ($b.wal.sync_time_ms / $b.wal.syncs | n2) end) | \($b.gateway_metrics.reply_apply.mean_ms | n2) | \($ph.latency_ms.issue_to_done.mean | n2), \($ph.latency_ms.issue_to_done.p50 | n2) |"),
      "",
      "WAL flushes are pg_stat_wal'"'"'s wal_sync over the phase (the whole server: the gateway'"'"'s synchronous commits and the WAL writer'"'"'s flushes of the asynchronous ones) over its orders, their mean time wal_sync_time (track_wal_io_timing on); the bare initiator'"'"'s store commits asynchronously and waits for none.",
      "" end),
    "The gateway database'"'"'s busiest statements in the burst of \($g1.name) (per order = calls over the burst'"'"'s \(phase($g1; "burst").orders) orders):",
    "",
    "| statement | calls per order | mean ms | total ms | rows per call |",
    "|---|---:|---:|---:|---:|",
    ($g1.phases.burst.pg_stat_statements.top // [] | map(select(.database | startswith("gateway")))[:10][]
      | "| `\(.query | .[:110] | cell)` | \(.calls / phase($g1; "burst").orders * 1000 | round / 1000) | \(.mean_ms) | \(.total_ms) | \(if .calls > 0 then (.rows / .calls | n1) else "n/a" end) |"),
    "<!-- gateway:end -->"
  ' "$file"
}

update_doc() {
  local results="$1" section="$WORK_DIR/section.md"
  section_markdown "$results" >"$section"
  [[ -f "$DOC_FILE" ]] || fbg_die "$DOC_FILE is missing (bench/intake.sh writes its introduction)"
  bench_replace_section "$DOC_FILE" gateway "$section"
}

# ---------------------------------------------------------------------------------------------

main() {
  if [[ -n "$SECTION_FROM" ]]; then
    WORK_DIR="$(mktemp -d /tmp/fbg-gwbench.XXXXXX)"
    update_doc "$SECTION_FROM"
    fbg_log "section regenerated in $DOC_FILE from $SECTION_FROM"
    KEEP_WORK_DIR=0
    return 0
  fi
  GATEWAY_BIN="$BUILD_DIR/gateway/gateway"
  LOAD_BIN="$BUILD_DIR/bench/gateway_load"
  ensure_tools
  ((DO_BUILD)) && build
  [[ -x "$GATEWAY_BIN" ]] || fbg_die "$GATEWAY_BIN not built (run without --no-build)"
  [[ -x "$LOAD_BIN" ]] || fbg_die "$LOAD_BIN not built (run without --no-build)"
  REFERENCE_JSON="$(reference_json)"
  RUN_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  BUSY_BEFORE_PCT="$(bench_machine_busy_pct 3)"
  ((BUSY_BEFORE_PCT < 20)) ||
    fbg_log "warning: the machine is already ${BUSY_BEFORE_PCT}% busy; the numbers will be lower than on a quiet machine"
  start_servers
  RUN_NAMES=()
  local round
  for ((round = 1; round <= ROUNDS; round++)); do
    RUN_NAMES+=("gateway-$round")
    run_gateway "$round"
    RUN_NAMES+=("bare-$round")
    run_bare "$round"
  done
  mkdir -p "$RESULTS_DIR"
  local results
  results="$RESULTS_DIR/gateway-$(date -u -d "$RUN_DATE" +%Y%m%d-%H%M%S).json"
  write_results "$results"
  update_doc "$results"
  fbg_log "results: $results; section updated in $DOC_FILE"
  sed -n '/<!-- gateway:begin -->/,/<!-- gateway:end -->/p' "$DOC_FILE"
  KEEP_WORK_DIR=0
}

main
