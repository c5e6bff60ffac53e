# shellcheck shell=bash
# Shared helpers for scripts/run, scripts/test and scripts/token: dependencies, build, and the
# local PostgreSQL 15 and Redis 7 servers. Source this file; it defines functions and defaults only.

FBG_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
FBG_RUN_DIR="${FBG_RUN_DIR:-$FBG_ROOT/.local/run}"
# Not 5432 and 6379: never collide with a system PostgreSQL or Redis. Below the kernel's
# ephemeral range (32768..60999 on Debian): no outgoing connection takes them while a server is down.
FBG_PG_PORT="${FBG_PG_PORT:-15432}"
FBG_REDIS_PORT="${FBG_REDIS_PORT:-16379}"
FBG_PG_BIN=/usr/lib/postgresql/15/bin
FBG_PG_CTL_TIMEOUT_S=60 # pg_ctl -t: bound of a start (with crash recovery) or a stop
FBG_REDIS_START_TIMEOUT_S=10
FBG_REDIS_STOP_TIMEOUT_S=10

FBG_DEPS=(
  build-essential cmake ninja-build pkg-config git clang-format clang-tidy
  libquickfix-dev libpqxx-dev libhiredis-dev libpoco-dev
  libgtest-dev libgmock-dev libbenchmark-dev librapidcheck-dev
  libspdlog-dev nlohmann-json3-dev libssl-dev libjemalloc-dev
  postgresql postgresql-contrib redis-server curl procps iproute2
)

fbg_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# True if PID names a live process. A zombie counts as gone: on machines whose init does not reap
# orphans, a stopped daemon stays a zombie forever and `kill -0` alone would still succeed. But
# not a zombie whose other threads still run ("Zl"): after kill -9 the main thread can be a
# zombie while the last thread tears the process down (long under ASan), and it is that thread
# that closes the files, a listening port among them (a restart on the same port then failed
# with "Address already in use"; tests/scripts_pid_alive.sh).
fbg_pid_alive() {
  local pid="$1" state
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  state="$(ps -o stat= -p "$pid" 2>/dev/null)" || return 1
  [[ -n "$state" ]] && { [[ "$state" != Z* ]] || [[ "$state" == *l* ]]; }
}
fbg_die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# ---------------------------------------------------------------------------------------------
# Dependencies and build
# ---------------------------------------------------------------------------------------------

# Prints the packages of FBG_DEPS that dpkg does not report as installed, one per line.
fbg_missing_deps() {
  local installed
  # One dpkg-query call for all packages; unknown names only print to stderr.
  installed="$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${FBG_DEPS[@]}" 2>/dev/null |
    awk '$2 == "installed" { print $1 }')" || true
  local pkg
  for pkg in "${FBG_DEPS[@]}"; do
    grep -qxF "$pkg" <<<"$installed" || echo "$pkg"
  done
}

fbg_install_deps() {
  local missing
  mapfile -t missing < <(fbg_missing_deps)
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  fbg_log "installing missing packages: ${missing[*]}"
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || fbg_die "not root and no sudo; install these packages: ${missing[*]}"
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
}

# fbg_build BUILD_DIR SANITIZE(ON|OFF) BUILD_TYPE
fbg_build() {
  local build_dir="$1" sanitize="$2" build_type="$3"
  case "$sanitize" in ON | OFF) ;; *) fbg_die "fbg_build: SANITIZE must be ON or OFF, got '$sanitize'" ;; esac
  cmake -G Ninja -S "$FBG_ROOT" -B "$build_dir" \
    -DFBG_SANITIZE="$sanitize" -DCMAKE_BUILD_TYPE="$build_type"
  # One job more than cores: compile jobs also wait on the disk (objects, sanitized links).
  cmake --build "$build_dir" -j "$(($(nproc) + 1))"
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL 15
# ---------------------------------------------------------------------------------------------

