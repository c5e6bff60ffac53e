#!/usr/bin/env bash
# fbg_pid_alive (scripts/lib/stack.sh) counts a zombie main thread whose process still has a
# running thread as alive: that thread still holds the process's files, here a listening port
# (tests/support/zombie_leader). Once the process has ended, it counts as gone, zombie or not.
# Usage: scripts_pid_alive.sh ZOMBIE_LEADER_BINARY
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../scripts/lib/stack.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/stack.sh"
binary="$1"
work="$(mktemp -d)"
trap 'exec {feed}>&- 2>/dev/null || true; rm -rf "$work"' EXIT
mkfifo "$work/feed"
"$binary" <"$work/feed" >"$work/port" &
pid=$!
exec {feed}>"$work/feed" # its stdin stays open while we hold this end
failed=0
deadline=$((SECONDS + 20))
state=""
until [[ "$state" == Z* && -s "$work/port" ]]; do
  ((SECONDS < deadline)) || fbg_die "pid $pid never became a zombie main thread (state '$state')"
  sleep 0.05 # polling interval of a bounded wait
  state="$(ps -o stat= -p "$pid" 2>/dev/null || true)"
done
port="$(<"$work/port")"
if ! ss -Htln "sport = :$port" | grep -q .; then
  echo "port $port is not listening while the process's thread runs (state $state)"
  failed=1
fi
if ! fbg_pid_alive "$pid"; then
  echo "fbg_pid_alive: pid $pid (state $state, port $port still listening) counted as gone"
  failed=1
fi
exec {feed}>&- # end of file: the thread ends the process
wait "$pid" || true
if fbg_pid_alive "$pid"; then
  echo "fbg_pid_alive: pid $pid counted as alive after it ended"
  failed=1
fi
if ss -Htln "sport = :$port" | grep -q .; then
  echo "port $port still listening after the process ended"
  failed=1
fi
((failed == 0)) && echo "a zombie main thread with a running thread (state $state) counts as alive; gone once ended"
exit "$failed"
