#include "reply_handler.h"

#include <spdlog/spdlog.h>
#include <chrono>

#include "common/time_text.h"

namespace fbg::gateway {
namespace {

constexpr int kOrigSendingTime = 122;
constexpr int kRefMsgType = 372;

int64_t wallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const std::string* headerField(const fix::Message& message, int tag) {
  for (const auto& field : message.header) {
    if (field.tag == tag) return &field.value;
  }
  return nullptr;
}

}  // namespace

ReplyHandler::ReplyHandler(GatewayStore& store, int64_t resend_age_ms_max, MetricsRegistry& metrics,
                           std::function<void()> wake_sender, std::function<void()> wake_relay)
    : store_(store),
      resend_age_ms_max_(resend_age_ms_max),
      wake_sender_(std::move(wake_sender)),
      wake_relay_(std::move(wake_relay)),
      reports_(metrics.counter("gateway_replies_total",
                               "ExecutionReports and OrderCancelRejects applied.")),
      unknown_(metrics.counter("gateway_replies_unknown_total",
                               "Replies for a ClOrdID this gateway has no order for.")),
      invalid_(metrics.counter("gateway_replies_invalid_total",
                               "Replies that could not be understood.")),
      storage_failures_(metrics.counter("gateway_reply_storage_failures_total",
                                        "Replies not stored (database down): the session drops "
                                        "and the broker resends them.")),
      business_rejects_(metrics.counter("gateway_business_rejects_total",
                                        "BusinessMessageRejects (35=j) received.")),
      gap_filled_(metrics.counter("gateway_resend_gap_filled_total",
                                  "Stale application messages gap-filled on a ResendRequest.")),
      replayed_(metrics.counter("gateway_resend_replayed_total",
                                "Application messages replayed (PossDupFlag=Y) on a "
                                "ResendRequest.")),
      apply_latency_(metrics.histogram("gateway_reply_apply_seconds",
                                       "Time to apply one broker reply in the database.")) {}

fix::Delivery ReplyHandler::onAppMessage(const fix::Message& message) {
  if (message.msg_type == "8" || message.msg_type == "9") return onReply(message);
  if (message.msg_type == "j") return onBusinessReject(message);
  return fix::Delivery::UnsupportedMessageType;
}

fix::Delivery ReplyHandler::onReply(const fix::Message& message) {
  auto reply = decodeReply(message);
  if (!reply) {
    invalid_.add();
    spdlog::warn("broker reply ignored: {}", reply.error().message);
    return fix::Delivery::Accepted;  // counted; nothing of ours to change
  }
  const auto started = std::chrono::steady_clock::now();
  auto applied = store_.applyReply(*reply);
  if (!applied) {
    storage_failures_.add();
    spdlog::error("reply for {} not stored: {}", reply->cl_ord_id, applied.error().message);
    return fix::Delivery::StorageFailed;
  }
  apply_latency_.observeMicros(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - started)
                                   .count());
  if (*applied == ReplyResult::UnknownOrder) {
    unknown_.add();
    spdlog::warn("reply for unknown ClOrdID {}", reply->cl_ord_id);
    return fix::Delivery::Accepted;
  }
  reports_.add();
  wake_relay_();
  wake_sender_();  // a status answer may have asked for a resend
  return fix::Delivery::Accepted;
}

fix::Delivery ReplyHandler::onBusinessReject(const fix::Message& message) {
  business_rejects_.add();
  const std::string* ref_msg_type = message.find(kRefMsgType);
  if (ref_msg_type != nullptr && *ref_msg_type == "H") {
    spdlog::warn("broker refuses OrderStatusRequest: retries resend the order from now on");
    store_.stopAskingStatus();
  }
  return fix::Delivery::Accepted;
}

bool ReplyHandler::beforeSend(const fix::Message& message, bool possible_duplicate) {
  if (!possible_duplicate) return true;
  const std::string* original = headerField(message, kOrigSendingTime);
  const int64_t sent_ms = original ? parseFixTimestampMs(*original) : -1;
  if (sent_ms >= 0 && wallClockMs() - sent_ms <= resend_age_ms_max_) {
    replayed_.add();
    return true;
  }
  gap_filled_.add();
  return false;
}

}  // namespace fbg::gateway
