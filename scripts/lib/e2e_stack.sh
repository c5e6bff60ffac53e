# shellcheck shell=bash
# The whole stack on free loopback ports in one folder, for tests/e2e/e2e_faults.sh and
# scripts/chaos: PostgreSQL, Redis, the ledger, the fill receiver, the simulators SIM-A and SIM-B
# and a gateway per broker. Source it after scripts/lib/stack.sh, then:
#   e2e_stack_init DIR      picks the ports and the JWT secret (DIR must exist)
#   e2e_stack_start_all     starts everything, each one ready before the next
#   e2e_stack_stop_all      stops everything (any order of what is running); also on failure
#   e2e_start NAME / e2e_stop NAME / e2e_kill9 NAME / e2e_pid NAME  for one component:
#     ledger, fill_receiver, simulator-SIM-A, simulator-SIM-B, gateway-SIM-A, gateway-SIM-B, redis,
#     postgres (the system's server: its kill -9 takes the postmaster and every child at once)
# Binaries: FBG_E2E_LEDGER_BIN, FBG_E2E_GATEWAY_BIN, FBG_E2E_FILLS_BIN, FBG_E2E_SIM_BIN (the
# caller sets them). Each process has DIR/NAME.conf, DIR/NAME.log and DIR/NAME.pid.
# FBG_E2E_LEDGER_EXTRA_CONF, FBG_E2E_FILLS_EXTRA_CONF, FBG_E2E_GATEWAY_EXTRA_CONF: lines added
# to the ledger's, the fill receiver's and both gateways' files (an A/B bench of one setting).

E2E_BROKERS=(SIM-A SIM-B)
# shellcheck disable=SC2034 # for the scripts that source this file
E2E_COMPONENTS=(ledger fill_receiver simulator-SIM-A simulator-SIM-B gateway-SIM-A gateway-SIM-B redis)
E2E_READY_TIMEOUT_S="${E2E_READY_TIMEOUT_S:-90}"
E2E_STOP_TIMEOUT_S=20
# E2E_PG_STATEMENTS=1 before e2e_start_servers: PostgreSQL with pg_stat_statements preloaded
# (E2E_PG_STATEMENTS_TRACK=all: with the statements run inside functions counted too).
# Simulator faults (API.md), applied at every simulator start; the caller may change them.
E2E_SIM_FAULTS='{"drop_ack_rate": 0.05, "duplicate_report_rate": 0.1, "disconnect_every_messages": 500, "fill_slices": 2, "fill_delay_ms": 20, "reject_rate": 0.02}'
# Gateway retries: short enough for a test to see an unanswered order retried within seconds.
# The simulators stand in for the external brokers, whose FIX engines keep their own storage:
# QuickFIX's FileStore (written to the operating system with every message, so it survives a
# kill -9 of the simulator; not fsynced) keeps their sequence numbers and sent messages out of
# the PostgreSQL server that the system's own components share. Their books and reports (the
# ground truth the tests check) stay in PostgreSQL. E2E_SIM_FIX_STORE=postgres puts the FIX
# store there too (the simulator's PgMessageStore, measured in bench/simulator.sh).
E2E_SIM_FIX_STORE="${E2E_SIM_FIX_STORE:-file}"
# E2E_BROKER_PG=separate: the simulators' books on a PostgreSQL server of their own, so a kill -9
# of the system's server (e2e_kill9 postgres) takes only what is the system's, as a broker's
# storage would not be ours. The default, shared, keeps one server (the bench measures it so).
E2E_BROKER_PG="${E2E_BROKER_PG:-shared}"
E2E_GATEWAY_ACK_TIMEOUT_MS=2000
E2E_GATEWAY_RETRY_BACKOFF_MS_MAX=8000

E2E_DIR=""

