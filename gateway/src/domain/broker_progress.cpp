#include "domain/broker_progress.h"

#include <algorithm>
#include <cassert>

namespace fbg::gateway {

BrokerProgress::BrokerProgress(std::chrono::milliseconds silence) : silence_(silence) {
  assert(silence.count() > 0);
}

void BrokerProgress::noteReceived(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  last_received_ = last_received_ ? std::max(*last_received_, now) : now;
  ++queued_;
}

void BrokerProgress::noteApplied(int replies, int64_t answered_send_seq) {
  assert(replies >= 0);
  assert(answered_send_seq >= 0);
  std::lock_guard lock(mutex_);
  queued_ = std::max<int64_t>(0, queued_ - replies);
  answered_send_seq_ = std::max(answered_send_seq_, answered_send_seq);
}

void BrokerProgress::noteDiscarded(int replies) {
  noteApplied(replies, 0);
}

RetryGate BrokerProgress::gate(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  const bool quiet = !last_received_ || now - *last_received_ >= silence_;
  return RetryGate{answered_send_seq_, queued_ == 0 && quiet};
}

}  // namespace fbg::gateway
