#include "fix_codec.h"

#include <charconv>
#include <chrono>
#include <ctime>

#include "common/identifiers.h"
#include "common/time_text.h"

namespace fbg::simulator {
namespace {

std::string quantityText(int64_t quantity) {
  return std::to_string(quantity);
}

}  // namespace

std::string fixTimestampNow() {
  return fixTimestamp(std::chrono::system_clock::now());
}

Result<NewOrder> decodeNewOrder(const fix::Message& message) {
  const std::string* cl_ord_id = message.find(11);
  const std::string* symbol = message.find(55);
  const std::string* side = message.find(54);
  const std::string* ord_type = message.find(40);
  const std::string* quantity = message.find(38);
  if (!cl_ord_id || !symbol || !side || !ord_type || !quantity)
    return invalidInput("missing field");
  if (cl_ord_id->empty() || cl_ord_id->size() > kClOrdIdLengthMax)
    return invalidInput("bad ClOrdID");
  NewOrder order;
  order.cl_ord_id = *cl_ord_id;
  order.symbol = *symbol;
  if (*side != "1" && *side != "2") return invalidInput("Side must be 1 or 2");
  order.side = *side == "1" ? Side::Buy : Side::Sell;
  if (*ord_type != "1" && *ord_type != "2") return invalidInput("OrdType must be 1 or 2");
  order.type = *ord_type == "1" ? OrderType::Market : OrderType::Limit;
  const auto [end, failure] =
      std::from_chars(quantity->data(), quantity->data() + quantity->size(), order.quantity);
  if (failure != std::errc() || end != quantity->data() + quantity->size() || order.quantity <= 0) {
    return invalidInput("OrderQty must be a positive whole number");
  }
  if (order.type == OrderType::Limit) {
    const std::string* price = message.find(44);
    if (!price) return invalidInput("Price is required for a limit order");
    auto parsed = Money::parse(*price);
    if (!parsed || !parsed->isPositive()) return invalidInput("Price must be a positive decimal");
    order.limit_price = *parsed;
  }
  return order;
}

fix::Message encodeExecutionReport(const ExecutionReport& report) {
  fix::Message message;
  message.msg_type = "8";
  message.set(37, report.broker_order_id);
  message.set(11, report.cl_ord_id);
  if (!report.orig_cl_ord_id.empty()) message.set(41, report.orig_cl_ord_id);
  message.set(17, report.exec_id);
  message.set(150, std::string(1, fixCode(report.exec_type)));
  message.set(39, std::string(1, fixCode(report.ord_status)));
  if (report.ord_rej_reason >= 0) message.set(103, std::to_string(report.ord_rej_reason));
  message.set(55, report.symbol);
  message.set(54, report.side == Side::Buy ? "1" : "2");
  message.set(38, quantityText(report.order_qty));
  message.set(32, quantityText(report.last_qty));
  message.set(31, report.last_px.toString());
  message.set(14, quantityText(report.cum_qty));
  message.set(151, quantityText(report.leaves_qty));
  message.set(6, report.avg_px.toString());
  message.set(60, fixTimestampNow());
  if (!report.text.empty()) message.set(58, report.text);
  return message;
}

fix::Message encodeCancelReject(const CancelReject& reject) {
  fix::Message message;
  message.msg_type = "9";
  message.set(37, reject.broker_order_id);
  message.set(11, reject.cl_ord_id);
  message.set(41, reject.orig_cl_ord_id);
  message.set(39, std::string(1, fixCode(reject.ord_status)));
  message.set(434, "1");
  if (!reject.text.empty()) message.set(58, reject.text);
  return message;
}

}  // namespace fbg::simulator
