// Fault injection of the broker simulator (API.md "Broker simulator": GET/PUT /v1/faults).
// Pure: JSON in, validated settings out; a PUT changes only the keys it names.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace fbg::simulator {

struct Faults {
  int64_t ack_delay_ms = 0;          // wait before acknowledging a new order
  double drop_ack_rate = 0;          // share of acknowledgements never sent on the order session
  double reject_rate = 0;            // share of new orders rejected
  int64_t fill_delay_ms = 20;        // market tick: one fill slice per open order per tick
  int64_t fill_slices = 1;           // partial fills per order
  double duplicate_report_rate = 0;  // share of drop-copy reports sent twice
  int64_t disconnect_every_messages = 0;  // 0: never
  bool drop_copy_paused = false;
};

// Applies a PUT body onto current: unknown keys, wrong types, rates outside 0..1 and negative
// delays are INVALID_REQUEST and change nothing.
[[nodiscard]] Result<Faults> applyFaults(const Faults& current, const std::string& body);
[[nodiscard]] std::string faultsJson(const Faults& faults);

}  // namespace fbg::simulator
