// The gateway's side of the order-entry session's callbacks (QuickFIX threads): broker replies
// in, and the resend decision for messages QuickFIX replays from its store.
//
// Nothing here may throw past the engine: every failure becomes a Delivery value. Replies are
// queued for reply_applier.h; a reply that cannot be queued (queue full) is
// Delivery::StorageFailed, so the session drops without counting it and the broker resends it.
#pragma once

#include <functional>
#include <string>

#include "common/metrics.h"
#include "fix_engine.h"
#include "gateway_store.h"
#include "reply_applier.h"

namespace fbg::gateway {

class ReplyHandler {
 public:
  ReplyHandler(GatewayStore& store, ReplyApplier& applier, int64_t resend_age_ms_max,
               MetricsRegistry& metrics);

  fix::Delivery onAppMessage(const fix::Message& message);
  // ResendRequest path (possible_duplicate): an application message older than
  // resend_age_ms_max is gap-filled (false); the retry path owns order delivery (FLOW.md).
  bool beforeSend(const fix::Message& message, bool possible_duplicate);

 private:
  fix::Delivery onReply(const fix::Message& message);
  fix::Delivery onBusinessReject(const fix::Message& message);

  GatewayStore& store_;
  ReplyApplier& applier_;
  int64_t resend_age_ms_max_;
  Counter& invalid_;
  Counter& business_rejects_;
  Counter& gap_filled_;
  Counter& replayed_;
};

}  // namespace fbg::gateway
