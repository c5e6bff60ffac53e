#include "domain/broker_event_parse.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/identifiers.h"
#include "common/time_text.h"

namespace fbg::ledger {
namespace {

using Json = nlohmann::json;

const std::string* field(const std::map<std::string, std::string>& fields, const char* name) {
  const auto it = fields.find(name);
  return it == fields.end() ? nullptr : &it->second;
}

int64_t integerOr(const Json& json, const char* name, int64_t fallback) {
  const auto it = json.find(name);
  return it != json.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

std::string textOr(const Json& json, const char* name, const std::string& fallback) {
  const auto it = json.find(name);
  return it != json.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// FIX UTCTimestamp "YYYYMMDD-HH:MM:SS.sss" -> RFC 3339; empty when it is not one.
std::string rfc3339FromFix(const std::string& fix) {
  if (fix.size() < 17 || fix[8] != '-') return "";
  std::string out =
      fix.substr(0, 4) + "-" + fix.substr(4, 2) + "-" + fix.substr(6, 2) + "T" + fix.substr(9, 8);
  if (fix.size() > 17) out += fix.substr(17);
  return out + "Z";
}

Status readFill(const Json& json, IncomingEvent& out) {
  const int64_t last_qty = integerOr(json, "last_qty", -1);
  auto price = Money::parse(textOr(json, "last_px", ""));
  if (last_qty <= 0 || !price || !price->isPositive()) {
    return invalidInput("a trade report needs last_qty > 0 and last_px > 0");
  }
  out.is_fill = true;
  out.event = {BrokerEventKind::Fill, last_qty, *price, -1, ""};
  out.executed_at = rfc3339FromFix(textOr(json, "transact_time", ""));
  if (out.executed_at.empty()) out.executed_at = textOr(json, "received_at", "");
  return Ok{};
}

// ExecType(150) -> event; a status answer (I) counts as an acknowledgement when the broker
// holds the order.
Status readExecType(const Json& json, IncomingEvent& out) {
  const std::string exec_type = out.kind;
  const std::string ord_status = textOr(json, "ord_status", "");
  const int64_t cum_qty = integerOr(json, "cum_qty", -1);
  if (exec_type == "F") return readFill(json, out);
  const bool held_by_broker = ord_status == "0" || ord_status == "1" || ord_status == "2";
  if (exec_type == "0" || (exec_type == "I" && held_by_broker))
    out.event.kind = BrokerEventKind::Acked;
  else if (exec_type == "4")
    out.event = {BrokerEventKind::Canceled, 0, {}, cum_qty, ""};
  else if (exec_type == "C")
    out.event = {BrokerEventKind::Expired, 0, {}, cum_qty, ""};
  else if (exec_type == "8")
    out.event = {BrokerEventKind::Rejected, 0, {}, 0, "rejected by broker"};
  else
    out.relevant = false;
  return Ok{};
}

}  // namespace

Result<IncomingEvent> parseOrderEvent(const std::map<std::string, std::string>& fields) {
  const std::string* event_id = field(fields, "event_id");
  const std::string* kind = field(fields, "kind");
  const std::string* order_id = field(fields, "order_id");
  const std::string* payload_text = field(fields, "payload");
  if (!event_id || event_id->empty() || !kind || !order_id || !payload_text) {
    return invalidInput("order event lacks event_id, kind, order_id or payload");
  }
  const Json payload = Json::parse(*payload_text, nullptr, false);
  if (!payload.is_object()) return invalidInput("order event payload is not a JSON object");
  IncomingEvent out;
  out.dedup_id = *event_id;
  out.order_id = *order_id;
  out.source = "order-events";
  out.kind = *kind;
  const int64_t cum_qty = integerOr(payload, "cum_qty", -1);
  const std::string reason = textOr(payload, "reason", "");
  if (*kind == "ACKED")
    out.event.kind = BrokerEventKind::Acked;
  else if (*kind == "REJECTED")
    out.event = {BrokerEventKind::Rejected, 0, {}, 0, reason};
  else if (*kind == "CANCELED")
    out.event = {BrokerEventKind::Canceled, 0, {}, cum_qty, ""};
  else if (*kind == "CANCEL_REJECTED")
    out.event.kind = BrokerEventKind::CancelRejected;
  else if (*kind == "EXPIRED")
    out.event = {BrokerEventKind::Expired, 0, {}, cum_qty, ""};
  else if (*kind == "UNCONFIRMED")
    out.event.kind = BrokerEventKind::Unconfirmed;
  else
    return invalidInput("unknown order event kind " + *kind);
  return out;
}

Result<IncomingEvent> parseExecution(const std::string& json_text) {
  const Json json = Json::parse(json_text, nullptr, false);
  if (!json.is_object()) return invalidInput("execution is not a JSON object");
  IncomingEvent out;
  out.broker = textOr(json, "broker", "");
  out.exec_id = textOr(json, "exec_id", "");
  out.order_id = textOr(json, "order_id", "");
  out.kind = textOr(json, "exec_type", "");
  out.fill_receiver_seq = integerOr(json, "seq", 0);
  if (!isValidBrokerName(out.broker) || out.exec_id.empty() || out.order_id.empty() ||
      out.kind.size() != 1 || out.fill_receiver_seq <= 0) {
    return invalidInput("execution lacks broker, exec_id, order_id, exec_type or seq");
  }
  out.dedup_id = out.broker + ":" + out.exec_id;
  out.source = "executions";
  out.received_unix_ms = std::max<int64_t>(0, parseRfc3339Ms(textOr(json, "received_at", "")));
  if (auto read = readExecType(json, out); !read) return read.error();
  return out;
}

}  // namespace fbg::ledger
