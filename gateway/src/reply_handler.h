// The gateway's side of the order-entry session's callbacks (QuickFIX threads): broker replies
// in, and the resend decision for messages QuickFIX replays from its store.
//
// Nothing here may throw past the engine: every failure becomes a Delivery value. A reply that
// cannot be stored is Delivery::StorageFailed, so the session drops without counting it and the
// broker's resend brings it back.
#pragma once

#include <functional>
#include <string>

#include "common/metrics.h"
#include "fix_engine.h"
#include "gateway_store.h"

namespace fbg::gateway {

class ReplyHandler {
 public:
  ReplyHandler(GatewayStore& store, int64_t resend_age_ms_max, MetricsRegistry& metrics,
               std::function<void()> wake_sender, std::function<void()> wake_relay);

  fix::Delivery onAppMessage(const fix::Message& message);
  // ResendRequest path (possible_duplicate): an application message older than
  // resend_age_ms_max is gap-filled (false); the retry path owns order delivery (FLOW.md).
  bool beforeSend(const fix::Message& message, bool possible_duplicate);

 private:
  fix::Delivery onReply(const fix::Message& message);
  fix::Delivery onBusinessReject(const fix::Message& message);

  GatewayStore& store_;
  int64_t resend_age_ms_max_;
  std::function<void()> wake_sender_;
  std::function<void()> wake_relay_;
  Counter& reports_;
  Counter& unknown_;
  Counter& invalid_;
  Counter& storage_failures_;
  Counter& business_rejects_;
  Counter& gap_filled_;
  Counter& replayed_;
  Histogram& apply_latency_;
};

}  // namespace fbg::gateway
