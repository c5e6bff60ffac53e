// Rows of the gateway's tables as the store reads and writes them, and its prepared statements.
#pragma once

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "domain/broker_order.h"
#include "fix_orders.h"

namespace fbg::gateway {

struct OrderRow {
  OrderRecord record;
  OrderSnapshot snapshot;
  int attempts = 0;
  int cancel_attempts = 0;
  bool resend_requested = false;
  int64_t received_at_ms = 0;  // wall clock, when the stream entry was recorded
};

// A row of the columns kOrderColumns lists (gateway_rows.cpp).
[[nodiscard]] OrderRow readOrderRow(const pqxx::row& row);

// order_events row. event_id = {order_id}:{kind}[:{cancel_request}]; payload (JSON text):
//   {"event_id","kind","order_id","broker","broker_order_id","cum_qty","cancel_request",
//    "reason","occurred_at"}
struct EventRow {
  std::string event_id;
  std::string order_id;
  std::string kind;
  std::string payload;
};

[[nodiscard]] EventRow makeEventRow(const std::string& broker, const OrderRow& order,
                                    const Event& event);

// JSON text for a statement's parameter. Text from outside (a broker's Text(58), a stream
// entry's fields) may not be UTF-8: invalid bytes become U+FFFD rather than an exception that
// would fail the batch on every retry.
[[nodiscard]] std::string jsonText(const nlohmann::json& value);

void prepareGatewayStatements(pqxx::connection& connection);

}  // namespace fbg::gateway
