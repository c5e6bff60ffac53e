#include "domain/order_ticket.h"

#include <nlohmann/json.hpp>

#include "common/identifiers.h"

namespace fbg::gateway {
namespace {

using Json = nlohmann::json;

const std::string* field(const StreamEntry& entry, const std::string& name) {
  const auto it = entry.fields.find(name);
  return it == entry.fields.end() ? nullptr : &it->second;
}

std::optional<std::string> text(const Json& payload, const char* name) {
  const auto it = payload.find(name);
  if (it == payload.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

Result<NewOrderTicket> parseNewOrder(const Json& payload, const std::string& order_id,
                                     const std::string& broker) {
  NewOrderTicket ticket;
  ticket.order_id = order_id;
  const auto account = text(payload, "account_id");
  const auto symbol = text(payload, "symbol");
  const auto side = parseSide(text(payload, "side").value_or(""));
  const auto type = parseOrderType(text(payload, "type").value_or(""));
  const auto tif = parseTimeInForce(text(payload, "time_in_force").value_or(""));
  if (!account || !isValidAccountId(*account))
    return invalidInput("payload.account_id is not valid");
  if (!symbol || !isValidSymbol(*symbol)) return invalidInput("payload.symbol is not valid");
  if (!side || !type || !tif)
    return invalidInput("payload side, type or time_in_force is not valid");
  if (text(payload, "broker").value_or("") != broker) {
    return invalidInput("payload.broker is not " + broker);
  }
  const auto quantity = payload.find("quantity");
  if (quantity == payload.end() || !quantity->is_number_integer() ||
      quantity->get<int64_t>() <= 0) {
    return invalidInput("payload.quantity must be a positive integer");
  }
  ticket.account_id = *account;
  ticket.symbol = *symbol;
  ticket.side = *side;
  ticket.type = *type;
  ticket.time_in_force = *tif;
  ticket.quantity = quantity->get<int64_t>();
  const auto price = text(payload, "limit_price");
  if (ticket.type == OrderType::Limit) {
    if (!price) return invalidInput("payload.limit_price is required for a LIMIT order");
    auto parsed = Money::parse(*price);
    if (!parsed || !parsed->isPositive()) return invalidInput("payload.limit_price is not valid");
    ticket.limit_price = *parsed;
  }
  return ticket;
}

Result<CancelTicket> parseCancel(const Json& payload, const std::string& order_id) {
  const auto n = payload.find("cancel_request");
  if (n == payload.end() || !n->is_number_integer() || n->get<int64_t>() < 1 ||
      n->get<int64_t>() > kCancelRequestMax) {
    return invalidInput("payload.cancel_request must be 1.." + std::to_string(kCancelRequestMax));
  }
  return CancelTicket{order_id, static_cast<int>(n->get<int64_t>())};
}

}  // namespace

Result<Ticket> parseTicket(const StreamEntry& entry, const std::string& broker) {
  const std::string* kind = field(entry, "kind");
  const std::string* order_id = field(entry, "order_id");
  const std::string* payload_text = field(entry, "payload");
  if (!kind || !order_id || !payload_text)
    return invalidInput("entry lacks kind, order_id or payload");
  if (!isValidOrderId(*order_id)) return invalidInput("order_id is not valid");
  const Json payload = Json::parse(*payload_text, nullptr, false);
  if (!payload.is_object()) return invalidInput("payload is not a JSON object");
  if (text(payload, "order_id").value_or("") != *order_id) {
    return invalidInput("payload.order_id differs from the entry's");
  }
  Ticket ticket;
  if (*kind == "NEW") {
    auto order = parseNewOrder(payload, *order_id, broker);
    if (!order) return order.error();
    ticket.new_order = std::move(*order);
  } else if (*kind == "CANCEL") {
    auto cancel = parseCancel(payload, *order_id);
    if (!cancel) return cancel.error();
    ticket.cancel = *cancel;
  } else {
    return invalidInput("kind must be NEW or CANCEL");
  }
  return ticket;
}

std::string cancelClOrdId(const std::string& order_id, int cancel_request) {
  return order_id + "-C" + std::to_string(cancel_request);
}

std::optional<ClOrdIdParts> parseClOrdId(const std::string& cl_ord_id) {
  const auto mark = cl_ord_id.rfind("-C");
  if (mark == std::string::npos) {
    if (!isValidOrderId(cl_ord_id)) return std::nullopt;
    return ClOrdIdParts{cl_ord_id, 0};
  }
  const std::string order_id = cl_ord_id.substr(0, mark);
  const std::string digits = cl_ord_id.substr(mark + 2);
  if (!isValidOrderId(order_id) || digits.empty() || digits.size() > 2 || digits[0] == '0' ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return ClOrdIdParts{order_id, std::stoi(digits)};
}

}  // namespace fbg::gateway
