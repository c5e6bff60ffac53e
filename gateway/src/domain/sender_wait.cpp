#include "domain/sender_wait.h"

#include <algorithm>
#include <cassert>

namespace fbg::gateway {

int senderWaitMs(const SenderOutlook& outlook, const SenderWaitLimits& limits) {
  assert(limits.poll_interval_ms > 0);
  assert(limits.idle_wait_ms_max >= limits.poll_interval_ms);
  if (outlook.claimed_any || outlook.received_waiting) return limits.poll_interval_ms;
  if (!outlook.next_deadline_in_ms) return limits.idle_wait_ms_max;
  const int64_t wait_ms = std::clamp<int64_t>(*outlook.next_deadline_in_ms, limits.poll_interval_ms,
                                              limits.idle_wait_ms_max);
  assert(wait_ms >= limits.poll_interval_ms && wait_ms <= limits.idle_wait_ms_max);
  return static_cast<int>(wait_ms);
}

}  // namespace fbg::gateway
