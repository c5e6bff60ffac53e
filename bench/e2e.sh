#!/usr/bin/env bash
# Measures the whole order path end to end (issue 8, item 4): orders per second from the REST
# accept to the last fill applied in the ledger, sustained at several offered rates, with the
# latency of each hop and of the whole, on this machine, next to pgbench in the same run.
#
#   bench/e2e.sh [--no-build] [--build-dir DIR] [--rates R1,R2,...] [--phase-s S] [--rounds K]
#                [--clients C] [--accounts M] [--connection new|keep-alive] [--keep]
#   bench/e2e.sh --section-from bench/results/e2e-<date>.json
#
# Builds Release (ledger_service, gateway, fill_receiver, simulator, e2e_driver) into build/ or
# DIR (unless --no-build), then, holding /tmp/fbg-bench.lock (taken here unless a parent process
# holds it already, e.g. `flock /tmp/fbg-bench.lock bench/e2e.sh`), starts the whole stack on
# free loopback ports in a temporary folder (scripts/lib/e2e_stack.sh): PostgreSQL 15
# (synchronous_commit on, fsync on), Redis, the ledger, the fill receiver, SIM-A and SIM-B with
# their faults on (5 % of acknowledgements dropped, 10 % of drop-copy reports doubled, a
# disconnect every 500 order-entry messages, two fill slices 20 ms apart; reject_rate 0 here, so
# that every order ends filled; E2E_BENCH_SIM_FAULTS, a JSON object, replaces these for a
# diagnostic run) and a gateway per broker. Then:
#   pgbench: tpcb-like, scale 32, 32 clients, 2 threads, 20 s on the same server (the reference,
#     as in bench/intake.sh), before our processes take load;
#   warmup: 50 orders/s for 5 s (not measured), then 10 s without orders (the idle stack's CPU
#     and PostgreSQL transactions);
#   K rounds (default 1) of paced phases at each rate R (default 25,50,75,100,150,200,500/s),
#     S seconds each (default 20): tests/e2e/e2e_driver load --mix marketable places marketable
#     LIMIT orders (half BUY, half SELL, both brokers) on M accounts (default 8) from C clients
#     (default 16) over REST, each request on a new connection or (--connection keep-alive)
#     each client on one keep-alive connection; after each phase the script waits (at most
#     60 s) until every order of the phase is filled in the ledger, so that the next phase
#     starts empty (if it does not, the next phase records the backlog it started with).
# The timestamps come from the components' own tables (one PostgreSQL server, one clock): the
# ledger's orders.created_at (accept), outbox.sent_at (published), the gateway's
# broker_orders.received_at and first_sent_at, the simulator's sim_orders.created_at and its
# last fill's sim_executions.created_at, the fill receiver's executions.received_at and the
# ledger's executions.applied_at; they are joined in a scratch database after the phases.
# Per phase: placed, accepted and completed orders per second (completed = the order's last fill
# applied; steady window from 5 s after the phase's first accept to its last accept), orders not
# complete at the phase's end and the drain time, p50/p90/p99/max of every hop and of the total,
# the CPU of every component (from /proc; the load's own from getrusage) in ms per order, and the
# PostgreSQL transactions committed per order in each component's database.
# A phase during which unrelated processes used more than 20 % of one core is marked disturbed.
# Sustained rate: the highest offered rate whose completed orders/s is at least 98 % of it and
# whose p99 from the client's POST to the last fill applied is under 250 ms. Target (issue 8):
# sustained >= 500 orders/s.
# Writes bench/results/e2e-<date>.json, docs/e2e-latency.png (the latency distribution at the
# 500/s phase, or the fastest one) and the section between <!-- e2e:begin --> and
# <!-- e2e:end --> of docs/performance.md. About 6 minutes with the defaults, after the build.
# --section-from regenerates that section from a results file and does nothing else (the plot
# needs the run's data and is not redrawn).
# Everything started here is stopped on exit, on failure too. The temporary folder (logs, raw
# data) is removed after a successful run unless --keep is given.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../scripts/lib/stack.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/stack.sh"
# shellcheck source-path=SCRIPTDIR source=../scripts/lib/e2e_stack.sh
source "$FBG_ROOT/scripts/lib/e2e_stack.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUILD_DIR="$FBG_ROOT/build"
RESULTS_DIR="$FBG_ROOT/bench/results"
DOC_FILE="$FBG_ROOT/docs/performance.md"
PLOT_FILE="$FBG_ROOT/docs/e2e-latency.png"
LOCK_FILE=/tmp/fbg-bench.lock
LOCK_WAIT_S=1800

RATES=(25 50 75 100 150 200 500)
PHASE_S=20
ROUNDS=1
CLIENTS=16
ACCOUNTS=8
CONNECTION=new # each order on a new HTTP connection, or each client on one keep-alive connection
WARMUP_RATE=50
WARMUP_S=5
IDLE_S=10 # the idle stack's CPU is measured this long after the warmup
TARGET_RATE=500
TARGET_P99_MS=250
COMPLETION_MIN=0.98      # completed orders/s at least this share of the offered rate
STEADY_SKIP_S=5          # the steady window starts this long after a phase's first accept
DRAIN_DEADLINE_S=60      # after a phase, every order of it filled within this, or the run goes on
LOAD_GRACE_S=90          # e2e_driver load ends within its duration plus this (retries included)
PGBENCH_BIN="$FBG_PG_BIN/pgbench"
PGBENCH_SCALE=32
PGBENCH_CLIENTS=32
PGBENCH_THREADS=2
PGBENCH_S=20
QUIET_BUSY_PCT=25
QUIET_WAIT_S=20
DISTURBED_OTHER_PCT=20 # % of one core used by unrelated processes during a phase
# The target's conditions, with reject_rate 0: a rejected order would never be "filled".
# The target's faults; E2E_BENCH_SIM_FAULTS replaces them for a diagnostic run (e.g. without
# disconnects, to see what the reconnects cost the latency).
TARGET_SIM_FAULTS='{"drop_ack_rate": 0.05, "duplicate_report_rate": 0.1, "disconnect_every_messages": 500, "fill_slices": 2, "fill_delay_ms": 20, "reject_rate": 0}'
SIM_FAULTS="${E2E_BENCH_SIM_FAULTS:-$TARGET_SIM_FAULTS}"
# Our processes, in the order of bench_cpu_snapshot's PIDs, and their names in the results.
COMPONENTS=(ledger fill_receiver simulator-SIM-A simulator-SIM-B gateway-SIM-A gateway-SIM-B redis)
CPU_NAMES=(ledger fill_receiver sim_a sim_b gateway_a gateway_b redis)

