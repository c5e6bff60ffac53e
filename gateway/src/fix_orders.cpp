#include "fix_orders.h"

#include <charconv>
#include <chrono>

#include "common/time_text.h"

namespace fbg::gateway {
namespace {

// FIX tags written or read here.
enum Tag : int {
  kAvgPx = 6,
  kClOrdId = 11,
  kCumQty = 14,
  kOrderId = 37,
  kOrderQty = 38,
  kOrdStatus = 39,
  kOrdType = 40,
  kOrigClOrdId = 41,
  kPrice = 44,
  kSide = 54,
  kSymbol = 55,
  kText = 58,
  kTimeInForce = 59,
  kTransactTime = 60,
  kPossResend = 97,
  kOrdRejReason = 103,
  kExecType = 150,
};

const char* sideCode(Side side) {
  return side == Side::Buy ? "1" : "2";
}

const char* timeInForceCode(TimeInForce tif) {
  switch (tif) {
    case TimeInForce::Day:
      return "0";
    case TimeInForce::GoodTillCancel:
      return "1";
    case TimeInForce::ImmediateOrCancel:
      return "3";
  }
  return "0";
}

bool parseInteger(const std::string* text, int64_t& out) {
  if (text == nullptr) return false;
  // Quantities may come as "10" or "10.0000"; the whole part must carry the value.
  const char* begin = text->data();
  const char* end = begin + text->size();
  const auto [stop, failure] = std::from_chars(begin, end, out);
  if (failure != std::errc()) return false;
  if (stop == end) return true;
  return *stop == '.' && std::string_view(stop + 1, end - stop - 1).find_first_not_of('0') ==
                             std::string_view::npos;
}

char singleChar(const std::string* text) {
  return text != nullptr && text->size() == 1 ? (*text)[0] : '\0';
}

}  // namespace

std::string fixTimestampNow() {
  return fixTimestamp(std::chrono::system_clock::now());
}

fix::Message encodeNewOrder(const OrderRecord& order, bool possible_resend) {
  const NewOrderTicket& t = order.ticket;
  fix::Message message;
  message.msg_type = "D";
  if (possible_resend) message.header.push_back({kPossResend, "Y"});
  message.set(kClOrdId, t.order_id);
  message.set(kSymbol, t.symbol);
  message.set(kSide, sideCode(t.side));
  message.set(kTransactTime, fixTimestampNow());
  message.set(kOrderQty, std::to_string(t.quantity));
  message.set(kOrdType, t.type == OrderType::Market ? "1" : "2");
  if (t.limit_price) message.set(kPrice, t.limit_price->toString());
  message.set(kTimeInForce, timeInForceCode(t.time_in_force));
  return message;
}

fix::Message encodeStatusRequest(const OrderRecord& order) {
  fix::Message message;
  message.msg_type = "H";
  if (!order.broker_order_id.empty()) message.set(kOrderId, order.broker_order_id);
  message.set(kClOrdId, order.ticket.order_id);
  message.set(kSymbol, order.ticket.symbol);
  message.set(kSide, sideCode(order.ticket.side));
  return message;
}

fix::Message encodeCancel(const OrderRecord& order, int cancel_request, bool possible_resend) {
  fix::Message message;
  message.msg_type = "F";
  if (possible_resend) message.header.push_back({kPossResend, "Y"});
  message.set(kOrigClOrdId, order.ticket.order_id);
  if (!order.broker_order_id.empty()) message.set(kOrderId, order.broker_order_id);
  message.set(kClOrdId, cancelClOrdId(order.ticket.order_id, cancel_request));
  message.set(kSymbol, order.ticket.symbol);
  message.set(kSide, sideCode(order.ticket.side));
  message.set(kTransactTime, fixTimestampNow());
  message.set(kOrderQty, std::to_string(order.ticket.quantity));
  return message;
}

Result<InboundReply> decodeReply(const fix::Message& message) {
  InboundReply reply;
  reply.cancel_reject = message.msg_type == "9";
  if (!reply.cancel_reject && message.msg_type != "8") return invalidInput("not a reply message");
  const std::string* cl_ord_id = message.find(kClOrdId);
  if (cl_ord_id == nullptr) return invalidInput("reply without ClOrdID");
  reply.cl_ord_id = *cl_ord_id;
  auto ids = parseClOrdId(*cl_ord_id);
  if (!ids) return invalidInput("ClOrdID " + *cl_ord_id + " was not issued by this gateway");
  reply.ids = *ids;
  if (const std::string* id = message.find(kOrderId); id != nullptr && *id != "NONE") {
    reply.broker_order_id = *id;
  }
  const std::string* text = message.find(kText);
  const char ord_status = singleChar(message.find(kOrdStatus));
  if (ord_status == 0) return invalidInput("reply without a valid OrdStatus");
  if (reply.cancel_reject) {
    if (ids->cancel_request == 0) return invalidInput("cancel reject for a non-cancel ClOrdID");
    reply.reject = CancelRejectFacts{ord_status, ids->cancel_request, text ? *text : ""};
    return reply;
  }
  ReportFacts& facts = reply.report;
  facts.exec_type = singleChar(message.find(kExecType));
  facts.ord_status = ord_status;
  facts.cancel_request = ids->cancel_request;
  facts.text = text ? *text : "";
  if (facts.exec_type == 0) return invalidInput("report without a valid ExecType");
  if (!parseInteger(message.find(kCumQty), facts.cum_qty) || facts.cum_qty < 0) {
    return invalidInput("report without a valid CumQty");
  }
  int64_t reason = -1;
  if (parseInteger(message.find(kOrdRejReason), reason)) {
    facts.ord_rej_reason = static_cast<int>(reason);
  }
  return reply;
}

}  // namespace fbg::gateway
