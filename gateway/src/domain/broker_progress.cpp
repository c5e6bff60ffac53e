#include "domain/broker_progress.h"

#include <algorithm>
#include <cassert>

namespace fbg::gateway {

BrokerProgress::BrokerProgress(int64_t silence_ms) : silence_ms_(silence_ms) {
  assert(silence_ms > 0);
}

void BrokerProgress::noteReceived(int64_t now_ms) {
  std::lock_guard lock(mutex_);
  last_received_ms_ = std::max(last_received_ms_, now_ms);
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

RetryGate BrokerProgress::gate(int64_t now_ms) const {
  std::lock_guard lock(mutex_);
  return RetryGate{answered_send_seq_, queued_ == 0 && now_ms - last_received_ms_ >= silence_ms_};
}

}  // namespace fbg::gateway