DO_BUILD=1
KEEP_LOGS=0
SECTION_FROM=""

usage() { bench_usage "${BASH_SOURCE[0]}" "$1"; }

# set_number VAR FLAG VALUE LOW HIGH: sets VAR to VALUE if it is a whole number in LOW..HIGH.
set_number() {
  if ! [[ "$3" =~ ^[0-9]+$ ]] || (($3 < $4 || $3 > $5)); then fbg_die "$2 needs $4..$5"; fi
  printf -v "$1" '%s' "$3"
}

# set_rates LIST: RATES from "R1,R2,...", each 10..2000 orders/s, at most 10 of them.
set_rates() {
  [[ "$1" =~ ^[0-9]+(,[0-9]+){0,9}$ ]] || fbg_die "--rates needs R1,R2,... (at most 10)"
  IFS=, read -ra RATES <<<"$1"
  local rate
  for rate in "${RATES[@]}"; do
    ((rate >= 10 && rate <= 2000)) || fbg_die "--rates: each rate 10..2000 orders/s"
  done
}

while (($# > 0)); do
  case "$1" in
    --no-build) DO_BUILD=0 ;;
    --keep) KEEP_LOGS=1 ;;
    --rates) set_rates "${2:-}" && shift ;;
    --phase-s) set_number PHASE_S "$1" "${2:-}" 10 120 && shift ;;
    --rounds) set_number ROUNDS "$1" "${2:-}" 1 3 && shift ;;
    --clients) set_number CLIENTS "$1" "${2:-}" 1 256 && shift ;;
    --accounts) set_number ACCOUNTS "$1" "${2:-}" 1 256 && shift ;;
    --connection)
      [[ "${2:-}" == new || "${2:-}" == keep-alive ]] || fbg_die "--connection needs new or keep-alive"
      CONNECTION="$2"
      shift
      ;;
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
total_orders=0
for rate in "${RATES[@]}"; do total_orders=$((total_orders + rate * PHASE_S * ROUNDS)); done
((total_orders <= 100000)) || fbg_die "at most 100000 orders per run (rates x seconds x rounds)"

# ---------------------------------------------------------------------------------------------
# Temporary folder and cleanup
# ---------------------------------------------------------------------------------------------

WORK_DIR=""
CHILD_PIDS=() # e2e_driver and pgbench running in the background
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
  e2e_stack_stop_all
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
# Setup: tools, build, lock, stack
# ---------------------------------------------------------------------------------------------

# apt_install PACKAGE COMMAND: installs PACKAGE if COMMAND is missing (as root only).
apt_install() {
  command -v "$2" >/dev/null && return 0
  ((EUID == 0)) || fbg_die "$2 is needed; install it (apt-get install $1)"
  fbg_log "installing $1"
  env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$1" >/dev/null ||
    fbg_die "could not install $1"
}

ensure_tools() {
  fbg_install_deps
  apt_install jq jq
  apt_install gnuplot-nox gnuplot # the latency plot (its png terminal needs no X)
}

# The same configuration as fbg_build, but only the targets this benchmark runs.
build() {
  fbg_log "building Release into $BUILD_DIR (ledger_service, gateway, fill_receiver, simulator, e2e_driver)"
  cmake -G Ninja -S "$FBG_ROOT" -B "$BUILD_DIR" -DFBG_SANITIZE=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" -j "$BENCH_NCPU" --target ledger_service gateway fill_receiver simulator e2e_driver
}

