#!/usr/bin/env bash
# Measures the ledger's order intake against pgbench on the same PostgreSQL, on this machine.
#
#   bench/intake.sh [--no-build] [--build-dir DIR] [--duration-s S] [--warmup-s W] [--no-8x8]
#                   [--set KEY=VALUE]... [--keep]
#
# Builds Release into build/ or DIR (unless --no-build), starts a throwaway PostgreSQL 15
# (synchronous_commit on) and Redis in a temporary folder on free ports, starts the ledger service
# against them, then measures:
#   (a) pgbench tpcb-like, 32 clients, 2 threads, scale 32: the reference TPS;
#   (b) intake_load, 32 clients on 32 accounts;  (c) 32 clients on 1 account;
#   (d) 8 clients on 8 accounts (skip with --no-8x8).
# While each measurement runs it records the CPU used by postgres, ledger_service, redis and the
# load client (from /proc). Writes bench/results/intake-<date>.json and regenerates the section
# between <!-- intake:begin --> and <!-- intake:end --> of docs/performance.md.
# --set KEY=VALUE adds a line to the ledger's configuration (see `ledger_service config-help`).
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

DURATION_S=30
WARMUP_S=3
PGBENCH_SCALE=32
PGBENCH_CLIENTS=32
PGBENCH_THREADS=2
TARGET_RATIO=0.5 # intake orders/s at 32 clients on 32 accounts, relative to pgbench tps
TARGET_P99_MS=20
READY_TIMEOUT_S=90
STOP_TIMEOUT_S=20

DO_BUILD=1
RUN_8X8=1
KEEP_LOGS=0
EXTRA_SETTINGS=()

# usage EXIT_STATUS: prints the header comment of this file.
usage() { bench_usage "${BASH_SOURCE[0]}" "$1"; }

while (($# > 0)); do
  case "$1" in
    --no-build) DO_BUILD=0 ;;
    --no-8x8) RUN_8X8=0 ;;
    --keep) KEEP_LOGS=1 ;;
    --duration-s)
      if ! [[ "${2:-}" =~ ^[0-9]+$ ]] || (($2 < 10 || $2 > 600)); then fbg_die "--duration-s needs 10..600"; fi
      DURATION_S="$2"
      shift
      ;;
    --warmup-s)
      if ! [[ "${2:-}" =~ ^[0-9]+$ ]] || (($2 > 60)); then fbg_die "--warmup-s needs 0..60"; fi
      WARMUP_S="$2"
      shift
      ;;
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
CHILD_PIDS=() # pgbench, intake_load and samplers running in the background
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
  [[ -n "$LEDGER_PID_FILE" ]] && (fbg_stop_pidfile ledger_service "$LEDGER_PID_FILE" "$STOP_TIMEOUT_S")
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

free_port() { fbg_free_port "$1"; }

# ---------------------------------------------------------------------------------------------
# CPU accounting from /proc: ticks per process group between two snapshots
# ---------------------------------------------------------------------------------------------

NCPU="$BENCH_NCPU"

# Prints: total_ticks busy_ticks iowait_ticks postgres ledger redis client (all in ticks).
cpu_snapshot() {
  bench_cpu_snapshot "$PG_DATA_DIR" "$(<"$LEDGER_PID_FILE")" "$(<"$REDIS_DIR/redis.pid")" "$1"
}

machine_busy_pct() { bench_machine_busy_pct "$1"; }

# cpu_sampler CLIENT_PID START_DELAY_S WINDOW_S OUT_PREFIX: snapshots at the start and end of the
# measured window, and a `top` listing in its middle.
cpu_sampler() {
  local client_pid="$1" delay="$2" window="$3" out="$4"
  sleep "$delay"
  cpu_snapshot "$client_pid" >"$out.cpu-start"
  sleep "$(awk -v w="$window" 'BEGIN { print w / 2 }')"
  top -b -n 1 -w 200 2>/dev/null | head -n 20 >"$out.top" || true
  sleep "$(awk -v w="$window" 'BEGIN { print w / 2 }')"
  cpu_snapshot "$client_pid" >"$out.cpu-end"
}

