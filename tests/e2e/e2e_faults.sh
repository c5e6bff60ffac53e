#!/usr/bin/env bash
# End-to-end test under faults (ctest e2e_faults; issue 8).
#
# Starts the whole stack (scripts/lib/e2e_stack.sh) in a temporary folder on free loopback ports,
# with the simulators' faults on (drop_ack_rate 0.05, duplicate_report_rate 0.1,
# disconnect_every_messages 500, two fill slices, reject_rate 0.02), sets up 8 funded accounts,
# places 2,000 orders from 16 concurrent clients (tests/e2e/e2e_driver.cpp: BUY/SELL, LIMIT/MARKET,
# both brokers, some canceled), waits for quiescence with a deadline, then checks:
#   - FLOW.md's invariants 1-5 through the APIs and the simulators' ground truth (e2e_driver check);
#   - no stream backlog (every consumer group caught up);
#   - `ledger_service reconcile` exits 0;
#   - no process of the stack died on its own.
# Binaries come from the environment (FBG_E2E_*_BIN, set by tests/e2e/CMakeLists.txt).
# Everything started here is stopped on exit, on failure too; the folder is kept on failure (or
# with FBG_E2E_KEEP=1).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../../scripts/lib/stack.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/stack.sh"
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib/e2e_stack.sh
source "$FBG_ROOT/scripts/lib/e2e_stack.sh"

ORDERS="${FBG_E2E_ORDERS:-2000}" # the override is for trying the script out
CLIENTS=16
ACCOUNTS=8
QUIESCENCE_DEADLINE_S=150
BACKLOG_DEADLINE_S=30

[[ -x "${FBG_E2E_DRIVER_BIN:-}" ]] || fbg_die "FBG_E2E_DRIVER_BIN must name the built e2e_driver"

WORK_DIR=""
cleanup() {
  local status=$?
  set +e
  trap - EXIT INT TERM
  e2e_stack_stop_all
  if [[ -n "$WORK_DIR" && -d "$WORK_DIR" ]]; then
    if ((status == 0)) && [[ -z "${FBG_E2E_KEEP:-}" ]]; then
      rm -rf "$WORK_DIR"
    else
      fbg_log "exit $status; logs kept in $WORK_DIR"
    fi
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

WORK_DIR="$(mktemp -d /tmp/fbg-e2e-faults.XXXXXX)"
chmod 755 "$WORK_DIR" # PostgreSQL runs as its own user when we are root
started_at=$SECONDS
e2e_stack_init "$WORK_DIR"
e2e_stack_start_all
fbg_log "stack up in $((SECONDS - started_at))s; faults: $E2E_SIM_FAULTS"

driver_args=(--ledger-port "$E2E_LEDGER_PORT" --jwt-secret "$E2E_JWT_SECRET" --accounts "$ACCOUNTS")
"$FBG_E2E_DRIVER_BIN" setup "${driver_args[@]}"
load_started=$SECONDS
"$FBG_E2E_DRIVER_BIN" load "${driver_args[@]}" --orders "$ORDERS" --clients "$CLIENTS" \
  --out "$WORK_DIR/orders.tsv"
load_s=$((SECONDS - load_started))

check_status=0
"$FBG_E2E_DRIVER_BIN" check "${driver_args[@]}" --in "$WORK_DIR/orders.tsv" \
  --fills-port "$E2E_FILLS_PORT" --sim "SIM-A=$E2E_SIM_A_ADMIN_PORT" \
  --sim "SIM-B=$E2E_SIM_B_ADMIN_PORT" --gateway "SIM-A=$E2E_GATEWAY_A_PORT" \
  --gateway "SIM-B=$E2E_GATEWAY_B_PORT" --deadline-s "$QUIESCENCE_DEADLINE_S" || check_status=$?

failures=()
((check_status == 0)) || failures+=("e2e_driver check exited $check_status (see VIOLATION lines above)")

backlog="$(e2e_stream_backlog)"
deadline=$((SECONDS + BACKLOG_DEADLINE_S))
while ((backlog != 0 && SECONDS < deadline)); do
  sleep 0.5 # polling interval of a bounded wait
  backlog="$(e2e_stream_backlog)"
done
((backlog == 0)) || failures+=("stream backlog still $backlog entries after ${BACKLOG_DEADLINE_S}s")

reconcile_status=0
"$FBG_E2E_LEDGER_BIN" reconcile --config "$WORK_DIR/ledger.conf" || reconcile_status=$?
((reconcile_status == 0)) || failures+=("ledger_service reconcile exited $reconcile_status")

for name in "${E2E_COMPONENTS[@]}"; do
  fbg_pid_alive "$(e2e_pid "$name" || true)" || failures+=("$name is not running any more (see $WORK_DIR/$name.log)")
done

printf '\n%-52s %10s\n' "e2e_faults" "result"
printf '%-52s %10s\n' "load seconds ($ORDERS orders, $CLIENTS clients)" "$load_s"
printf '%-52s %10s\n' "invariant check (e2e_driver check exit)" "$check_status"
printf '%-52s %10s\n' "stream backlog" "$backlog"
printf '%-52s %10s\n' "ledger_service reconcile exit" "$reconcile_status"
printf '%-52s %10s\n' "total seconds" "$((SECONDS - started_at))"
if ((${#failures[@]} > 0)); then
  e2e_diagnose
  printf 'FAIL: %s\n' "${failures[@]}" >&2
  exit 1
fi
echo "PASS"
