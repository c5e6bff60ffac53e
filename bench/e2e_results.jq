# The results of bench/e2e.sh from the run's parts (jq -n with the --arg/--argjson/--slurpfile
# values that bench/e2e.sh's write_results passes).
def r1: if . == null then null else . * 10 | round / 10 end;
def r2: if . == null then null else . * 100 | round / 100 end;
def r3: if . == null then null else . * 1000 | round / 1000 end;
def median: map(select(. != null)) | sort
  | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
    else (.[length / 2 - 1] + .[length / 2]) / 2 end;

# CPU of each group over the phase's window (phase and drain) in ms per accepted order.
def cpu_per_order(n):
  .cpu as $u | .other_processes as $o
  | if $u == null or n == null or n == 0 then null else
      ($u.window_s * 1000 / n) as $k
      | ($u | to_entries | map(select(.key | endswith("_core_pct")))
         | map({key: (.key | rtrimstr("_core_pct")),
                value: (if .value == null then null else .value / 100 * $k | r2 end)})
         | from_entries) as $g
      | $g + {
          gateways: (if $g.gateway_a == null or $g.gateway_b == null then null else $g.gateway_a + $g.gateway_b | r2 end),
          simulators: (if $g.sim_a == null or $g.sim_b == null then null else $g.sim_a + $g.sim_b | r2 end),
          load: (if .load_cpu_ms == null then null else .load_cpu_ms / n | r2 end),
          unrelated: (if $o == null then null else $o.core_pct / 100 * $k | r2 end),
          kernel_and_unattributed: (if $o == null or $g.other == null then null else $g.other - ($o.core_pct / 100 * $k) | r2 end),
          machine: ($u.machine_busy_pct * $u.cores / 100 * $k | r2)}
      | del(.other) end;

($counts | map({key: .phase, value: (del(.phase))}) | from_entries) as $c
| ($latency | group_by(.phase)
   | map({key: .[0].phase, value: (map({key: .hop, value: del(.phase, .hop, .n)}) | from_entries)})
   | from_entries) as $lat
| ($phases[0] | map(. + {counts: $c[.name], latency_ms: $lat[.name]})
   | map(. + {cpu_ms_per_order: cpu_per_order(.counts.accepted)})) as $ph
# Per offered rate: the median of its undisturbed rounds (of all if every round was disturbed).
| ($rates | map(. as $rate | ($ph | map(select(.rate == $rate))) as $all
   | ($all | map(select(.disturbed | not))) as $quiet
   | (if ($quiet | length) > 0 then $quiet else $all end) as $use
   | ($use | map(.counts.completed_per_s) | median) as $done
   # The customer's view: from the POST's send (the wait before the accept included); results
   # from before the client's columns existed fall back to the accept.
   | ($use | map(.latency_ms.client_total.p99 // .latency_ms.total.p99) | median) as $p99
   | {rate: $rate, rounds: ($all | length), undisturbed_rounds: ($quiet | length),
      completed_per_s: $done, completion_ratio: (if $done == null then null else $done / $rate | r3 end),
      accepted_per_s: ($use | map(.counts.accepted_per_s) | median),
      placed_per_s: ($use | map(.placed_per_s) | median),
      total_p50_ms: ($use | map(.latency_ms.total.p50) | median),
      total_p99_ms: ($use | map(.latency_ms.total.p99) | median), client_total_p99_ms: $p99,
      sustained: ($done != null and $p99 != null and $done >= $completion_min * $rate and $p99 < $target_p99)})) as $by_rate
| ($by_rate | map(select(.sustained)) | map(.rate) | max // 0) as $sustained
| {machine: $machine, reference: $pgbench[0],
   load: {tool: "tests/e2e/e2e_driver load --mix marketable", clients: $clients, accounts: $accounts, connection: $connection,
          brokers: ["SIM-A", "SIM-B"], rates: $rates, phase_s: $phase_s, rounds: $rounds,
          steady_window_skip_s: $steady_skip,
          orders: "LIMIT, half BUY at 101.00, half SELL at 99.00 (the simulators trade at 100.00), 1..50 shares, AAPL or MSFT"},
   simulator_faults: $faults, simulator_disconnects_total: $disconnects,
   simulator_fix_store: $sim_fix_store,
   disturbed_when_other_processes_core_pct_above: $disturbed,
   warmup: $warmup[0], idle: $idle[0], phases: $ph, by_rate: $by_rate,
   memory_at_end: $memory[0],
   plot: {file: $plot, phase: $plot_phase},
   summary: {sustained_orders_per_s: $sustained,
             definition: "the highest offered rate whose completed orders/s (last fill applied in the ledger, steady window) is at least \($completion_min * 100) % of it and whose p99 from the client's POST to the last fill applied (the wait before the accept included) is under \($target_p99) ms",
             max_completed_per_s: ($ph | map(.counts.completed_per_s) | max),
             max_completed_at_rate: ($ph | max_by(.counts.completed_per_s) | .rate)},
   target: {orders_per_s_min: $target_rate, total_p99_ms_below: $target_p99,
            pass: ($sustained >= $target_rate)}}