# cpu_json OUT_PREFIX: the CPU split of the window as JSON (percent of one core per group).
cpu_json() { bench_cpu_json "$1" ledger_service redis client; }

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
  [[ -x "$PGBENCH_BIN" ]] || fbg_die "$PGBENCH_BIN not found (package postgresql-contrib / postgresql-15)"
}

# The same configuration as fbg_build (so build/ stays as scripts/run leaves it), but only the
# two targets this benchmark runs.
build() {
  fbg_log "building Release into $BUILD_DIR (ledger_service, intake_load)"
  cmake -G Ninja -S "$FBG_ROOT" -B "$BUILD_DIR" -DFBG_SANITIZE=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" -j "$NCPU" --target ledger_service intake_load
}

start_servers() {
  WORK_DIR="$(mktemp -d /tmp/fbg-intake.XXXXXX)"
  chmod 755 "$WORK_DIR" # the postgres user must reach its data folder inside
  free_port PG_PORT
  free_port REDIS_PORT
  free_port LEDGER_PORT
  PG_DATA_DIR="$WORK_DIR/pg/data"
  REDIS_DIR="$WORK_DIR/redis"
  mkdir -p "$WORK_DIR/pg" "$REDIS_DIR"
  fbg_pg_start "$PG_DATA_DIR" "$PG_PORT"
  fbg_pg_createdb "$PG_PORT" ledger
  fbg_pg_createdb "$PG_PORT" pgbench
  fbg_redis_start "$REDIS_DIR" "$REDIS_PORT"
  JWT_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  local conf="$WORK_DIR/ledger.conf" setting
  (
    umask 077
    cat >"$conf" <<CONF
# Written by bench/intake.sh for one measured run (start_ledger adds http_port).
http_bind_address = 127.0.0.1
postgres_uri = postgresql://postgres@127.0.0.1:$PG_PORT/ledger
redis_host = 127.0.0.1
redis_port = $REDIS_PORT
jwt_secret = $JWT_SECRET
CONF
    for setting in "${EXTRA_SETTINGS[@]}"; do
      printf '%s = %s\n' "${setting%%=*}" "${setting#*=}" >>"$conf"
    done
  )
  LEDGER_CONF="$conf"
  LEDGER_PID_FILE="$WORK_DIR/ledger.pid"
  start_ledger
}

# Starts the ledger with LEDGER_CONF plus its port, and waits until /readyz answers 200; fails as
# soon as the process exits.
start_ledger() {
  local conf="$WORK_DIR/ledger-$LEDGER_PORT.conf"
  (
    umask 077
    cat "$LEDGER_CONF" >"$conf"
    echo "http_port = $LEDGER_PORT" >>"$conf"
  )
  fbg_start_background ledger_service "$WORK_DIR/ledger.log" "$LEDGER_PID_FILE" \
    "$LEDGER_BIN" serve --config "$conf"
  local pid deadline=$((SECONDS + READY_TIMEOUT_S))
  pid="$(<"$LEDGER_PID_FILE")"
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
    "http://127.0.0.1:$LEDGER_PORT/readyz" || true)" == 200 ]]; do
    fbg_pid_alive "$pid" || fbg_die "ledger_service exited at start; see $WORK_DIR/ledger.log"
    ((SECONDS < deadline)) || fbg_die "ledger_service not ready within ${READY_TIMEOUT_S}s"
    sleep 0.2 # polling interval of a bounded wait
  done
  fbg_log "ledger_service ready on 127.0.0.1:$LEDGER_PORT"
}