e2e_stack_init() {
  E2E_DIR="$1"
  [[ -d "$E2E_DIR" ]] || fbg_die "e2e_stack_init: $E2E_DIR is not a folder"
  local bin
  for bin in FBG_E2E_LEDGER_BIN FBG_E2E_GATEWAY_BIN FBG_E2E_FILLS_BIN FBG_E2E_SIM_BIN; do
    [[ -x "${!bin:-}" ]] || fbg_die "$bin must name a built binary (got '${!bin:-}')"
  done
  fbg_free_port E2E_PG_PORT
  fbg_free_port E2E_REDIS_PORT
  fbg_free_port E2E_LEDGER_PORT
  fbg_free_port E2E_FILLS_PORT
  fbg_free_port E2E_FILLS_FIX_PORT
  fbg_free_port E2E_SIM_A_ADMIN_PORT
  fbg_free_port E2E_SIM_A_FIX_PORT
  fbg_free_port E2E_SIM_B_ADMIN_PORT
  fbg_free_port E2E_SIM_B_FIX_PORT
  fbg_free_port E2E_GATEWAY_A_PORT
  fbg_free_port E2E_GATEWAY_B_PORT
  E2E_PG_DATA_DIR="$E2E_DIR/postgres/data"
  E2E_BROKER_PG_PORT="$E2E_PG_PORT"
  if [[ "$E2E_BROKER_PG" == separate ]]; then
    fbg_free_port E2E_BROKER_PG_PORT
    E2E_BROKER_PG_DATA_DIR="$E2E_DIR/postgres-brokers/data"
  elif [[ "$E2E_BROKER_PG" != shared ]]; then
    fbg_die "E2E_BROKER_PG must be shared or separate (got '$E2E_BROKER_PG')"
  fi
  E2E_REDIS_DIR="$E2E_DIR/redis"
  E2E_JWT_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
}

# e2e_sim_admin_port BROKER / e2e_sim_fix_port BROKER / e2e_gateway_port BROKER
e2e_sim_admin_port() { if [[ "$1" == SIM-A ]]; then echo "$E2E_SIM_A_ADMIN_PORT"; else echo "$E2E_SIM_B_ADMIN_PORT"; fi; }
e2e_sim_fix_port() { if [[ "$1" == SIM-A ]]; then echo "$E2E_SIM_A_FIX_PORT"; else echo "$E2E_SIM_B_FIX_PORT"; fi; }
e2e_gateway_port() { if [[ "$1" == SIM-A ]]; then echo "$E2E_GATEWAY_A_PORT"; else echo "$E2E_GATEWAY_B_PORT"; fi; }
e2e_db_name() { tr 'A-Z-' 'a-z_' <<<"$1_$2"; } # e2e_db_name gateway SIM-A -> gateway_sim_a

e2e_start_servers() {
  if ((${E2E_PG_STATEMENTS:-0})) && [[ ! -f "$E2E_PG_DATA_DIR/PG_VERSION" ]]; then
    # pg_stat_statements must be preloaded: initdb first, then the line, then the usual start
    # (fbg_pg_start only rewrites postgresql.auto.conf).
    fbg_pg_init "$E2E_PG_DATA_DIR"
    echo "shared_preload_libraries = 'pg_stat_statements'" |
      fbg_pg_as_owner tee -a "$E2E_PG_DATA_DIR/postgresql.conf" >/dev/null
    # E2E_PG_STATEMENTS_TRACK=all (diagnostics): statements inside functions counted too.
    if [[ -n "${E2E_PG_STATEMENTS_TRACK:-}" ]]; then
      echo "pg_stat_statements.track = '$E2E_PG_STATEMENTS_TRACK'" |
        fbg_pg_as_owner tee -a "$E2E_PG_DATA_DIR/postgresql.conf" >/dev/null
    fi
  fi
  fbg_pg_start "$E2E_PG_DATA_DIR" "$E2E_PG_PORT"
  [[ "$E2E_BROKER_PG" == shared ]] || fbg_pg_start "$E2E_BROKER_PG_DATA_DIR" "$E2E_BROKER_PG_PORT"
  local db broker
  for db in ledger fills; do fbg_pg_createdb "$E2E_PG_PORT" "$db"; done
  for broker in "${E2E_BROKERS[@]}"; do
    fbg_pg_createdb "$E2E_BROKER_PG_PORT" "$(e2e_db_name broker "$broker")"
    fbg_pg_createdb "$E2E_PG_PORT" "$(e2e_db_name gateway "$broker")"
  done
  e2e_start redis
}