# One benchmark at a time on this machine: fd 9 holds LOCK_FILE until the script exits.
take_lock() {
  touch "$LOCK_FILE" 2>/dev/null || fbg_die "cannot create $LOCK_FILE"
  if bench_lock_held_by_ancestor "$LOCK_FILE"; then
    fbg_log "$LOCK_FILE is held by a parent process: not taking it again"
    return 0
  fi
  exec 9>>"$LOCK_FILE"
  if ! flock -n 9; then
    fbg_log "waiting (at most ${LOCK_WAIT_S}s) for $LOCK_FILE: another benchmark runs"
    flock -w "$LOCK_WAIT_S" 9 || fbg_die "$LOCK_FILE still held after ${LOCK_WAIT_S}s"
  fi
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

# pg DATABASE ARG...: psql on the stack's server, unaligned, quiet, stopping at the first error.
pg() {
  "$FBG_PG_BIN/psql" -h 127.0.0.1 -p "$E2E_PG_PORT" -U postgres -d "$1" -tAq -v ON_ERROR_STOP=1 "${@:2}"
}

start_servers() {
  WORK_DIR="$(mktemp -d /tmp/fbg-e2ebench.XXXXXX)"
  chmod 755 "$WORK_DIR" # PostgreSQL runs as its own user when we are root
  mkdir -p "$WORK_DIR/phases"
  export FBG_E2E_LEDGER_BIN="$BUILD_DIR/ledger_service/ledger_service"
  export FBG_E2E_GATEWAY_BIN="$BUILD_DIR/gateway/gateway"
  export FBG_E2E_FILLS_BIN="$BUILD_DIR/fill_receiver/fill_receiver"
  export FBG_E2E_SIM_BIN="$BUILD_DIR/simulator/simulator"
  DRIVER_BIN="$BUILD_DIR/tests/e2e/e2e_driver"
  [[ -x "$DRIVER_BIN" ]] || fbg_die "$DRIVER_BIN not built (run without --no-build)"
  E2E_SIM_FAULTS="$SIM_FAULTS"
  E2E_PG_STATEMENTS=1
  e2e_stack_init "$WORK_DIR" # checks the other binaries
  e2e_start_servers          # PostgreSQL, the databases, Redis; e2e_stack_start_all reuses them
  pg postgres -c "create extension if not exists pg_stat_statements" >/dev/null
}

# statements_json: the statements that took the most server time since the last reset, every
# database of the stack (what a phase's PostgreSQL CPU was spent on).
statements_json() {
  pg postgres -c "
    with s as (
      select db.datname as db, s.calls, s.total_exec_time, s.mean_exec_time, s.rows, s.query
      from pg_stat_statements s join pg_database db on db.oid = s.dbid
      where db.datname not in ('postgres', 'pgbench'))
    select json_build_object(
      'by_db', (select json_object_agg(db, ms) from (
                  select db, round(sum(total_exec_time)::numeric, 1) as ms from s group by db) d),
      'top', (select coalesce(json_agg(t), '[]') from (
                select db, calls, round(total_exec_time::numeric, 1) as total_ms,
                       round(mean_exec_time::numeric, 3) as mean_ms, rows,
                       left(regexp_replace(query, '\s+', ' ', 'g'), 120) as query
                from s order by total_exec_time desc limit 12) t))"
}

# The reference on the same server before our processes run: pgbench as in bench/intake.sh.
run_pgbench() {
  local connect=(-h 127.0.0.1 -p "$E2E_PG_PORT" -U postgres) out="$WORK_DIR/pgbench"
  fbg_pg_createdb "$E2E_PG_PORT" pgbench
  fbg_log "pgbench -i -s $PGBENCH_SCALE"
  "$PGBENCH_BIN" "${connect[@]}" -i -q -s "$PGBENCH_SCALE" pgbench >"$out-init.log" 2>&1 ||
    fbg_die "pgbench -i failed; see $out-init.log"
  fbg_log "pgbench tpcb-like: $PGBENCH_CLIENTS clients, $PGBENCH_THREADS threads, ${PGBENCH_S}s"
  "$PGBENCH_BIN" "${connect[@]}" -c "$PGBENCH_CLIENTS" -j "$PGBENCH_THREADS" -T "$PGBENCH_S" \
    -b tpcb-like pgbench >"$out.log" 2>&1 &
  local pid=$!
  CHILD_PIDS+=("$pid")
  # A fixed measuring window inside pgbench's run (a schedule, not a synchronisation): the end
  # snapshot needs pgbench alive.
  sleep 2
  bench_cpu_snapshot "$E2E_PG_DATA_DIR" "$pid" >"$out.cpu-start"
  sleep "$((PGBENCH_S - 5))"
  bench_cpu_snapshot "$E2E_PG_DATA_DIR" "$pid" >"$out.cpu-end"
  wait "$pid" || fbg_die "pgbench failed; see $out.log"
  CHILD_PIDS=()
  local tps latency
  tps="$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$out.log")"
  latency="$(sed -n 's/^latency average = \([0-9.]*\) ms$/\1/p' "$out.log")"
  [[ -n "$tps" && -n "$latency" ]] || fbg_die "no tps in the pgbench output; see $out.log"
  fbg_log "pgbench: $tps tps"
  jq -n --argjson tps "$tps" --argjson latency "$latency" --argjson cpu "$(bench_cpu_json "$out" pgbench)" \
    --argjson scale "$PGBENCH_SCALE" --argjson clients "$PGBENCH_CLIENTS" \
    --argjson threads "$PGBENCH_THREADS" --argjson seconds "$PGBENCH_S" \
    '{script: "tpcb-like", scale: $scale, clients: $clients, threads: $threads, seconds: $seconds,
      tps: $tps, latency_avg_ms: $latency, cpu: $cpu}' >"$out.json"
}

start_stack() {
  fbg_log "starting the stack; simulator faults: $E2E_SIM_FAULTS"
  e2e_stack_start_all
  DRIVER_ARGS=(--ledger-port "$E2E_LEDGER_PORT" --jwt-secret "$E2E_JWT_SECRET" --accounts "$ACCOUNTS")
  "$DRIVER_BIN" setup "${DRIVER_ARGS[@]}" >"$WORK_DIR/setup.log" 2>&1 ||
    fbg_die "e2e_driver setup failed; see $WORK_DIR/setup.log"
}

# ---------------------------------------------------------------------------------------------
# Phases
# ---------------------------------------------------------------------------------------------

component_pids() {
  local name
  for name in "${COMPONENTS[@]}"; do e2e_pid "$name" || echo ""; done
}

# Committed transactions and rows read per database of the stack so far, as JSON.
db_stats() {
  pg postgres -c "select json_object_agg(datname, json_build_object('commits', xact_commit,
                    'rows_read', tup_returned + tup_fetched)) from pg_stat_database
                  where datname in ('ledger', 'fills', 'gateway_sim_a', 'gateway_sim_b',
                                    'broker_sim_a', 'broker_sim_b')"
}