# Sets LEDGER_DIED to "" while the ledger runs; otherwise to how it ended ("exit 1",
# "signal SEGV"), and restarts it so that the next measurement has a service to talk to.
LEDGER_FAILURES=0
LEDGER_DIED=""
check_ledger() {
  local pid status=0
  LEDGER_DIED=""
  pid="$(cat "$LEDGER_PID_FILE")"
  fbg_pid_alive "$pid" && return 0
  wait "$pid" 2>/dev/null || status=$? # it is our child: its exit status is still there
  LEDGER_FAILURES=$((LEDGER_FAILURES + 1))
  if ((status > 128)); then
    LEDGER_DIED="signal $(kill -l "$((status - 128))")"
  else
    LEDGER_DIED="exit $status"
  fi
  fbg_log "ledger_service died ($LEDGER_DIED); last lines of its log:"
  grep -v 'refused .* and does not hold it' "$WORK_DIR/ledger.log" | tail -n 5 >&2 || true
  free_port LEDGER_PORT # the old port may still be held by connections of the dead process
  start_ledger
}

psql_value() { bench_psql_value "$PG_PORT" "$1"; }

run_pgbench() {
  local connect=(-h 127.0.0.1 -p "$PG_PORT" -U postgres)
  fbg_log "pgbench -i -s $PGBENCH_SCALE"
  "$PGBENCH_BIN" "${connect[@]}" -i -q -s "$PGBENCH_SCALE" pgbench >"$WORK_DIR/pgbench-init.log" 2>&1 ||
    fbg_die "pgbench -i failed; see $WORK_DIR/pgbench-init.log"
  fbg_log "pgbench tpcb-like: $PGBENCH_CLIENTS clients, $PGBENCH_THREADS threads, ${DURATION_S}s"
  "$PGBENCH_BIN" "${connect[@]}" -c "$PGBENCH_CLIENTS" -j "$PGBENCH_THREADS" -T "$DURATION_S" \
    -b tpcb-like pgbench >"$WORK_DIR/pgbench.log" 2>&1 &
  local pid=$!
  CHILD_PIDS+=("$pid")
  # The window ends well before pgbench does: the end snapshot needs the process alive.
  cpu_sampler "$pid" 2 "$((DURATION_S - 5))" "$WORK_DIR/pgbench" &
  CHILD_PIDS+=("$!")
  local sampler=$!
  wait "$pid" || fbg_die "pgbench failed; see $WORK_DIR/pgbench.log"
  wait "$sampler" || true
  CHILD_PIDS=()
  check_ledger
  cat "$WORK_DIR/pgbench.log" >&2
  local tps latency transactions failed
  tps="$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$WORK_DIR/pgbench.log")"
  latency="$(sed -n 's/^latency average = \([0-9.]*\) ms$/\1/p' "$WORK_DIR/pgbench.log")"
  transactions="$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$WORK_DIR/pgbench.log")"
  failed="$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$WORK_DIR/pgbench.log")"
  [[ -n "$tps" ]] || fbg_die "no tps in the pgbench output; see $WORK_DIR/pgbench.log"
  jq -n --argjson tps "$tps" --argjson latency "${latency:-null}" \
    --argjson transactions "${transactions:-null}" --argjson failed "${failed:-null}" \
    --argjson clients "$PGBENCH_CLIENTS" --argjson threads "$PGBENCH_THREADS" \
    --argjson duration "$DURATION_S" --argjson scale "$PGBENCH_SCALE" \
    --argjson cpu "$(cpu_json "$WORK_DIR/pgbench")" \
    '{script: "tpcb-like", scale: $scale, clients: $clients, threads: $threads, duration_s: $duration,
      tps: $tps, latency_avg_ms: $latency, transactions: $transactions, failed_transactions: $failed,
      cpu: $cpu}' >"$WORK_DIR/pgbench.json"
}