# e2e_write_conf NAME: the configuration file of one of our processes.
e2e_write_conf() {
  local name="$1" conf="$E2E_DIR/$1.conf" pg="postgresql://postgres@127.0.0.1:$E2E_PG_PORT"
  local broker="${name#*-}"
  (
    umask 077 # the ledger's file holds the JWT secret
    case "$name" in
      ledger)
        cat <<CONF
http_port = $E2E_LEDGER_PORT
http_bind_address = 127.0.0.1
postgres_uri = $pg/ledger
redis_host = 127.0.0.1
redis_port = $E2E_REDIS_PORT
jwt_secret = $E2E_JWT_SECRET
fill_receiver_host = 127.0.0.1
fill_receiver_port = $E2E_FILLS_PORT
${FBG_E2E_LEDGER_EXTRA_CONF:-}
CONF
        ;;
      fill_receiver)
        cat <<CONF
http_bind_address = 127.0.0.1
http_port = $E2E_FILLS_PORT
postgres_uri = $pg/fills
redis_host = 127.0.0.1
redis_port = $E2E_REDIS_PORT
fix_settings_file = $FBG_ROOT/fix_config/fill_receiver.cfg
fix_config_dir = $FBG_ROOT/fix_config
run_dir = $E2E_DIR
fix_accept_port = $E2E_FILLS_FIX_PORT
${FBG_E2E_FILLS_EXTRA_CONF:-}
CONF
        ;;
      simulator-*)
        cat <<CONF
profile = $broker
http_bind_address = 127.0.0.1
http_port = $(e2e_sim_admin_port "$broker")
postgres_uri = postgresql://postgres@127.0.0.1:$E2E_BROKER_PG_PORT/$(e2e_db_name broker "$broker")
fix_settings_file = $FBG_ROOT/fix_config/simulator-$broker.cfg
fix_config_dir = $FBG_ROOT/fix_config
run_dir = $E2E_DIR
fix_order_port = $(e2e_sim_fix_port "$broker")
fix_drop_copy_port = $E2E_FILLS_FIX_PORT
default_price = 100.00
price_walk_step_bps = 0
fix_store = $E2E_SIM_FIX_STORE
CONF
        ;;
      gateway-*)
        local status_requests=false
        [[ "$broker" == SIM-A ]] && status_requests=true
        cat <<CONF
broker = $broker
broker_answers_status_requests = $status_requests
http_bind_address = 127.0.0.1
http_port = $(e2e_gateway_port "$broker")
postgres_uri = $pg/$(e2e_db_name gateway "$broker")
redis_host = 127.0.0.1
redis_port = $E2E_REDIS_PORT
fix_settings_file = $FBG_ROOT/fix_config/gateway-$broker.cfg
fix_config_dir = $FBG_ROOT/fix_config
run_dir = $E2E_DIR
fix_connect_port = $(e2e_sim_fix_port "$broker")
ack_timeout_ms = $E2E_GATEWAY_ACK_TIMEOUT_MS
retry_backoff_ms_max = $E2E_GATEWAY_RETRY_BACKOFF_MS_MAX
${FBG_E2E_GATEWAY_EXTRA_CONF:-}
CONF
        ;;
      *) fbg_die "e2e_write_conf: unknown component $name" ;;
    esac
  ) >"$conf"
}

e2e_pid() {
  if [[ "$1" == postgres ]]; then
    fbg_pg_postmaster_pid "$E2E_PG_DATA_DIR"
    return
  fi
  local pid_file="$E2E_DIR/$1.pid"
  [[ "$1" == redis ]] && pid_file="$E2E_REDIS_DIR/redis.pid"
  [[ -f "$pid_file" ]] && cat "$pid_file"
}