# The CPU ticks (utime + stime) of every client backend of the stack's databases so far, one
# "pid database ticks" line each. Our processes hold their connections for the whole run, so a
# backend's change between two snapshots is what its database's work cost the server; what runs
# outside them (WAL writer, autovacuum, checkpointer, the postmaster) stays in the total only.
db_cpu_snapshot() {
  local pid db line fields
  while read -r pid db; do
    { read -r line <"/proc/$pid/stat"; } 2>/dev/null || continue # it may have exited meanwhile
    read -ra fields <<<"${line##*) }"                                # fields[n-3] is field n
    echo "$pid $db $((fields[11] + fields[12]))"
  done < <(pg postgres -F ' ' -c "select pid, datname from pg_stat_activity
                                  where backend_type = 'client backend' and datname in
                                  ('ledger', 'fills', 'gateway_sim_a', 'gateway_sim_b',
                                   'broker_sim_a', 'broker_sim_b')")
}

# db_cpu_json DIR WINDOW_S: per database, the CPU of its backends between DIR/db-cpu-start and
# DIR/db-cpu-end in percent of one core (a backend that started in between counts whole; one that
# ended is not counted), as JSON; null without both snapshots.
db_cpu_json() {
  local dir="$1" window="$2"
  [[ -s "$dir/db-cpu-start" && -s "$dir/db-cpu-end" && "$window" != null ]] || {
    echo null
    return 0
  }
  awk -v window="$window" -v tck="$BENCH_CLK_TCK" '
    NR == FNR { start[$1] = $3; next }
    { used[$2] += $3 - ($1 in start ? start[$1] : 0) }
    END {
      printf "{"; sep = ""
      for (db in used) { printf "%s\"%s\": %.1f", sep, db, 100 * used[db] / tck / window; sep = ", " }
      print "}"
    }' "$dir/db-cpu-start" "$dir/db-cpu-end"
}

# The server's checkpoints so far (started by time or by WAL volume, and asked for: one inside a
# phase makes it pay for the writes and the full-page images that follow) and its WAL: records,
# full-page images, bytes, and the flushes to disk (each a synchronous commit's wait, several
# commits sharing one when they come together).
server_stats() {
  pg postgres -c "select json_build_object('checkpoints', checkpoints_timed + checkpoints_req,
                    'wal_records', wal_records, 'wal_fpi', wal_fpi, 'wal_bytes', wal_bytes,
                    'wal_syncs', wal_sync) from pg_stat_bgwriter, pg_stat_wal"
}

# server_delta_json DIR: the change of server_stats between DIR/server-start and DIR/server-end.
server_delta_json() {
  jq -n --slurpfile a "$1/server-start" --slurpfile b "$1/server-end" \
    '$b[0] | with_entries(.key as $k | .value |= (. - $a[0][$k]))'
}

# db_delta_json DIR: per database, the change of db_stats between DIR/db-start and DIR/db-end.
db_delta_json() {
  [[ -s "$1/db-start" && -s "$1/db-end" ]] || {
    echo null
    return 0
  }
  jq -n --slurpfile a "$1/db-start" --slurpfile b "$1/db-end" \
    '$b[0] | with_entries(.key as $k | .value |= {commits: (.commits - $a[0][$k].commits),
                                                  rows_read: (.rows_read - $a[0][$k].rows_read)})'
}

# Orders in the ledger not (yet) filled, leaving out those that can no longer fill, into
# OPEN_COUNT. An order before the oldest open one never opens again, so each count starts at
# OPEN_FROM_SEQ (the unique index on seq) instead of scanning every order of the run: a full
# scan cost the server 145 ms a call at the end of a run, taken from the stack it measured.
OPEN_FROM_SEQ=0
open_orders() {
  local row
  row="$(pg ledger -F ' ' -c "select count(*), coalesce(min(seq), (select coalesce(max(seq), 0)
                                from orders)) from orders where seq >= $OPEN_FROM_SEQ
                                and filled_quantity < quantity and status not in
                                ('CANCELED', 'REJECTED', 'EXPIRED', 'UNCONFIRMED')")"
  OPEN_COUNT="${row%% *}"
  OPEN_FROM_SEQ="${row##* }"
}

# wait_drained: until no order is open, at most DRAIN_DEADLINE_S; the last count is left in
# OPEN_COUNT (not a subshell: OPEN_FROM_SEQ carries over to the next phase).
wait_drained() {
  local deadline=$((SECONDS + DRAIN_DEADLINE_S))
  open_orders
  while ((OPEN_COUNT > 0 && SECONDS < deadline)); do
    sleep 2 # the polling interval of a bounded wait
    open_orders
  done
}