# run_intake NAME CLIENTS ACCOUNTS
run_intake() {
  local name="$1" clients="$2" accounts="$3"
  local out="$WORK_DIR/intake-$name"
  fbg_log "intake_load $name: $clients clients on $accounts accounts, ${WARMUP_S}s warmup + ${DURATION_S}s"
  "$LOAD_BIN" --port "$LEDGER_PORT" --jwt-secret "$JWT_SECRET" --clients "$clients" \
    --accounts "$accounts" --duration-s "$DURATION_S" --warmup-s "$WARMUP_S" \
    --account-prefix "B$name" --setup --json-out "$out.json" >"$out.txt" 2>&1 &
  local pid=$!
  CHILD_PIDS+=("$pid")
  # The setup takes well under a second; the window starts after it and the warmup.
  cpu_sampler "$pid" "$((WARMUP_S + 2))" "$((DURATION_S - 5))" "$out" &
  CHILD_PIDS+=("$!")
  local sampler=$! status=0
  wait "$pid" || status=$?
  wait "$sampler" || true
  CHILD_PIDS=()
  cat "$out.txt" >&2
  [[ -s "$out.json" ]] || fbg_die "intake_load $name wrote no report (exit $status); see $out.txt"
  ((status == 0)) || fbg_log "intake_load $name exited with status $status"
  check_ledger
  local died="$LEDGER_DIED"
  [[ -z "$died" ]] || fbg_log "intake_load $name: ledger_service died during the run ($died)"
  curl -s --max-time 5 "http://127.0.0.1:$LEDGER_PORT/metrics" >"$out.metrics" || true
  jq --arg name "$name" --argjson cpu "$(cpu_json "$out")" --arg top "$(cat "$out.top" 2>/dev/null)" \
    --arg died "$died" \
    '{name: $name} + . + {ledger_service_died: (if $died == "" then null else $died end),
                          cpu: $cpu, top_snapshot: $top}
     | if .ledger_service_died != null and .cpu != null
       then .cpu.ledger_service_core_pct = null | .cpu.other_core_pct = null else . end' \
    "$out.json" >"$out.scenario.json"
}

machine_json() {
  local redis_version
  redis_version="$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')"
  bench_machine_json "$PG_DATA_DIR" "$PG_PORT" "$RUN_DATE" "$BUSY_BEFORE_PCT" \
    "$(jq -n --arg v "$redis_version" '{redis_version: $v}')"
}

write_results() {
  local file="$1" scenarios=()
  local name
  for name in "${SCENARIOS[@]}"; do scenarios+=("$WORK_DIR/intake-$name.scenario.json"); done
  local settings_json
  settings_json="$(printf '%s\n' "${EXTRA_SETTINGS[@]}" | jq -R 'select(length > 0)' | jq -s .)"
  jq -n --argjson machine "$(machine_json)" --slurpfile pgbench "$WORK_DIR/pgbench.json" \
    --argjson ratio_target "$TARGET_RATIO" --argjson p99_target "$TARGET_P99_MS" \
    --argjson warmup "$WARMUP_S" --argjson duration "$DURATION_S" --argjson settings "$settings_json" \
    --argjson failures "$LEDGER_FAILURES" \
    --slurpfile scenarios <(jq -s . "${scenarios[@]}") \
    '$pgbench[0] as $pg
     | ($scenarios[0] | map(. + {ratio_to_pgbench: ((.accepted_per_s / $pg.tps * 1000 | round) / 1000)})) as $runs
     | ($runs | map(select(.name == "32x32"))[0]) as $main
     | {machine: $machine, ledger_extra_settings: $settings, ledger_service_failures: $failures, warmup_s: $warmup, duration_s: $duration,
        pgbench: $pg, scenarios: $runs,
        targets: ({scenario: "32x32", ratio_to_pgbench_min: $ratio_target, p99_ms_below: $p99_target,
                  ratio_to_pgbench: $main.ratio_to_pgbench,
                  p99_ms: (if $main.requests > $main.transport_errors then $main.latency_ms.p99 else null end),
                  ledger_service_died: $main.ledger_service_died,
                  throughput_pass: ($main.ratio_to_pgbench >= $ratio_target),
                  p99_pass: ($main.accepted > 0 and $main.latency_ms.p99 < $p99_target
                             and $main.ledger_service_died == null)}
                 | .pass = (.throughput_pass and .p99_pass))}' \
    >"$file"
}