# e2e_start NAME: starts one component and waits until it is ready (a simulator also gets its
# faults). A gateway is ready once its FIX session is logged on, so its simulator must run.
e2e_start() {
  local name="$1" binary broker="${1#*-}"
  case "$name" in
    redis)
      fbg_redis_start "$E2E_REDIS_DIR" "$E2E_REDIS_PORT"
      return 0
      ;;
    postgres) # after a kill -9: crash recovery, then it accepts connections
      fbg_pg_start "$E2E_PG_DATA_DIR" "$E2E_PG_PORT"
      return 0
      ;;
    ledger) binary="$FBG_E2E_LEDGER_BIN" ;;
    fill_receiver) binary="$FBG_E2E_FILLS_BIN" ;;
    simulator-*) binary="$FBG_E2E_SIM_BIN" ;;
    gateway-*) binary="$FBG_E2E_GATEWAY_BIN" ;;
    *) fbg_die "e2e_start: unknown component $name" ;;
  esac
  [[ -f "$E2E_DIR/$name.conf" ]] || e2e_write_conf "$name"
  fbg_start_background "$name" "$E2E_DIR/$name.log" "$E2E_DIR/$name.pid" \
    "$binary" serve --config "$E2E_DIR/$name.conf"
  disown "$(e2e_pid "$name")" 2>/dev/null || true # no "Killed" notice from the shell on kill -9
  case "$name" in
    ledger) fbg_wait_http "http://127.0.0.1:$E2E_LEDGER_PORT/healthz" "$E2E_READY_TIMEOUT_S" ;;
    fill_receiver) fbg_wait_http "http://127.0.0.1:$E2E_FILLS_PORT/healthz" "$E2E_READY_TIMEOUT_S" ;;
    simulator-*)
      local admin
      admin="$(e2e_sim_admin_port "$broker")"
      fbg_wait_http "http://127.0.0.1:$admin/healthz" "$E2E_READY_TIMEOUT_S"
      curl -sf --max-time 10 -X PUT "http://127.0.0.1:$admin/v1/faults" -d "$E2E_SIM_FAULTS" >/dev/null ||
        fbg_die "could not set the faults of $name"
      ;;
    gateway-*) fbg_wait_http "http://127.0.0.1:$(e2e_gateway_port "$broker")/healthz" "$E2E_READY_TIMEOUT_S" ;;
  esac
}

# e2e_stop NAME: SIGTERM, then SIGKILL after E2E_STOP_TIMEOUT_S.
e2e_stop() {
  if [[ "$1" == redis ]]; then
    fbg_redis_stop "$E2E_REDIS_DIR" "$E2E_REDIS_PORT"
  elif [[ "$1" == postgres ]]; then
    fbg_pg_stop "$E2E_PG_DATA_DIR"
  else
    fbg_stop_pidfile "$1" "$E2E_DIR/$1.pid" "$E2E_STOP_TIMEOUT_S"
  fi
}

# e2e_pg_processes: the pids of the system's PostgreSQL server, the postmaster and every child,
# found by their working folder (each chdirs to the data folder; each child is also a session
# of its own, so no process group holds them all). Zombies have none and are not listed.
e2e_pg_processes() {
  local data_dir proc
  data_dir="$(readlink -f "$E2E_PG_DATA_DIR")"
  for proc in /proc/[0-9]*; do
    [[ "$(readlink "$proc/cwd" 2>/dev/null)" != "$data_dir" ]] || echo "${proc#/proc/}"
  done
}