# phase_json DIR NAME ROUND RATE SECONDS OPEN_AFTER_DRAIN DRIVER_STATUS PID...: what the phase's
# files say (the SQL numbers come later, from the tables).
phase_json() {
  local dir="$1" name="$2" round="$3" rate="$4" seconds="$5" open="$6" status="$7"
  shift 7
  local cpu window placed load_s driver_cpu
  cpu="$(bench_cpu_json "$dir/phase" "${CPU_NAMES[@]}")"
  window="$(jq -r 'if . == null then "null" else .window_s end' <<<"$cpu")"
  placed="$(sed -n 's/^placed \([0-9]*\) orders in .*/\1/p' "$dir/load.log")"
  load_s="$(sed -n 's/^placed [0-9]* orders in \([0-9.]*\) s .*/\1/p' "$dir/load.log")"
  driver_cpu="$(sed -n 's/^cpu used by the load: \([0-9.]*\) ms$/\1/p' "$dir/load.log")"
  jq -n --arg name "$name" --argjson round "$round" --argjson rate "$rate" --argjson seconds "$seconds" \
    --argjson placed "${placed:-null}" --argjson load_s "${load_s:-null}" \
    --argjson driver_cpu "${driver_cpu:-null}" --argjson open "$open" --argjson status "$status" \
    --argjson cpu "$cpu" --argjson disturbed "$DISTURBED_OTHER_PCT" --argjson db "$(db_delta_json "$dir")" \
    --argjson backlog "$(<"$dir/backlog-at-start")" --slurpfile statements "$dir/statements.json" \
    --argjson server "$(server_delta_json "$dir")" --argjson db_cpu "$(db_cpu_json "$dir" "$window")" \
    --argjson others "$(bench_others_json "$dir/procs-start" "$dir/procs-end" "$window" "$E2E_PG_DATA_DIR" "$@")" '
    {name: $name, round: $round, rate: $rate, seconds: $seconds, load_exit_status: $status,
     placed: $placed, placed_per_s: (if $placed == null or $load_s == null or $load_s == 0 then null
                                     else ($placed / $load_s * 10 | round / 10) end),
     backlog_at_start: $backlog, load_cpu_ms: $driver_cpu, open_after_drain: $open, cpu: $cpu,
     other_processes: $others,
     databases: $db, postgres_by_db_core_pct: $db_cpu, statements: $statements[0], server: $server,
     disturbed: ($others == null or $others.core_pct > $disturbed)}' >"$dir/phase.json"
}

# run_phase NAME ROUND RATE SECONDS SEED: one paced phase and its drain, CPU from just before the
# load starts to the end of the drain.
run_phase() {
  local name="$1" round="$2" rate="$3" seconds="$4" seed="$5" dir="$WORK_DIR/phases/$1"
  mkdir -p "$dir"
  local pids=()
  mapfile -t pids < <(component_pids)
  fbg_log "phase $name: $rate orders/s for ${seconds}s from $CLIENTS clients"
  cp "$WORK_DIR/backlog" "$dir/backlog-at-start" 2>/dev/null || echo 0 >"$dir/backlog-at-start"
  db_stats >"$dir/db-start"
  server_stats >"$dir/server-start"
  pg postgres -c "select pg_stat_statements_reset()" >/dev/null
  bench_processes_snapshot >"$dir/procs-start"
  db_cpu_snapshot >"$dir/db-cpu-start"
  bench_cpu_snapshot "$E2E_PG_DATA_DIR" "${pids[@]}" >"$dir/phase.cpu-start"
  timeout "$((seconds + LOAD_GRACE_S))" "$DRIVER_BIN" load "${DRIVER_ARGS[@]}" --mix marketable \
    --rate "$rate" --orders "$((rate * seconds))" --duration-s "$((seconds + 2))" \
    --clients "$CLIENTS" --connection "$CONNECTION" --seed "$seed" --out "$dir/orders.tsv" >"$dir/load.log" 2>&1 &
  local load_pid=$! status=0
  CHILD_PIDS+=("$load_pid")
  wait "$load_pid" || status=$?
  CHILD_PIDS=()
  ((status == 0)) || fbg_log "e2e_driver load of $name exited with $status; see $dir/load.log"
  wait_drained
  echo "$OPEN_COUNT" >"$WORK_DIR/backlog" # the next phase starts with it
  bench_cpu_snapshot "$E2E_PG_DATA_DIR" "${pids[@]}" >"$dir/phase.cpu-end"
  db_cpu_snapshot >"$dir/db-cpu-end"
  bench_processes_snapshot >"$dir/procs-end"
  db_stats >"$dir/db-end"
  statements_json >"$dir/statements.json"
  server_stats >"$dir/server-end"
  ((OPEN_COUNT == 0)) || fbg_log "phase $name: $OPEN_COUNT orders still not filled after ${DRAIN_DEADLINE_S}s"
  head -n 1 "$dir/load.log" >&2 || true
  phase_json "$dir" "$name" "$round" "$rate" "$seconds" "$OPEN_COUNT" "$status" "${pids[@]}" "$load_pid"
}

# After the warmup, the statistics a running system has: tables created empty a minute ago
# would otherwise keep, until autovacuum's first ANALYZE, the plans made while they were empty
# (sequential scans, which grow with every order). The phases measure the steady state.
analyze_databases() {
  local db
  for db in ledger fills gateway_sim_a gateway_sim_b broker_sim_a broker_sim_b; do
    pg "$db" -c "ANALYZE" >/dev/null
  done
}

# The stack with no orders for IDLE_S (after the warmup): what it costs doing nothing.
run_idle() {
  local dir="$WORK_DIR/phases/idle" pids=()
  mkdir -p "$dir"
  mapfile -t pids < <(component_pids)
  fbg_log "idle: ${IDLE_S}s without orders"
  db_stats >"$dir/db-start"
  pg postgres -c "select pg_stat_statements_reset()" >/dev/null
  bench_cpu_snapshot "$E2E_PG_DATA_DIR" "${pids[@]}" >"$dir/phase.cpu-start"
  sleep "$IDLE_S" # the measuring window itself
  bench_cpu_snapshot "$E2E_PG_DATA_DIR" "${pids[@]}" >"$dir/phase.cpu-end"
  db_stats >"$dir/db-end"
  statements_json >"$dir/statements.json"
  jq -n --argjson cpu "$(bench_cpu_json "$dir/phase" "${CPU_NAMES[@]}")" \
    --argjson db "$(db_delta_json "$dir")" --argjson seconds "$IDLE_S" \
    --slurpfile statements "$dir/statements.json" \
    '{seconds: $seconds, cpu: $cpu, databases: $db, statements: $statements[0]}' >"$dir/idle.json"
}

