# shellcheck shell=bash
# Helpers shared by the bench/*.sh scripts: CPU accounting from /proc, the machine
# description and the generated sections of docs/performance.md. Source it after
# scripts/lib/stack.sh; it defines functions and two constants only.

BENCH_CLK_TCK="$(getconf CLK_TCK)"
BENCH_NCPU="$(nproc)"

# bench_usage SCRIPT EXIT_STATUS: prints the header comment of SCRIPT and exits.
bench_usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$1" >&2
  exit "$2"
}

# bench_machine_busy_pct SECONDS: the share of all cores that was busy over SECONDS.
bench_machine_busy_pct() {
  local seconds="$1" _ user nice system idle iowait irq softirq steal rest
  read -r _ user nice system idle iowait irq softirq steal rest </proc/stat
  local total1=$((user + nice + system + idle + iowait + irq + softirq + steal)) idle1=$((idle + iowait))
  sleep "$seconds"
  read -r _ user nice system idle iowait irq softirq steal rest </proc/stat
  local total2=$((user + nice + system + idle + iowait + irq + softirq + steal)) idle2=$((idle + iowait))
  echo $((100 - 100 * (idle2 - idle1) / (total2 - total1)))
}

# bench_cpu_snapshot PG_DATA_DIR PID...: prints "total busy iowait postgres pid1 pid2 ...", all in
# ticks. PostgreSQL counts the postmaster with its reaped children (cutime, cstime) plus its live
# children; each PID counts alone (an empty or dead PID counts 0). One pass over /proc with shell
# builtins only: forking per process would stretch the snapshot over seconds on a loaded machine
# and skew it against the /proc/stat reading.
bench_cpu_snapshot() {
  local data_dir="$1" postmaster=""
  shift
  local pids=("$@") ticks=() i
  for i in "${!pids[@]}"; do ticks[i]=0; done
  [[ -f "$data_dir/postmaster.pid" ]] && read -r postmaster <"$data_dir/postmaster.pid"
  local _ user nice system idle iowait irq softirq steal rest
  read -r _ user nice system idle iowait irq softirq steal rest </proc/stat
  local total=$((user + nice + system + idle + iowait + irq + softirq + steal))
  local pg=0 file line pid fields
  for file in /proc/[0-9]*/stat; do
    { read -r line <"$file"; } 2>/dev/null || continue # it may have exited meanwhile
    pid="${line%% *}"
    read -ra fields <<<"${line##*) }" # fields[0] is field 3 (state): field n is fields[n-3]
    if [[ "$pid" == "$postmaster" ]]; then
      pg=$((pg + fields[11] + fields[12] + fields[13] + fields[14]))
    elif [[ -n "$postmaster" && "${fields[1]}" == "$postmaster" ]]; then
      pg=$((pg + fields[11] + fields[12]))
    else
      for i in "${!pids[@]}"; do
        [[ "$pid" == "${pids[i]}" ]] && ticks[i]=$((fields[11] + fields[12]))
      done
    fi
  done
  echo "$total $((total - idle - iowait)) $iowait $pg ${ticks[*]}"
}

# bench_cpu_json OUT_PREFIX NAME...: the CPU split between the snapshots OUT_PREFIX.cpu-start and
# OUT_PREFIX.cpu-end (bench_cpu_snapshot lines, one NAME per PID) as JSON, in percent of one
# core per group: postgres, each NAME, and other (the kernel on behalf of all, and unrelated
# processes). null if a snapshot is missing.
bench_cpu_json() {
  local out="$1"
  shift
  [[ -s "$out.cpu-start" && -s "$out.cpu-end" ]] || {
    echo null
    return 0
  }
  # A group whose count went down (a process that died in the window) is null: unknown.
  paste -d ' ' "$out.cpu-start" "$out.cpu-end" |
    awk -v ncpu="$BENCH_NCPU" -v tck="$BENCH_CLK_TCK" -v names="postgres $*" '
  function pct(ticks) { return ticks < 0 ? "null" : sprintf("%.1f", 100 * ticks / per_core) }
  {
    groups = split(names, name, " ")
    width = 3 + groups                     # columns of one snapshot
    total = $(width + 1) - $1
    if (total <= 0) { print "null"; exit }
    per_core = total / ncpu                # ticks one core had in the window
    busy = $(width + 2) - $2
    printf "{\"window_s\": %.1f, \"cores\": %d, \"machine_busy_pct\": %.1f, \"iowait_pct\": %.1f, ", \
      per_core / tck, ncpu, 100 * busy / total, 100 * ($(width + 3) - $3) / total
    other = busy; unknown = 0
    for (g = 1; g <= groups; g++) {
      used = $(width + 3 + g) - $(3 + g)
      printf "\"%s_core_pct\": %s, ", name[g], pct(used)
      if (used < 0) unknown = 1
      other -= used
    }
    printf "\"other_core_pct\": %s}\n", unknown ? "null" : pct(other)
  }'
}

# bench_psql_value PORT SQL: one value from the postgres database of the throwaway server.
bench_psql_value() {
  "$FBG_PG_BIN/psql" -h 127.0.0.1 -p "$1" -U postgres -d postgres -tAq -c "$2"
}

