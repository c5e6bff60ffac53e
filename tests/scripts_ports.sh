#!/usr/bin/env bash
# scripts/lib/stack.sh draws ports where the tests' portDrawRange() does (the same cases as
# PortDrawRange.KeepsOutOfTheEphemeralRangeWhereverItLies), and fbg_free_port's port is
# reserved: flock(1) from another process finds its lock held.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../scripts/lib/stack.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/stack.sh"
failed=0
expect_range() {
  local got
  got="$(fbg_port_draw_range "$1" "$2")"
  if [[ "$got" != "$3" ]]; then
    printf 'ephemeral %s..%s: drew from "%s", expected "%s"\n' "$1" "$2" "$got" "$3"
    failed=1
  fi
}
expect_range 32768 60999 "20000 31999" # Debian's default
expect_range 25000 60999 "20000 24999" # cut at the range's start
expect_range 1024 60999 "61000 65535"  # nothing below: above it
expect_range 1024 65000 "20000 31999"  # nothing free of it: draw anyway
port=""
fbg_free_port port
if flock -n "$FBG_PORT_LOCK_DIR/$port.lock" true; then
  printf 'port %s is not reserved: another process could lock it\n' "$port"
  failed=1
fi
((failed == 0)) && echo "port ranges and reservation as expected (drew $port)"
exit "$failed"
