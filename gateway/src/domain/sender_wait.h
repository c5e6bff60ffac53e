// How long the order sender may sleep after a round before it claims again, unless woken.
//
// The sender is woken for the work it is told about (stream entries recorded, a reply asking
// for a resend, a logon). What nobody announces is time: a reply timeout or a cancel retry
// falling due, or in-flight room freed by replies while orders wait as RECEIVED. The sender
// used to poll for those every poll_interval_ms (50) whatever was in flight: 20 claim
// statements a second per gateway with nothing to do, the largest part of an idle stack's
// PostgreSQL transactions. Now the claim also says when the earliest deadline falls, and the
// sender sleeps until then:
//
//   round claimed something (more may be right behind it)     -> poll_interval_ms
//   orders RECEIVED and not claimed (room full, or locked)    -> poll_interval_ms
//   a deadline passed and the retry gate holds it back        -> poll_interval_ms
//   the earliest deadline is d ms away                        -> d, within [poll, idle max]
//   nothing in flight                                         -> idle_wait_ms_max
//
// idle_wait_ms_max bounds how late anything the sender was not told about gets claimed.
#pragma once

#include <cstdint>
#include <optional>

namespace fbg::gateway {

// What the round's claim saw (claim_new, from the database's view before its own claim).
struct SenderOutlook {
  bool claimed_any = false;       // the round claimed orders, retries or cancels
  bool received_waiting = false;  // orders RECEIVED and not claimed
  // From now to the earliest reply deadline (SENT orders) or cancel deadline; negative when it
  // has passed; nullopt when nothing is in flight.
  std::optional<int64_t> next_deadline_in_ms;
};

struct SenderWaitLimits {
  int poll_interval_ms = 50;
  int idle_wait_ms_max = 1000;  // >= poll_interval_ms
};

// The sender's wait in milliseconds, in [poll_interval_ms, idle_wait_ms_max].
[[nodiscard]] int senderWaitMs(const SenderOutlook& outlook, const SenderWaitLimits& limits);

}  // namespace fbg::gateway
