#include "gateway_rows.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "common/time_text.h"

namespace fbg::gateway {
namespace {

// Read by readOrderRow, in this order.
constexpr const char* kOrderColumns =
    "order_id, account_id, symbol, side, order_type, quantity, limit_price::text, "
    "time_in_force, state, attempts, coalesce(broker_order_id, ''), cum_qty, cancel_request, "
    "cancel_state, cancel_attempts, resend_requested, "
    "(extract(epoch FROM received_at) * 1000)::bigint";

std::string rfc3339Now() {
  return rfc3339Timestamp(std::chrono::system_clock::now());
}

std::string sql(const std::string& text) {
  std::string out = text;
  const std::string mark = "{ORDER_COLUMNS}";
  for (auto at = out.find(mark); at != std::string::npos; at = out.find(mark)) {
    out.replace(at, mark.size(), kOrderColumns);
  }
  return out;
}

}  // namespace

OrderRow readOrderRow(const pqxx::row& row) {
  OrderRow out;
  NewOrderTicket& t = out.record.ticket;
  t.order_id = row[0].as<std::string>();
  t.account_id = row[1].as<std::string>();
  t.symbol = row[2].as<std::string>();
  t.side = parseSide(row[3].as<std::string>()).value_or(Side::Buy);
  t.type = parseOrderType(row[4].as<std::string>()).value_or(OrderType::Limit);
  t.quantity = row[5].as<int64_t>();
  if (!row[6].is_null()) {
    auto price = Money::parse(row[6].as<std::string>());
    if (price) t.limit_price = *price;
  }
  t.time_in_force = parseTimeInForce(row[7].as<std::string>()).value_or(TimeInForce::Day);
  out.snapshot.state =
      parseBrokerOrderState(row[8].as<std::string>()).value_or(BrokerOrderState::Received);
  out.attempts = row[9].as<int>();
  out.record.broker_order_id = row[10].as<std::string>();
  out.snapshot.quantity = t.quantity;
  out.snapshot.cum_qty = row[11].as<int64_t>();
  out.snapshot.cancel_request = row[12].as<int>();
  out.snapshot.cancel_state =
      parseCancelState(row[13].as<std::string>()).value_or(CancelState::None);
  out.cancel_attempts = row[14].as<int>();
  out.resend_requested = row[15].as<bool>();
  out.received_at_ms = row[16].as<int64_t>();
  return out;
}

EventRow makeEventRow(const std::string& broker, const OrderRow& order, const Event& event) {
  const std::string kind(toText(event.kind));
  const std::string& order_id = order.record.ticket.order_id;
  std::string event_id = order_id + ":" + kind;
  if (event.cancel_request > 0) event_id += ":" + std::to_string(event.cancel_request);
  nlohmann::json payload = {
      {"event_id", event_id},
      {"kind", kind},
      {"order_id", order_id},
      {"broker", broker},
      {"broker_order_id", order.record.broker_order_id.empty()
                              ? nlohmann::json(nullptr)
                              : nlohmann::json(order.record.broker_order_id)},
      {"cum_qty", order.snapshot.cum_qty},
      {"cancel_request", event.cancel_request},
      {"reason", event.reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(event.reason)},
      {"occurred_at", rfc3339Now()},
  };
  return EventRow{event_id, order_id, kind, payload.dump()};
}

void prepareGatewayStatements(pqxx::connection& c) {
  c.prepare("insert_order",
            "INSERT INTO broker_orders (order_id, broker, account_id, symbol, side, order_type, "
            "quantity, limit_price, time_in_force, state, stream_entry_id) VALUES ($1, $2, $3, "
            "$4, $5, $6, $7, $8::numeric, $9, 'RECEIVED', $10) ON CONFLICT (order_id) DO NOTHING");
  c.prepare("lock_order",
            sql("SELECT {ORDER_COLUMNS} FROM broker_orders WHERE order_id = $1 FOR UPDATE"));
  c.prepare("write_outcome",
            "UPDATE broker_orders SET state = $2, cum_qty = $3, broker_order_id = nullif($4, ''), "
            "cancel_request = $5, cancel_state = $6, resend_requested = $7, "
            "next_attempt_at = CASE WHEN $2 <> 'SENT' THEN NULL WHEN $7 THEN clock_timestamp() "
            "ELSE next_attempt_at END WHERE order_id = $1");
  c.prepare("cancel_due_now",
            "UPDATE broker_orders SET cancel_attempts = 0, "
            "cancel_next_attempt_at = clock_timestamp() WHERE order_id = $1");
  c.prepare("mark_reply",
            "UPDATE broker_orders SET last_reply_at = clock_timestamp() WHERE order_id = $1");
  c.prepare("insert_event",
            "INSERT INTO order_events (event_id, order_id, kind, payload) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (event_id) DO NOTHING");
  c.prepare("insert_refused",
            "INSERT INTO refused_entries (stream_entry_id, fields, reason) VALUES ($1, $2, $3) "
            "ON CONFLICT (stream_entry_id) DO NOTHING");
  c.prepare("claim_unsent",
            sql("SELECT {ORDER_COLUMNS} FROM broker_orders WHERE state = "
                "'RECEIVED' ORDER BY received_seq LIMIT $1 FOR UPDATE SKIP LOCKED"));
  c.prepare("mark_sent",
            "WITH w AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS w(id, wait_ms)), "
            "sent AS (UPDATE broker_orders b SET state = 'SENT', attempts = 1, "
            "first_sent_at = clock_timestamp(), last_sent_at = clock_timestamp(), "
            "next_attempt_at = clock_timestamp() + w.wait_ms * interval '1 millisecond' "
            "FROM w WHERE b.order_id = w.id RETURNING b.order_id) "
            "INSERT INTO send_attempts (order_id, attempt, kind, cl_ord_id) "
            "SELECT order_id, 1, 'NEW', order_id FROM sent");
  c.prepare("count_in_flight", "SELECT count(*) FROM broker_orders WHERE state = 'SENT'");
  c.prepare("claim_due", sql("SELECT {ORDER_COLUMNS} FROM broker_orders WHERE state = 'SENT' "
                             "AND next_attempt_at <= clock_timestamp() ORDER BY next_attempt_at "
                             "LIMIT $1 FOR UPDATE SKIP LOCKED"));
  c.prepare("mark_retry",
            "WITH r AS (UPDATE broker_orders SET attempts = $2, last_sent_at = clock_timestamp(), "
            "resend_requested = false, "
            "next_attempt_at = clock_timestamp() + $3 * interval '1 millisecond' "
            "WHERE order_id = $1 RETURNING order_id) "
            "INSERT INTO send_attempts (order_id, attempt, kind, cl_ord_id) "
            "SELECT order_id, $2, $4, order_id FROM r");
  c.prepare("claim_cancels",
            sql("SELECT {ORDER_COLUMNS} FROM broker_orders WHERE cancel_state IN ('PENDING', "
                "'SENT') AND cancel_next_attempt_at <= clock_timestamp() "
                "ORDER BY cancel_next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED"));
  c.prepare("mark_cancel_sent",
            "WITH r AS (UPDATE broker_orders SET cancel_state = 'SENT', cancel_attempts = $2, "
            "cancel_last_sent_at = clock_timestamp(), "
            "cancel_next_attempt_at = clock_timestamp() + $3 * interval '1 millisecond' "
            "WHERE order_id = $1 RETURNING order_id) "
            "INSERT INTO send_attempts (order_id, attempt, kind, cl_ord_id) "
            "SELECT order_id, $2, $4, $5 FROM r");
  c.prepare("recheck_in_flight",
            "UPDATE broker_orders SET next_attempt_at = clock_timestamp() WHERE state = 'SENT'");
  c.prepare(
      "broker_order_json",
      "SELECT json_build_object('order_id', order_id, 'broker', broker, 'state', state, "
      "'attempts', attempts, 'broker_order_id', broker_order_id, 'cum_qty', cum_qty, "
      "'cancel_state', cancel_state, 'last_sent_at', rfc3339(last_sent_at), "
      "'last_reply_at', rfc3339(last_reply_at))::text FROM broker_orders WHERE order_id = $1");
}

}  // namespace fbg::gateway