# PostgreSQL refuses to run as root, so as root every server-side tool runs as user postgres.
fbg_pg_as_owner() {
  if ((EUID == 0)); then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Creates a folder (and a file's parent) owned by the user that runs the server.
fbg_pg_own() {
  if ((EUID == 0)); then
    chown postgres:postgres "$@"
  fi
}

fbg_pg_socket_dir() { echo "$(dirname "$1")/pg-socket"; }
fbg_pg_log_file() { echo "$(dirname "$1")/postgresql.log"; }

fbg_pg_postmaster_pid() {
  local pid_file="$1/postmaster.pid"
  [[ -f "$pid_file" ]] && head -n 1 "$pid_file"
}

fbg_pg_is_running() { fbg_pid_alive "$(fbg_pg_postmaster_pid "$1" || true)"; }

# After a crash the postmaster may remain as an unreaped zombie; PostgreSQL would take its pid for a
# live server and refuse to start. So lock files (the data folder's and the Unix socket's) whose
# process is gone are removed.
fbg_pg_remove_stale_locks() {
  local data_dir="$1" lock_file
  local socket_dir
  socket_dir="$(fbg_pg_socket_dir "$data_dir")"
  for lock_file in "$data_dir/postmaster.pid" "$socket_dir"/.s.PGSQL.*.lock; do
    [[ -f "$lock_file" ]] || continue
    if ! fbg_pid_alive "$(head -n 1 "$lock_file")"; then
      fbg_log "removing stale lock file $lock_file"
      rm -f "$lock_file"
    fi
  done
}

fbg_pg_init() {
  local data_dir="$1"
  mkdir -p "$data_dir"
  chmod 700 "$data_dir"
  fbg_pg_own "$data_dir"
  fbg_pg_as_owner test -w "$data_dir" ||
    fbg_die "PostgreSQL cannot write $data_dir (a parent folder may not be traversable by its user)"
  fbg_log "initdb $data_dir"
  fbg_pg_as_owner "$FBG_PG_BIN/initdb" -D "$data_dir" --auth=trust -U postgres \
    --encoding=UTF8 --no-locale >/dev/null
}

# Rewrites postgresql.auto.conf (ALTER SYSTEM's file, which this stack never uses otherwise).
fbg_pg_configure() {
  local data_dir="$1" port="$2" socket_dir="$3"
  fbg_pg_as_owner tee "$data_dir/postgresql.auto.conf" >/dev/null <<CONF
# Written by scripts/lib/stack.sh on every start.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$socket_dir'
max_connections = 200
shared_buffers = 256MB
synchronous_commit = on
fsync = on
# The hot tables (outbox, broker_orders, executions, accounts) take hundreds of updates a
# second. With the default 60 s naptime, dead index entries pile up for a minute between
# vacuums, and a table created empty keeps the plans made while it was empty (sequential
# scans) until its first ANALYZE. A short naptime and small scale factors keep both bounded.
# Not shorter: every naptime starts a worker process for each database (eight or nine), and at
# 5 s their starts and analyzes were 7.6 % of the machine at 150 orders/s, 2.8 % at 15 s
# (perf, docs/performance.md).
autovacuum_naptime = 15s
autovacuum_vacuum_scale_factor = 0.05
autovacuum_analyze_scale_factor = 0.05
CONF
  # Settings lines for a diagnostic run (e.g. "commit_delay = 1000"); later lines win.
  [[ -z "${FBG_PG_EXTRA_CONF:-}" ]] ||
    printf '%s\n' "$FBG_PG_EXTRA_CONF" | fbg_pg_as_owner tee -a "$data_dir/postgresql.auto.conf" >/dev/null
}

# fbg_pg_start DATA_DIR PORT
fbg_pg_start() {
  local data_dir="$1" port="$2"
  local socket_dir log_file
  socket_dir="$(fbg_pg_socket_dir "$data_dir")"
  log_file="$(fbg_pg_log_file "$data_dir")"
  if fbg_pg_is_running "$data_dir"; then
    fbg_log "PostgreSQL already running in $data_dir"
    return 0
  fi
  [[ -f "$data_dir/PG_VERSION" ]] || fbg_pg_init "$data_dir"
  fbg_pg_remove_stale_locks "$data_dir"
  mkdir -p "$socket_dir"
  touch "$log_file"
  fbg_pg_own "$socket_dir" "$log_file" "$data_dir"
  fbg_pg_configure "$data_dir" "$port" "$socket_dir"
  fbg_log "starting PostgreSQL on 127.0.0.1:$port (log $log_file)"
  fbg_pg_as_owner "$FBG_PG_BIN/pg_ctl" -D "$data_dir" -l "$log_file" \
    -w -t "$FBG_PG_CTL_TIMEOUT_S" start >/dev/null ||
    fbg_die "PostgreSQL did not start; see $log_file"
}

# fbg_pg_stop DATA_DIR  (no error if it is not running)
fbg_pg_stop() {
  local data_dir="$1"
  if ! fbg_pg_is_running "$data_dir"; then
    return 0
  fi
  fbg_log "stopping PostgreSQL in $data_dir"
  fbg_pg_as_owner "$FBG_PG_BIN/pg_ctl" -D "$data_dir" -m fast -w -t "$FBG_PG_CTL_TIMEOUT_S" \
    stop >/dev/null
}

# fbg_pg_createdb PORT NAME  (no error if the database exists)
fbg_pg_createdb() {
  local port="$1" name="$2"
  # The name goes into SQL below, so accept plain identifiers only.
  [[ "$name" =~ ^[a-z_][a-z0-9_]*$ ]] || fbg_die "fbg_pg_createdb: invalid database name '$name'"
  local exists
  exists="$("$FBG_PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAq \
    -c "select 1 from pg_database where datname = '$name'")"
  if [[ "$exists" == 1 ]]; then
    return 0
  fi
  fbg_log "creating database $name"
  "$FBG_PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres "$name"
}

# ---------------------------------------------------------------------------------------------
# Redis 7
# ---------------------------------------------------------------------------------------------

fbg_redis_pings() { [[ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" == PONG ]]; }

fbg_redis_write_config() {
  local dir="$1" port="$2"
  cat >"$dir/redis.conf" <<CONF
# Written by scripts/lib/stack.sh on every start.
bind 127.0.0.1
port $port
dir $dir
appendonly yes
appendfsync everysec
save ""
daemonize yes
pidfile $dir/redis.pid
logfile $dir/redis.log
CONF
}

# fbg_redis_start DIR PORT
fbg_redis_start() {
  local dir="$1" port="$2"
  if fbg_redis_pings "$port"; then
    fbg_log "Redis already answering on port $port"
    return 0
  fi
  mkdir -p "$dir"
  fbg_redis_write_config "$dir" "$port"
  fbg_log "starting Redis on 127.0.0.1:$port (log $dir/redis.log)"
  redis-server "$dir/redis.conf"
  local deadline=$((SECONDS + FBG_REDIS_START_TIMEOUT_S))
  until fbg_redis_pings "$port"; do
    ((SECONDS < deadline)) ||
      fbg_die "Redis did not answer PING on port $port within ${FBG_REDIS_START_TIMEOUT_S}s; see $dir/redis.log"
    sleep 0.1 # polling interval of a bounded wait
  done
}

# fbg_redis_stop DIR PORT  (no error if it is not running)
fbg_redis_stop() {
  local dir="$1" port="$2" pid=""
  [[ -f "$dir/redis.pid" ]] && pid="$(<"$dir/redis.pid")"
  if fbg_redis_pings "$port"; then
    fbg_log "stopping Redis on port $port"
    redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
  elif fbg_pid_alive "$pid"; then
    fbg_log "Redis on port $port does not answer; sending SIGTERM to $pid"
    kill "$pid" 2>/dev/null || true
  else
    return 0
  fi
  local deadline=$((SECONDS + FBG_REDIS_STOP_TIMEOUT_S))
  while fbg_pid_alive "$pid" || fbg_redis_pings "$port"; do
    ((SECONDS < deadline)) || fbg_die "Redis on port $port did not stop within ${FBG_REDIS_STOP_TIMEOUT_S}s"
    sleep 0.1 # polling interval of a bounded wait
  done
}

# ---------------------------------------------------------------------------------------------
# Ports
# ---------------------------------------------------------------------------------------------

# The folder of port reservations, shared with the tests' freeLoopbackPort() (tests/support).
FBG_PORT_LOCK_DIR="${FBG_PORT_LOCK_DIR:-/tmp/fbg-ports}"
export FBG_PORT_LOCK_DIR
FBG_PORT_FIRST=20000
FBG_PORT_LAST_MAX=31999 # below Linux's default ephemeral range (32768..60999)
FBG_PORT_COUNT_MIN=1000
FBG_PORT_DRAW_COUNT_MAX=500

# fbg_port_draw_range EPHEMERAL_FIRST EPHEMERAL_LAST: prints "FIRST LAST", where fbg_free_port
# draws given the kernel's ephemeral range (as portDrawRange() in tests/support/ports.h):
# 20000..31999 below the ephemeral range, cut at its start; if that leaves fewer than 1000 ports,
# the ports above it; if neither has 1000 (a kernel that hands out nearly every port),
# 20000..31999 anyway, with the race the ranges avoid.
fbg_port_draw_range() {
  local ephemeral_first="$1" ephemeral_last="$2" last
  last=$((ephemeral_first - 1 < FBG_PORT_LAST_MAX ? ephemeral_first - 1 : FBG_PORT_LAST_MAX))
  if ((last - FBG_PORT_FIRST + 1 >= FBG_PORT_COUNT_MIN)); then
    echo "$FBG_PORT_FIRST $last"
  elif ((65535 - ephemeral_last >= FBG_PORT_COUNT_MIN)); then
    echo "$((ephemeral_last + 1)) 65535"
  else
    echo "$FBG_PORT_FIRST $FBG_PORT_LAST_MAX"
  fi
}

# fbg_free_port VAR: sets VAR to a TCP port no socket uses and reserves it. Two things could take
# the port between now and the bind of the process started later, and each is ruled out:
# - an outgoing connection choosing it as its local port: ports come from outside the kernel's
#   ephemeral range (fbg_port_draw_range). A bench run and a CI run each lost a port that way
#   while they were drawn from inside it.
# - a parallel test or script drawing the same port: the port is reserved by an flock on
#   $FBG_PORT_LOCK_DIR/PORT.lock, which freeLoopbackPort() honours too. The lock's descriptor
#   stays open in this shell (and the processes it starts) until they exit.
# Any socket state counts as used: a connection's local port makes a later bind to 0.0.0.0 fail,
# and QuickFIX's acceptor binds 0.0.0.0. Not to be run in $(...): the lock would die with it.
# VAR must not be one of the function's own locals (draw_first, draw_last, candidate, ...).
fbg_free_port() {
  local ephemeral_first=32768 ephemeral_last=60999 draw_first draw_last candidate tries lock_fd
  read -r ephemeral_first ephemeral_last </proc/sys/net/ipv4/ip_local_port_range || true
  read -r draw_first draw_last < <(fbg_port_draw_range "$ephemeral_first" "$ephemeral_last")
  mkdir -p "$FBG_PORT_LOCK_DIR" && chmod 1777 "$FBG_PORT_LOCK_DIR" 2>/dev/null
  for ((tries = 0; tries < FBG_PORT_DRAW_COUNT_MAX; tries++)); do
    candidate=$((draw_first + (RANDOM * 32768 + RANDOM) % (draw_last - draw_first + 1)))
    # Opened for reading: flock needs no write access, so another user's lock file serves too.
    [[ -e "$FBG_PORT_LOCK_DIR/$candidate.lock" ]] || : >>"$FBG_PORT_LOCK_DIR/$candidate.lock"
    exec {lock_fd}<"$FBG_PORT_LOCK_DIR/$candidate.lock" ||
      fbg_die "cannot open $FBG_PORT_LOCK_DIR/$candidate.lock"
    if flock -n "$lock_fd" && ! ss -Htan "sport = :$candidate" | grep -q .; then
      printf -v "$1" '%s' "$candidate"
      return 0
    fi
    exec {lock_fd}>&-
  done
  fbg_die "no free port in $FBG_PORT_DRAW_COUNT_MAX draws from $draw_first..$draw_last"
}

# ---------------------------------------------------------------------------------------------
# HTTP and background processes
# ---------------------------------------------------------------------------------------------

# fbg_wait_http URL TIMEOUT_S: polls until the URL answers HTTP 200.
fbg_wait_http() {
  local url="$1" timeout_s="$2" status="none"
  local deadline=$((SECONDS + timeout_s))
  while ((SECONDS < deadline)); do
    status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)"
    [[ "$status" == 200 ]] && return 0
    sleep 0.2 # polling interval of a bounded wait
  done
  fbg_die "$url did not answer HTTP 200 within ${timeout_s}s (last status: ${status:-none})"
}

# fbg_start_background NAME LOG_FILE PID_FILE COMMAND...: starts COMMAND detached with nohup.
fbg_start_background() {
  local name="$1" log_file="$2" pid_file="$3"
  shift 3
  fbg_log "starting $name (log $log_file)"
  nohup "$@" >>"$log_file" 2>&1 </dev/null &
  echo $! >"$pid_file"
}

# fbg_stop_pidfile NAME PID_FILE TIMEOUT_S: SIGTERM, wait up to TIMEOUT_S, then SIGKILL.
fbg_stop_pidfile() {
  local name="$1" pid_file="$2" timeout_s="$3" pid=""
  [[ -f "$pid_file" ]] && pid="$(<"$pid_file")"
  if ! fbg_pid_alive "$pid"; then
    rm -f "$pid_file"
    return 0
  fi
  fbg_log "stopping $name (pid $pid)"
  kill "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + timeout_s))
  while fbg_pid_alive "$pid"; do
    if ((SECONDS >= deadline)); then
      fbg_log "$name did not exit within ${timeout_s}s; sending SIGKILL"
      kill -9 "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1 # polling interval of a bounded wait
  done
  rm -f "$pid_file"
}