# The markdown of the "Ledger intake" section, from a results file.
section_markdown() {
  local file="$1" relative="${1#"$FBG_ROOT"/}"
  jq -r --arg file "$relative" '
    def pf(b): if b then "PASS" else "FAIL" end;
    def n1: (. * 10 | round / 10 | tostring);
    def pct: if . == null then "n/a" else (. | n1) end;
    def lat(f): if .requests - .transport_errors == 0 then "n/a" else (f | n1) end;
    .machine as $m | .pgbench as $pg | .targets as $t |
    "<!-- intake:begin -->",
    "<!-- Generated by bench/intake.sh; edits between these markers are overwritten. -->",
    "## Ledger intake",
    "",
    "Measured \($m.date) on commit `\($m.commit)`\(if $m.working_tree_dirty then " (with uncommitted changes)" else "" end); raw results in `\($file)`.",
    "Each measurement runs \(.duration_s) s; intake scenarios start after a \(.warmup_s) s warmup." +
      (if (.ledger_extra_settings | length) > 0 then " Ledger settings changed from the defaults: `\(.ledger_extra_settings | join("`, `"))`." else " The ledger runs with its default settings." end),
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
    "Reference: pgbench \($pg.script), scale \($pg.scale), \($pg.clients) clients, \($pg.threads) threads: **\($pg.tps | n1) tps** (latency average \($pg.latency_avg_ms) ms).",
    "",
    "| Scenario | Accepted orders/s | × pgbench | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | 202 | 409 ACCOUNT_BUSY | other errors | transport errors |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    (.scenarios[] | "| \(.clients) clients on \(.accounts) account\(if .accounts == 1 then "" else "s" end) | \(.accepted_per_s | n1) | \(.ratio_to_pgbench) | \(lat(.latency_ms.p50)) | \(lat(.latency_ms.p90)) | \(lat(.latency_ms.p99)) | \(lat(.latency_ms.p99_9)) | \(lat(.latency_ms.max)) | \(.accepted) | \(.account_busy) | \(.other_errors) | \(.transport_errors) |"),
    "",
    "Latencies are of every answered request (accepted or refused) in the window, client side, keep-alive connections.",
    (.scenarios[] | select(.ledger_service_died != null)
      | "", "**\(.clients) clients on \(.accounts) account\(if .accounts == 1 then "" else "s" end): ledger_service died during this run (\(.ledger_service_died)); requests after that failed (transport errors) and the service was restarted for the next run.**"),
    "",
    "Targets at 32 clients on 32 accounts: throughput ≥ \($t.ratio_to_pgbench_min) × pgbench: **\(pf($t.throughput_pass))** (\($t.ratio_to_pgbench) ×); p99 < \($t.p99_ms_below) ms: **\(pf($t.p99_pass))** (\($t.p99_ms | pct) ms)" +
      (if $t.ledger_service_died != null then "; ledger_service died during this run (\($t.ledger_service_died))." else "." end),
    "",
    "CPU during each measurement, in % of one core (\($m.cores) cores = \($m.cores * 100) %), from /proc:",
    "",
    "| Run | postgres | ledger_service | redis | load client | other (kernel, unrelated processes) | machine busy | iowait |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ([{label: "pgbench", cpu: $pg.cpu}] + (.scenarios | map({label: "intake \(.clients) clients on \(.accounts)", cpu: .cpu}))
      | .[] | "| \(.label) | \(.cpu.postgres_core_pct | pct) | \(.cpu.ledger_service_core_pct | pct) | \(.cpu.redis_core_pct | pct) | \(.cpu.client_core_pct | pct) | \(.cpu.other_core_pct | pct) | \(.cpu.machine_busy_pct | pct) % | \(.cpu.iowait_pct | pct) % |"),
    "",
    "Machine busy and iowait are shares of all cores. For pgbench the load client is pgbench itself.",
    "<!-- intake:end -->"
  ' "$file"
}

