// How far the broker has got through what this gateway sent it: the gate on reply timeouts.
//
// A FIX session delivers messages in order and a broker answers them in order. So a reply to a
// message sent as the n-th (send_seq n) shows that every message sent before it reached the
// broker and was taken: an order whose last message went out before n and is still unanswered
// lost its answer (or the broker lost the order), and its timeout is real. An order sent after
// n may only be queued behind the broker's backlog or this gateway's own reply queue; retrying
// it then adds a message to the very queue that delays it. Under overload that feedback made
// retries most of the traffic (bench/e2e.sh at 200 orders/s offered: 2498 orders retried of
// 3105). A timeout therefore counts only when
//   - the order's last message went out before the newest one the broker has answered, or
//   - the broker has been silent: nothing received for silence_ms and no reply still waiting
//     in this gateway's queue (a broker that answers nothing looks like a dead one), or
//   - the retry has been held back for hold_ms_max already (a broker that keeps answering old
//     orders but never a new one must still be asked).
//
//   reply handler --noteReceived--> BrokerProgress <--noteApplied-- reply applier
//                                        |
//                                   gate() (sender, each round) -> claim_new / claim_due
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

namespace fbg::gateway {

// What the sender's claim statements take: retries due now are claimed only if
// `last_sent_seq < answered_send_seq`, or `broker_silent`, or they are overdue by hold_ms_max.
struct RetryGate {
  int64_t answered_send_seq = 0;
  bool broker_silent = true;
};

class BrokerProgress {
 public:
  using Clock = std::chrono::steady_clock;

  // silence: no reply for this long (and none queued) is silence; the ack timeout.
  explicit BrokerProgress(std::chrono::milliseconds silence);

  // A reply was queued for the applier at `now`.
  void noteReceived(Clock::time_point now);
  // The applier stored `replies` queued replies; the newest first send they answered is
  // `answered_send_seq` (0: none of them showed one).
  void noteApplied(int replies, int64_t answered_send_seq);
  // The applier dropped `replies` queued replies without storing them (stopping).
  void noteDiscarded(int replies);

  [[nodiscard]] RetryGate gate(Clock::time_point now) const;

 private:
  const std::chrono::milliseconds silence_;
  mutable std::mutex mutex_;
  std::optional<Clock::time_point> last_received_;  // none yet: silent at start
  int64_t queued_ = 0;                              // received, not yet applied
  int64_t answered_send_seq_ = 0;
};

}  // namespace fbg::gateway