# bench_machine_json PG_DATA_DIR PG_PORT RUN_DATE BUSY_BEFORE_PCT EXTRA_JSON: what the numbers
# were measured on. EXTRA_JSON (an object, e.g. {"redis_version": "7.0.15"}) goes before
# busy_before_run_pct.
bench_machine_json() {
  local data_dir="$1" port="$2" run_date="$3" busy_before="$4" extra="$5"
  local cpu_model mem_kib commit dirty fs
  cpu_model="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
  mem_kib="$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
  commit="$(git -C "$FBG_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  dirty=false
  [[ -n "$(git -C "$FBG_ROOT" status --porcelain 2>/dev/null)" ]] && dirty=true
  fs="$(df -T "$data_dir" | awk 'NR == 2 { print $2 " on " $1 }')"
  jq -n --arg cpu_model "${cpu_model:-unknown}" --argjson cores "$BENCH_NCPU" \
    --argjson mem_gib "$(awk -v k="$mem_kib" 'BEGIN { printf "%.1f", k / 1048576 }')" \
    --arg kernel "$(uname -sr)" --arg pg_version "$(bench_psql_value "$port" 'show server_version')" \
    --arg sync_commit "$(bench_psql_value "$port" 'show synchronous_commit')" \
    --arg fsync "$(bench_psql_value "$port" 'show fsync')" \
    --arg shared_buffers "$(bench_psql_value "$port" 'show shared_buffers')" --arg fs "$fs" \
    --arg commit "$commit" --argjson dirty "$dirty" --arg date "$run_date" \
    --argjson busy_before "$busy_before" --argjson extra "$extra" \
    '{date: $date, commit: $commit, working_tree_dirty: $dirty, cpu_model: $cpu_model, cores: $cores,
      memory_gib: $mem_gib, kernel: $kernel, storage: $fs, postgresql_version: $pg_version,
      synchronous_commit: $sync_commit, fsync: $fsync, shared_buffers: $shared_buffers}
     + $extra + {busy_before_run_pct: $busy_before}'
}

# bench_replace_section DOC_FILE NAME SECTION_FILE: puts SECTION_FILE (which starts with
# <!-- NAME:begin --> and ends with <!-- NAME:end -->) in place of the lines between those
# markers in DOC_FILE, or appends it if DOC_FILE has no such markers.
bench_replace_section() {
  local doc="$1" name="$2" section="$3"
  local begin="<!-- $name:begin -->" end="<!-- $name:end -->"
  if grep -qxF "$begin" "$doc" && grep -qxF "$end" "$doc"; then
    awk -v section="$section" -v begin="$begin" -v end="$end" '
      $0 == begin { while ((getline line < section) > 0) print line; skipping = 1; next }
      $0 == end { skipping = 0; next }
      !skipping { print }
    ' "$doc" >"$section.doc"
    cat "$section.doc" >"$doc"
    rm -f "$section.doc"
  else
    cat "$section" >>"$doc"
  fi
}

# bench_processes_snapshot: "pid ppid comm ticks" per live process (spaces in comm become '_'),
# to name what else kept the machine busy (bench_others_json reads two of them).
bench_processes_snapshot() {
  local file line fields comm
  for file in /proc/[0-9]*/stat; do
    { read -r line <"$file"; } 2>/dev/null || continue
    read -ra fields <<<"${line##*) }"
    comm="${line#*(}"
    comm="${comm%)*}"
    echo "${line%% *} ${fields[1]} ${comm// /_} $((fields[11] + fields[12]))"
  done
}

# bench_others_json START_FILE END_FILE WINDOW_S PG_DATA_DIR PID...: the CPU of the processes
# other than PIDs, the PostgreSQL of PG_DATA_DIR (children of its postmaster) and the calling
# script, between two bench_processes_snapshot files, in % of one core: their total and the
# busiest six by name (those alive at the end; one started in the window counts from 0, one that
# ended in it is missed). null if a file is missing.
bench_others_json() {
  local start="$1" end="$2" window_s="$3" data_dir="$4" postmaster=""
  shift 4
  [[ -s "$start" && -s "$end" && "$window_s" != null ]] || {
    echo null
    return 0
  }
  [[ -f "$data_dir/postmaster.pid" ]] && read -r postmaster <"$data_dir/postmaster.pid"
  awk -v tck="$BENCH_CLK_TCK" -v window="$window_s" -v ours="$* $postmaster $$ $BASHPID" '
    BEGIN { n = split(ours, list, " "); for (i = 1; i <= n; i++) if (list[i] != "") mine[list[i]] = 1 }
    FILENAME == ARGV[1] { start[$1] = $4; next }
    { if (($1 in mine) || ($2 in mine)) next
      used = $4 - ($1 in start ? start[$1] : 0)
      if (used > 0) by_name[$3] += used }
    END { for (name in by_name) printf "%s\t%.1f\n", name, 100 * by_name[name] / tck / window }' \
    "$start" "$end" |
    sort -t $'\t' -k2,2nr |
    jq -R -s 'split("\n") | map(select(length > 0) | split("\t") | {name: .[0], core_pct: (.[1] | tonumber)})
              | {core_pct: (map(.core_pct) | add // 0 | . * 10 | round / 10), busiest: .[:6]}'
}

# bench_lock_held_by_ancestor LOCK_FILE: true if a process this one descends from (e.g. a
# `flock LOCK_FILE bench/x.sh` around it) holds a flock on LOCK_FILE (from /proc/locks).
bench_lock_held_by_ancestor() {
  local inode holders=() pid ppid _ id tries
  inode="$(stat -c %i "$1" 2>/dev/null)" || return 1
  mapfile -t holders < <(awk -v inode="$inode" '$2 == "FLOCK" { n = split($6, f, ":"); if (f[n] == inode) print $5 }' /proc/locks)
  ((${#holders[@]} > 0)) || return 1
  pid=$$
  for ((tries = 0; tries < 64 && pid > 1; tries++)); do
    for id in "${holders[@]}"; do [[ "$id" == "$pid" ]] && return 0; done
    ppid=""
    while read -r _ id; do ppid="$id"; done < <(grep '^PPid:' "/proc/$pid/status" 2>/dev/null)
    [[ -n "$ppid" ]] || return 1
    pid="$ppid"
  done
  return 1
}