doc_intro() {
  cat <<'DOC'
# Performance

Measurements of this project on a named machine, with the commands that reproduce them. Numbers
only mean something next to the machine they were taken on, so each section states it.

## How to reproduce

    bench/intake.sh            # builds Release into build/, then about 3 minutes of measuring
    bench/intake.sh --no-build # reuse build/
    bench/intake.sh --help     # shorter runs, ledger settings (--set key=value), ...

Run it on an otherwise idle machine: the load client, the service, PostgreSQL and Redis share its
cores, so anything else running lowers the numbers. The section below shows how busy the machine
was before the run and, per measurement, the CPU used by processes outside the benchmark.

The script starts a throwaway PostgreSQL 15 (synchronous_commit on, fsync on) and Redis in a
temporary folder on free ports, starts `ledger_service` against them and measures:

- the reference: `pgbench -b tpcb-like` with 32 clients on the same PostgreSQL server (a
  transaction of three updates, one select and one insert, committed synchronously);
- order intake: `bench/intake_load` (build/bench/intake_load) places BUY LIMIT orders with
  `POST /v1/accounts/{id}/orders` from N client threads, each on one keep-alive connection and
  bound to account `client % M`, and reports accepted orders per second (HTTP 202) and the
  latency percentiles of every request. Before its 202, each order takes the account's Redis
  lock, reads the account in PostgreSQL and then, in one synchronously committed statement,
  reserves the cash and writes the order, its revisions, a journal entry and an outbox row.

It writes the raw numbers to `bench/results/intake-<date>.json` and regenerates the section
below. Targets (issue "Measure"): at 32 clients on 32 accounts, accepted orders/s at least
0.5 × pgbench's tps and p99 under 20 ms; 32 clients on 1 account is reported for contention.

DOC
}

update_doc() {
  local results="$1" section="$WORK_DIR/section.md"
  section_markdown "$results" >"$section"
  mkdir -p "$(dirname "$DOC_FILE")"
  if [[ ! -f "$DOC_FILE" ]]; then
    doc_intro >"$DOC_FILE"
  fi
  bench_replace_section "$DOC_FILE" intake "$section"
}

# ---------------------------------------------------------------------------------------------

main() {
  LEDGER_BIN="$BUILD_DIR/ledger_service/ledger_service"
  LOAD_BIN="$BUILD_DIR/bench/intake_load"
  ensure_tools
  ((DO_BUILD)) && build
  [[ -x "$LEDGER_BIN" ]] || fbg_die "$LEDGER_BIN not built (run without --no-build)"
  [[ -x "$LOAD_BIN" ]] || fbg_die "$LOAD_BIN not built (run without --no-build)"
  RUN_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  BUSY_BEFORE_PCT="$(machine_busy_pct 3)"
  ((BUSY_BEFORE_PCT < 20)) ||
    fbg_log "warning: the machine is already ${BUSY_BEFORE_PCT}% busy; the numbers will be lower than on a quiet machine"
  start_servers
  run_pgbench
  SCENARIOS=(32x32 32x1)
  run_intake 32x32 32 32
  run_intake 32x1 32 1
  if ((RUN_8X8)); then
    SCENARIOS+=(8x8)
    run_intake 8x8 8 8
  fi
  mkdir -p "$RESULTS_DIR"
  local results
  results="$RESULTS_DIR/intake-$(date -u -d "$RUN_DATE" +%Y%m%d-%H%M%S).json"
  write_results "$results"
  update_doc "$results"
  fbg_log "results: $results; section updated in $DOC_FILE"
  sed -n '/<!-- intake:begin -->/,/<!-- intake:end -->/p' "$DOC_FILE"
  ((LEDGER_FAILURES == 0)) || fbg_die "ledger_service died $LEDGER_FAILURES time(s) during the runs; see $WORK_DIR/ledger.log"
  KEEP_WORK_DIR=0
}

main