# e2e_kill9 NAME...: SIGKILL to each component's own process, all in one kill, and waits until
# they are gone. For postgres, the postmaster and all its children with them, as a crash of the
# server takes them: what the WAL writer had not written yet (asynchronous commits) is lost.
# Several names at once are a crash of the host they share.
e2e_kill9() {
  local name pid pids=() round
  for name in "$@"; do
    pid="$(e2e_pid "$name")" || fbg_die "e2e_kill9: no pid file for $name"
    fbg_pid_alive "$pid" || fbg_die "e2e_kill9: $name (pid $pid) is not running"
    if [[ "$name" == postgres ]]; then
      mapfile -t -O "${#pids[@]}" pids < <(e2e_pg_processes)
      # Found by working folder: a lookup that missed would let the server live on unnoticed.
      [[ " ${pids[*]} " == *" $pid "* ]] ||
        fbg_die "e2e_kill9: the postmaster (pid $pid) is not among the processes in $E2E_PG_DATA_DIR"
    else
      pids+=("$pid")
    fi
  done
  fbg_log "kill -9 $* (pid ${pids[*]})"
  e2e_kill9_pids "$*" "${pids[@]}"
  # A backend the postmaster forked while the list above was read was not in it, and would keep
  # the server's shared memory (the restart refuses to run beside it). Once the postmaster is
  # gone nothing forks, so a second look finds all that is left.
  if [[ " $* " == *" postgres "* ]]; then
    for round in 2 3 4; do
      mapfile -t pids < <(e2e_pg_processes)
      ((${#pids[@]} > 0)) || break
      fbg_log "kill -9 postgres, look $round: pid ${pids[*]}"
      e2e_kill9_pids postgres "${pids[@]}"
    done
  fi
  for name in "$@"; do [[ "$name" != redis ]] || rm -f "$E2E_REDIS_DIR/redis.pid"; done
  return 0
}

# e2e_kill9_pids WHAT PID...: one kill -9 of them all, then waits until each is gone.
e2e_kill9_pids() {
  local what="$1" victim deadline=$((SECONDS + E2E_STOP_TIMEOUT_S))
  shift
  kill -9 "$@" 2>/dev/null || true # one may have ended on its own meanwhile
  for victim in "$@"; do
    while fbg_pid_alive "$victim"; do
      ((SECONDS < deadline)) || fbg_die "$what (pid $victim) survived SIGKILL for ${E2E_STOP_TIMEOUT_S}s"
      sleep 0.05 # polling interval of a bounded wait
    done
  done
}

# Readiness of the whole stack: every gateway's FIX session logged on, the ledger ready.
e2e_wait_ready() {
  local broker
  for broker in "${E2E_BROKERS[@]}"; do
    fbg_wait_http "http://127.0.0.1:$(e2e_gateway_port "$broker")/readyz" "$E2E_READY_TIMEOUT_S"
  done
  fbg_wait_http "http://127.0.0.1:$E2E_LEDGER_PORT/readyz" "$E2E_READY_TIMEOUT_S"
}

e2e_stack_start_all() {
  e2e_start_servers
  e2e_start ledger
  e2e_start fill_receiver
  local broker
  for broker in "${E2E_BROKERS[@]}"; do e2e_start "simulator-$broker"; done
  for broker in "${E2E_BROKERS[@]}"; do e2e_start "gateway-$broker"; done
  e2e_wait_ready
}

# Stops whatever runs, ours first, then Redis and PostgreSQL. Never fails (it runs in traps).
e2e_stack_stop_all() {
  [[ -n "$E2E_DIR" ]] || return 0
  local name
  for name in gateway-SIM-A gateway-SIM-B simulator-SIM-A simulator-SIM-B fill_receiver ledger; do
    (e2e_stop "$name") || true
  done
  (fbg_redis_stop "$E2E_REDIS_DIR" "$E2E_REDIS_PORT") || true
  (fbg_pg_stop "$E2E_PG_DATA_DIR") || true
  [[ "$E2E_BROKER_PG" == shared ]] || (fbg_pg_stop "$E2E_BROKER_PG_DATA_DIR") || true
}

# e2e_stream_backlog: prints the entries read but not acknowledged plus those not yet read, over
# every consumer group of the stack's streams (0 when the consumers have caught up), or -1 when
# Redis did not answer. The entries not yet read are counted in the stream, after the group's
# last-delivered-id: Redis's own `lag` is not used, because replaying the AOF after a kill -9
# moves the group's last id (XCLAIM ... LASTID) without its entries-read counter, so `lag`
# stays too high for good (redis/redis#10569; a 600 s chaos run ended with pending 0, every
# group at the stream's last id, and a lag of 63,200).
e2e_stream_backlog() {
  local stream groups total=0 pending last unread
  # At most 100,000 unread entries are counted per group: enough to tell caught up from not.
  local count_after="return #redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', 100000)"
  for stream in orders:SIM-A orders:SIM-B order-events executions; do
    groups="$(redis-cli -h 127.0.0.1 -p "$E2E_REDIS_PORT" --raw XINFO GROUPS "$stream" 2>&1)" ||
      { echo -1; return 0; }
    [[ "$groups" != *ERR* ]] || { echo -1; return 0; }
    while read -r pending last; do
      unread="$(redis-cli -h 127.0.0.1 -p "$E2E_REDIS_PORT" --raw EVAL "$count_after" 1 \
        "$stream" "($last" 2>&1)"
      [[ "$pending" =~ ^[0-9]+$ && "$unread" =~ ^[0-9]+$ ]] || { echo -1; return 0; }
      total=$((total + pending + unread))
    done < <(awk 'prev == "pending" { p = $0 } prev == "last-delivered-id" { print p, $0 }
                  { prev = $0 }' <<<"$groups")
  done
  echo "$total"
}

# e2e_diagnose: what a failed run leaves for the reader of a CI log (its folder is gone there):
# each stream and consumer group, the relays' and appliers' counters, the rows not yet published
# and the executions cursor, and the last lines of each process's log. Read-only, best effort.
e2e_diagnose() {
  local stream name port
  echo "---- diagnosis: streams (redis 127.0.0.1:$E2E_REDIS_PORT)"
  for stream in orders:SIM-A orders:SIM-B order-events executions; do
    echo "$stream: $(redis-cli -h 127.0.0.1 -p "$E2E_REDIS_PORT" --raw XINFO STREAM "$stream" 2>&1 |
      awk 'NR % 2 == 1 { k = $0; next } k ~ /^(length|last-generated-id|entries-added)$/ { printf "%s=%s ", k, $0 }')"
    redis-cli -h 127.0.0.1 -p "$E2E_REDIS_PORT" --raw XINFO GROUPS "$stream" 2>&1 |
      awk 'NR % 2 == 1 { k = $0; next } { printf "%s=%s ", k, $0 } k == "lag" { print "" }' |
      sed 's/^/  group: /'
  done
  echo "---- diagnosis: counters"
  for name in ledger:$E2E_LEDGER_PORT fill_receiver:$E2E_FILLS_PORT \
    gateway-SIM-A:$E2E_GATEWAY_A_PORT gateway-SIM-B:$E2E_GATEWAY_B_PORT; do
    port="${name##*:}"
    curl -s --max-time 5 "http://127.0.0.1:$port/metrics" 2>&1 |
      grep -E '^[a-z_]*(relay|outbox|stream|unknown|invalid|alarm|polled|swept|sweep|applied|duplicate|lock_total|backlog)[a-z_]*(\{[^}]*\})? ' |
      sed "s/^/  ${name%%:*} /"
  done
  echo "---- diagnosis: rows"
  "$FBG_PG_BIN/psql" -h 127.0.0.1 -p "$E2E_PG_PORT" -U postgres -d fills -tAq -c \
    "SELECT 'fills: max seq ' || coalesce(max(seq), 0) || ', unpublished ' || count(*) FILTER (WHERE published_at IS NULL) || ' from seq ' || coalesce(min(seq) FILTER (WHERE published_at IS NULL), 0) FROM executions" 2>&1
  "$FBG_PG_BIN/psql" -h 127.0.0.1 -p "$E2E_PG_PORT" -U postgres -d ledger -tAq -c \
    "SELECT 'ledger: executions cursor ' || position FROM consumer_cursors WHERE name = 'executions'" 2>&1
  for name in ledger fill_receiver gateway-SIM-A gateway-SIM-B simulator-SIM-A simulator-SIM-B; do
    echo "---- diagnosis: last lines of $name.log"
    tail -n 15 "$E2E_DIR/$name.log" 2>&1 | cut -c1-300
  done
}