run_phases() {
  PHASE_NAMES=()
  run_phase warmup 0 "$WARMUP_RATE" "$WARMUP_S" 1
  analyze_databases
  # pgbench -i and the warmup wrote hundreds of MB of WAL: the server's next checkpoint would
  # start on that volume inside one of the phases (whichever the swing put it in). Taken here,
  # the next one comes by time (checkpoint_timeout, 5 min), after most runs' last phase.
  pg postgres -c "CHECKPOINT" >/dev/null
  run_idle
  local round rate seed=100
  for ((round = 1; round <= ROUNDS; round++)); do
    for rate in "${RATES[@]}"; do
      seed=$((seed + 1))
      PHASE_NAMES+=("r$round-$rate")
      run_phase "r$round-$rate" "$round" "$rate" "$PHASE_S" "$seed"
    done
  done
}

# Each component's resident memory at the end of the phases, MiB (VmHWM: its peak over the run;
# VmRSS: now), and the malloc it runs with (jemalloc when that library is mapped), as JSON. Read
# before the analysis, while the stack still runs.
memory_json() {
  local i pid status peak rss allocator
  for i in "${!COMPONENTS[@]}"; do
    pid="$(e2e_pid "${COMPONENTS[$i]}")" || continue
    status="$(cat "/proc/$pid/status" 2>/dev/null)" || continue
    peak="$(awk '/^VmHWM:/ { print $2 }' <<<"$status")"
    rss="$(awk '/^VmRSS:/ { print $2 }' <<<"$status")"
    allocator=glibc
    grep -q libjemalloc "/proc/$pid/maps" 2>/dev/null && allocator=jemalloc
    jq -n --arg name "${CPU_NAMES[$i]}" --argjson peak "${peak:-null}" --argjson rss "${rss:-null}" \
      --arg allocator "$allocator" '{($name): {peak_rss_mib: (if $peak == null then null else ($peak / 1024 * 10 | round / 10) end),
                                              rss_mib: (if $rss == null then null else ($rss / 1024 * 10 | round / 10) end),
                                              allocator: $allocator}}'
  done | jq -s 'add // {}'
}

# ---------------------------------------------------------------------------------------------
# Analysis: every component's timestamps in one scratch database
# ---------------------------------------------------------------------------------------------

# copy_table SOURCE_DB TABLE SELECT: the rows of SELECT on SOURCE_DB appended to TABLE of e2e_bench.
copy_table() {
  pg "$1" -c "\\copy ($3) to stdout" | pg e2e_bench -c "\\copy $2 from stdin"
}

ms() { echo "extract(epoch from $1) * 1000"; } # a timestamptz column as ms since the epoch

export_tables() {
  fbg_pg_createdb "$E2E_PG_PORT" e2e_bench
  pg e2e_bench <<'SQL'
create table phase_orders (phase text, round int, rate int, order_id text primary key,
                           answer_ms float8, sent_ms float8);
create table l_orders (order_id text primary key, broker text, status text, quantity bigint,
                       filled bigint, created_ms float8);
create table l_outbox (order_id text primary key, sent_ms float8);
create table l_exec (broker text, exec_id text, order_id text, applied_ms float8,
                     primary key (broker, exec_id));
create table g_orders (order_id text primary key, attempts int, received_ms float8,
                       first_sent_ms float8, last_reply_ms float8);
create table s_orders (broker text, cl_ord_id text, created_ms float8, primary key (broker, cl_ord_id));
create table s_fills (broker text, exec_id text, cl_ord_id text, created_ms float8);
create table f_exec (broker text, exec_id text, received_ms float8, published_ms float8,
                     primary key (broker, exec_id));
SQL
  local name file broker
  for name in "${PHASE_NAMES[@]}"; do
    file="$WORK_DIR/phases/$name/orders.tsv"
    [[ -s "$file" ]] || continue
    awk -F '\t' -v phase="$name" -v round="${name%%-*}" -v rate="${name#*-}" \
      '$3 != "-" { print phase "\t" substr(round, 2) "\t" rate "\t" $3 "\t" $15 "\t" $16 }' "$file" |
      pg e2e_bench -c "\\copy phase_orders from stdin"
  done
  copy_table ledger l_orders "select order_id, broker, status, quantity, filled_quantity, $(ms created_at) from orders"
  copy_table ledger l_outbox "select order_id, $(ms sent_at) from outbox where kind = 'NEW'"
  copy_table ledger l_exec "select broker, exec_id, order_id, $(ms applied_at) from executions"
  copy_table fills f_exec "select broker, exec_id, $(ms received_at), $(ms published_at) from executions"
  for broker in "${E2E_BROKERS[@]}"; do
    copy_table "$(e2e_db_name gateway "$broker")" g_orders \
      "select order_id, attempts, $(ms received_at), $(ms first_sent_at), $(ms last_reply_at) from broker_orders"
    copy_table "$(e2e_db_name broker "$broker")" s_orders \
      "select '$broker', cl_ord_id, $(ms created_at) from sim_orders"
    copy_table "$(e2e_db_name broker "$broker")" s_fills \
      "select '$broker', exec_id, cl_ord_id, $(ms created_at) from sim_executions where exec_type = 'F'"
  done
  pg e2e_bench -c "create index on s_fills (broker, cl_ord_id, created_ms); create index on l_exec (order_id);
                   analyze"
}

