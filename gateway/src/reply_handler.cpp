#include "reply_handler.h"

#include <spdlog/spdlog.h>
#include <chrono>

#include "common/time_text.h"

namespace fbg::gateway {
namespace {

constexpr int kOrigSendingTime = 122;
constexpr int kRefMsgType = 372;

const std::string* headerField(const fix::Message& message, int tag) {
  for (const auto& field : message.header) {
    if (field.tag == tag) return &field.value;
  }
  return nullptr;
}

}  // namespace

ReplyHandler::ReplyHandler(GatewayStore& store, ReplyApplier& applier, int64_t resend_age_ms_max,
                           MetricsRegistry& metrics)
    : store_(store),
      applier_(applier),
      resend_age_ms_max_(resend_age_ms_max),
      invalid_(metrics.counter("gateway_replies_invalid_total",
                               "Replies that could not be understood.")),
      business_rejects_(metrics.counter("gateway_business_rejects_total",
                                        "BusinessMessageRejects (35=j) received.")),
      gap_filled_(metrics.counter("gateway_resend_gap_filled_total",
                                  "Stale application messages gap-filled on a ResendRequest.")),
      replayed_(metrics.counter("gateway_resend_replayed_total",
                                "Application messages replayed (PossDupFlag=Y) on a "
                                "ResendRequest.")) {}

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
  if (!applier_.enqueue(std::move(*reply))) return fix::Delivery::StorageFailed;
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
