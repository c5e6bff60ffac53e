#include "domain/retry_policy.h"

#include <algorithm>
#include <cassert>

namespace fbg::gateway {

bool isValid(const RetryPolicy& policy) {
  return policy.ack_timeout_ms > 0 && policy.backoff_multiplier >= 1 &&
         policy.backoff_ms_max >= policy.ack_timeout_ms && policy.jitter_percent >= 0 &&
         policy.jitter_percent < 100 && policy.retry_count_max >= 0 &&
         policy.retry_count_max <= 1000;
}

int64_t replyWaitMs(const RetryPolicy& policy, int64_t attempt, double unit_random) {
  assert(isValid(policy));
  assert(attempt >= 1);
  assert(unit_random >= 0.0 && unit_random < 1.0);
  int64_t wait_ms = policy.ack_timeout_ms;
  for (int64_t k = 1; k < attempt && wait_ms < policy.backoff_ms_max; ++k) {
    wait_ms *= policy.backoff_multiplier;  // bounded: stops once past backoff_ms_max
  }
  wait_ms = std::min(wait_ms, policy.backoff_ms_max);
  const double swing = (2.0 * unit_random - 1.0) * static_cast<double>(policy.jitter_percent);
  const int64_t jitter_ms = static_cast<int64_t>(static_cast<double>(wait_ms) * swing / 100.0);
  const int64_t result = wait_ms + jitter_ms;
  assert(result > 0);
  return result;
}

TimeoutAction onTimeout(const RetryPolicy& policy, int64_t attempts_made, const RetryFacts& facts) {
  assert(isValid(policy));
  assert(attempts_made >= 1);
  if (attempts_made > policy.retry_count_max) return TimeoutAction::GiveUp;
  // A status request cannot create an order, so it is the only retry once a cancel is asked
  // for (a broker that refuses it answers with a BusinessMessageReject, which changes nothing).
  if (facts.cancel_in_progress) return TimeoutAction::AskStatus;
  if (facts.broker_said_unknown) return TimeoutAction::ResendOrder;
  return facts.broker_answers_status_requests ? TimeoutAction::AskStatus
                                              : TimeoutAction::ResendOrder;
}

}  // namespace fbg::gateway