# per_order: one row per order of a measured phase, a timestamp (ms) per hop; the fill hops
# follow the order's last fill issued by the broker (its ExecID through the fill receiver and the
# ledger); done = the last fill applied of the order.
build_per_order() {
  pg e2e_bench <<'SQL'
create table per_order as
select p.phase, p.round, p.rate, o.order_id, o.quantity = o.filled as filled, g.attempts, p.answer_ms, p.sent_ms,
       o.created_ms as a, ob.sent_ms as b, g.received_ms as c, g.first_sent_ms as d,
       so.created_ms as e, lf.created_ms as f, fe.received_ms as g, le.applied_ms as h, done.ms as done
from phase_orders p
join l_orders o using (order_id)
left join l_outbox ob using (order_id)
left join g_orders g using (order_id)
left join s_orders so on so.broker = o.broker and so.cl_ord_id = o.order_id
left join lateral (select exec_id, created_ms from s_fills x where x.broker = o.broker
                   and x.cl_ord_id = o.order_id order by created_ms desc limit 1) lf on true
left join f_exec fe on fe.broker = o.broker and fe.exec_id = lf.exec_id
left join l_exec le on le.broker = o.broker and le.exec_id = lf.exec_id
left join lateral (select max(applied_ms) as ms from l_exec x where x.order_id = o.order_id) done on true;
create view hops as
select phase, n, hop, v from per_order cross join lateral (values
  (1, 'accept_to_published', b - a), (2, 'published_to_gateway', c - b),
  (3, 'gateway_to_sent', d - c), (4, 'sent_to_broker', e - d), (5, 'broker_to_last_fill', f - e),
  (6, 'fill_to_stored', g - f), (7, 'stored_to_applied', h - g),
  (8, 'total', case when filled then done - a end), (9, 'client_answer', answer_ms),
  (10, 'client_total', case when filled then done - sent_ms end)) x (n, hop, v)
where v is not null;
SQL
}

# Latency per phase and hop, as a JSON array.
latency_json() {
  pg e2e_bench -c "
    select coalesce(json_agg(r order by phase, n), '[]') from (
      select phase, n, hop, count(*) as count,
             round(percentile_cont(0.5) within group (order by v)::numeric, 2) as p50,
             round(percentile_cont(0.9) within group (order by v)::numeric, 2) as p90,
             round(percentile_cont(0.99) within group (order by v)::numeric, 2) as p99,
             round(max(v)::numeric, 2) as max, round(min(v)::numeric, 2) as min
      from hops group by phase, n, hop) r"
}

# Counts and rates per phase, as a JSON array. Steady window: from STEADY_SKIP_S after the
# phase's first accept (at most its last) to its last accept. Completions in the window count
# whatever phase their order came from: the phase's own when the previous one drained, else also
# the backlog's (then it is the rate the saturated stack completes at).
counts_json() {
  pg e2e_bench -v skip_ms="$((STEADY_SKIP_S * 1000))" <<'SQL'
with w as (select phase, min(a) as t0, max(a) as t1 from per_order group by phase),
ws as (select phase, t0, t1, least(t0 + :skip_ms, t1) as s0 from w)
select coalesce(json_agg(r order by phase), '[]') from (
  select ws.phase, round(((t1 - t0) / 1000)::numeric, 2) as accept_span_s,
         round(((t1 - s0) / 1000)::numeric, 2) as steady_window_s,
         (select count(*) from per_order o where o.phase = ws.phase) as accepted,
         (select count(*) from per_order o where o.phase = ws.phase and o.filled) as filled,
         (select count(*) from per_order o where o.phase = ws.phase and o.attempts > 1) as retried_by_gateway,
         round(((select count(*) from per_order o where o.a between s0 and t1)
                / nullif((t1 - s0) / 1000, 0))::numeric, 1) as accepted_per_s,
         round(((select count(*) from per_order o where o.filled and o.done between s0 and t1)
                / nullif((t1 - s0) / 1000, 0))::numeric, 1) as completed_per_s,
         (select count(*) from per_order o where o.phase = ws.phase
            and (not o.filled or o.done > ws.t1)) as incomplete_at_last_accept,
         round(((select max(done) from per_order o where o.phase = ws.phase) - t1)::numeric / 1000, 2)
           as drain_s
  from ws) r
SQL
}

# quantile_rows PHASE_CONDITION N_CONDITION: per quantile 0.001..0.999, the latency (ms) of the
# selected series side by side (tab separated: quantile, then one column per series).
quantile_rows() {
  pg e2e_bench -F $'\t' -c "
    with q as (
      select phase, n, percentile_cont((select array_agg(i / 1000.0 order by i)
                                        from generate_series(1, 999) i))
                       within group (order by v) as arr
      from hops where $1 and $2 group by phase, n)
    select i / 1000.0, string_agg(round(arr[i]::numeric, 3)::text, E'\t' order by phase, n)
    from q, generate_series(1, 999) i group by i order by i"
}

# plot PHASE: docs/e2e-latency.png, the hops and the total at PHASE (left) and the total of every
# measured phase of round 1 (right), latency against percentile.
plot() {
  local phase="$1" data="$WORK_DIR/plot" titles
  quantile_rows "phase = '$phase'" "true" >"$data-hops.tsv"
  quantile_rows "phase like 'r1-%'" "n = 8" >"$data-totals.tsv"
  titles="$(pg e2e_bench -c "select string_agg(phase, ' ' order by phase) from (select distinct phase from hops where phase like 'r1-%') p")"
  gnuplot <<GNUPLOT || fbg_die "gnuplot failed"
set terminal png size 1500,620 font ",10"
set output '$WORK_DIR/e2e-latency.png'
set datafile separator "\t"
set multiplot layout 1,2 title "End to end under faults, synchronous commit: latency distribution (x log scale; y: percentile, log of 1/(1-p))"
set logscale x
set grid xtics ytics mxtics
set xlabel "ms"
set ylabel "percentile"
set ytics ("0" 0, "50" 0.30103, "90" 1, "99" 2, "99.9" 3)
set yrange [0:3]
set key left top
clip(x) = x > 0.01 ? x : 0.01
y(p) = -log10(1 - p)
set title "each hop and the total, phase $phase (round-rate)"
hops = "accept->published published->gateway gateway->NewOrderSingle NewOrderSingle->broker broker->last-fill(incl.-2x20ms) fill->stored stored->applied total"
plot for [i=2:9] '$data-hops.tsv' using (clip(column(i))):(y(\$1)) with lines lw 2 title word(hops, i-1), \
     '$data-hops.tsv' using (clip(column(10))):(y(\$1)) with lines lw 2 dt 2 lc rgb "#555555" title "client: POST->answer", \
     '$data-hops.tsv' using (clip(column(11))):(y(\$1)) with lines lw 2 dt 2 lc rgb "#000000" title "client: POST->last fill applied"
set title "accept -> last fill applied, per phase (round 1)"
phases = "$titles"
plot for [i=2:words(phases)+1] '$data-totals.tsv' using (clip(column(i))):(y(\$1)) with lines lw 2 title word(phases, i-1)
unset multiplot
GNUPLOT
}

