// When an unanswered order or cancel is tried again, and how (FLOW.md section 2). Pure.
//
//   attempt 1 (the first send) -- wait(1) --> attempt 2 -- wait(2) --> ... attempt N+1
//   -- wait(N+1) --> give up (N = retry_count_max)
//   wait(k) = min(ack_timeout_ms * backoff_multiplier^(k-1), backoff_ms_max) +- jitter_percent
//
// Jitter spreads the retries of orders sent together, so a broker coming back is not hit by
// all of them in the same millisecond.
#pragma once

#include <cstdint>

namespace fbg::gateway {

struct RetryPolicy {
  int64_t ack_timeout_ms = 5000;
  int64_t backoff_multiplier = 2;
  int64_t backoff_ms_max = 60000;
  int64_t jitter_percent = 20;
  int64_t retry_count_max = 5;
};

// True when every bound holds (checked once at start; the functions below assert it).
[[nodiscard]] bool isValid(const RetryPolicy& policy);

// How long to wait for a reply after attempt `attempt` (1-based). unit_random in [0, 1) picks
// the jitter; 0.5 means none.
[[nodiscard]] int64_t replyWaitMs(const RetryPolicy& policy, int64_t attempt, double unit_random);

enum class TimeoutAction {
  AskStatus,    // OrderStatusRequest (35=H) by ClOrdID
  ResendOrder,  // the same NewOrderSingle, same ClOrdID, PossResend(97)=Y
  GiveUp,       // report UNCONFIRMED
};

// What the retry path knows of the order besides its attempts.
struct RetryFacts {
  bool broker_answers_status_requests = true;
  // A status answer said the broker does not hold the order.
  bool broker_said_unknown = false;
  // The customer asked to cancel it and the cancel is not settled. The NewOrderSingle is then
  // never sent again: every send of it precedes the cancel's on the session, so the broker's
  // answer to the cancel (canceled, or "no such order") is the final word on it.
  bool cancel_in_progress = false;
};

// The attempt after `attempts_made` unanswered ones.
[[nodiscard]] TimeoutAction onTimeout(const RetryPolicy& policy, int64_t attempts_made,
                                      const RetryFacts& facts);

}  // namespace fbg::gateway