# ---------------------------------------------------------------------------------------------
# Results and the section of docs/performance.md
# ---------------------------------------------------------------------------------------------

# The phase the plot and the latency section show: TARGET_RATE's in round 1, else the fastest.
plot_phase() {
  local rate best=0
  for rate in "${RATES[@]}"; do
    ((rate == TARGET_RATE)) && best=$rate && break
    ((rate > best)) && best=$rate
  done
  echo "r1-$best"
}

write_results() {
  local file="$1" phases=() name
  for name in "${PHASE_NAMES[@]}"; do phases+=("$WORK_DIR/phases/$name/phase.json"); done
  local redis_version disconnects
  redis_version="$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')"
  disconnects="$(cat "$WORK_DIR"/simulator-SIM-*.log | grep -c 'disconnect_every_messages)' || true)"
  jq -n --argjson machine "$(bench_machine_json "$E2E_PG_DATA_DIR" "$E2E_PG_PORT" "$RUN_DATE" "$BUSY_BEFORE_PCT" \
    "$(jq -n --arg v "$redis_version" '{redis_version: $v}')")" \
    --slurpfile pgbench "$WORK_DIR/pgbench.json" --slurpfile phases <(jq -s . "${phases[@]}") \
    --slurpfile warmup "$WORK_DIR/phases/warmup/phase.json" --slurpfile idle "$WORK_DIR/phases/idle/idle.json" \
    --slurpfile memory "$WORK_DIR/memory.json" \
    --argjson latency "$(latency_json)" --argjson counts "$(counts_json)" \
    --argjson faults "$SIM_FAULTS" --argjson disconnects "${disconnects:-0}" \
    --arg sim_fix_store "$E2E_SIM_FIX_STORE" \
    --arg plot_phase "$(plot_phase)" --arg plot "${PLOT_FILE#"$FBG_ROOT"/}" \
    --argjson clients "$CLIENTS" --argjson accounts "$ACCOUNTS" --arg connection "$CONNECTION" --argjson phase_s "$PHASE_S" \
    --argjson rounds "$ROUNDS" --argjson steady_skip "$STEADY_SKIP_S" \
    --argjson target_rate "$TARGET_RATE" --argjson target_p99 "$TARGET_P99_MS" \
    --argjson completion_min "$COMPLETION_MIN" --argjson disturbed "$DISTURBED_OTHER_PCT" \
    --argjson rates "$(printf '%s\n' "${RATES[@]}" | jq -s .)" \
    -f "$FBG_ROOT/bench/e2e_results.jq" >"$file"
}

update_doc() {
  local results="$1" section="$WORK_DIR/section.md"
  jq -r --arg file "${results#"$FBG_ROOT"/}" -f "$FBG_ROOT/bench/e2e_section.jq" "$results" >"$section"
  [[ -f "$DOC_FILE" ]] || fbg_die "$DOC_FILE is missing (bench/intake.sh writes its introduction)"
  bench_replace_section "$DOC_FILE" e2e "$section"
}

# ---------------------------------------------------------------------------------------------

main() {
  if [[ -n "$SECTION_FROM" ]]; then
    WORK_DIR="$(mktemp -d /tmp/fbg-e2ebench.XXXXXX)"
    update_doc "$SECTION_FROM"
    fbg_log "section regenerated in $DOC_FILE from $SECTION_FROM"
    KEEP_WORK_DIR=0
    return 0
  fi
  ensure_tools
  ((DO_BUILD)) && build
  take_lock
  RUN_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  BUSY_BEFORE_PCT="$(wait_quiet)"
  ((BUSY_BEFORE_PCT < QUIET_BUSY_PCT)) ||
    fbg_log "warning: the machine is already ${BUSY_BEFORE_PCT}% busy; the numbers will be lower than on a quiet machine"
  start_servers
  run_pgbench
  start_stack
  run_phases
  memory_json >"$WORK_DIR/memory.json"
  fbg_log "joining the components' timestamps"
  export_tables
  build_per_order
  plot "$(plot_phase)"
  mkdir -p "$RESULTS_DIR"
  local results
  results="$RESULTS_DIR/e2e-$(date -u -d "$RUN_DATE" +%Y%m%d-%H%M%S).json"
  write_results "$results"
  cp "$WORK_DIR/e2e-latency.png" "$PLOT_FILE"
  update_doc "$results"
  fbg_log "results: $results; plot: $PLOT_FILE; section updated in $DOC_FILE"
  sed -n '/<!-- e2e:begin -->/,/<!-- e2e:end -->/p' "$DOC_FILE"
  KEEP_WORK_DIR=0
}

main
