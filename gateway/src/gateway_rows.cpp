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

// The retry gate (broker_progress.h) on a due order, its three parameters from $n on: the
// broker answered a message sent after the order's last ($n, answered_send_seq), or it is
// silent ($n+1), or the retry has waited $n+2 ms past its due time already.
std::string retryGate(int n) {
  const auto p = [n](int k) { return "$" + std::to_string(n + k); };
  return "(coalesce(last_sent_seq, 0) < " + p(0) + "::bigint OR " + p(1) +
         "::boolean OR next_attempt_at <= clock_timestamp() - " + p(2) +
         "::bigint * interval '1 millisecond')";
}

void replaceAll(std::string& text, const std::string& mark, const std::string& with) {
  for (auto at = text.find(mark); at != std::string::npos; at = text.find(mark, at + with.size())) {
    text.replace(at, mark.size(), with);
  }
}

std::string sql(const std::string& text) {
  std::string out = text;
  replaceAll(out, "{ORDER_COLUMNS}", kOrderColumns);
  replaceAll(out, "{RETRY_GATE_2}", retryGate(2));
  replaceAll(out, "{RETRY_GATE_5}", retryGate(5));
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
  return EventRow{event_id, order_id, kind, jsonText(payload)};
}

std::string jsonText(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void prepareGatewayStatements(pqxx::connection& c) {
  c.prepare("lock_order",
            sql("SELECT {ORDER_COLUMNS} FROM broker_orders WHERE order_id = $1 FOR UPDATE"));
  c.prepare("write_outcome",
            "UPDATE broker_orders SET state = $2, cum_qty = $3, broker_order_id = nullif($4, ''), "
            "cancel_request = $5, cancel_state = $6, resend_requested = $7, "
            "next_attempt_at = CASE WHEN $2 <> 'SENT' THEN NULL WHEN $7 THEN clock_timestamp() "
            "ELSE next_attempt_at END WHERE order_id = $1");
  // $1: order ids (text[]). No lock, no transaction: write_replies changes the rows only if
  // each one's xmin (the transaction that wrote it last) is still the one read here (column
  // 17), and the batch is read again when another writer came between.
  // Column 18: the order's last send_seq (broker_progress.h), 0 if never sent.
  c.prepare("read_orders", sql("SELECT {ORDER_COLUMNS}, xmin::text, coalesce(last_sent_seq, 0) "
                               "FROM broker_orders WHERE order_id = ANY($1::text[])"));
  // The outcomes of one reply batch, one element per order (its last outcome), in 9 arrays:
  //   order_id, state, cum_qty, broker_order_id ('' = none), cancel_request, cancel_state,
  //   resend_requested, due_now (a reply of the batch asked for a resend), row_xmin (as read);
  // $10: the batch's events, as insert_events takes them.
  // One statement, so one round trip and atomic without BEGIN/COMMIT. All or nothing: it locks
  // the rows (sorted, against deadlocks) and writes rows and events only if every row's xmin
  // is still the one read; a row locked by another writer is waited for and then seen as
  // changed. Returns the rows written: 0 means the caller reads the batch again.
  c.prepare("write_replies",
            "WITH r AS (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], "
            "$5::integer[], $6::text[], $7::boolean[], $8::boolean[], $9::xid[]) AS r(order_id, "
            "state, cum_qty, broker_order_id, cancel_request, cancel_state, resend_requested, "
            "due_now, row_xmin)), "
            "locked AS MATERIALIZED (SELECT order_id, xmin AS row_xmin FROM broker_orders "
            "WHERE order_id = ANY($1::text[]) ORDER BY order_id FOR UPDATE), "
            "unchanged AS (SELECT count(*) = cardinality($1::text[]) AS yes FROM locked l "
            "JOIN r ON r.order_id = l.order_id AND r.row_xmin = l.row_xmin), "
            "written AS (UPDATE broker_orders b SET state = r.state, cum_qty = r.cum_qty, "
            "broker_order_id = nullif(r.broker_order_id, ''), cancel_request = r.cancel_request, "
            "cancel_state = r.cancel_state, resend_requested = r.resend_requested, "
            "next_attempt_at = CASE WHEN r.state <> 'SENT' THEN NULL WHEN r.due_now THEN "
            "clock_timestamp() ELSE b.next_attempt_at END, last_reply_at = clock_timestamp() "
            "FROM r WHERE (SELECT yes FROM unchanged) AND b.order_id = r.order_id RETURNING 1), "
            "events AS (INSERT INTO order_events (event_id, order_id, kind, payload) "
            "SELECT e.event_id, e.order_id, e.kind, e.payload FROM ROWS FROM ("
            "json_to_recordset($10::json) AS (event_id text, order_id text, kind text, "
            "payload text)) WITH ORDINALITY AS e(event_id, order_id, kind, payload, n) "
            "WHERE (SELECT yes FROM unchanged) ORDER BY e.n ON CONFLICT (event_id) DO NOTHING) "
            "SELECT count(*) FROM written");
  // $1: JSON array of EventRow objects {"event_id","order_id","kind","payload"}, inserted in
  // array order (relay_seq follows it).
  // The event relay's round (event_relay.cpp): marks published the relay_seqs of $2 (the
  // previous round's) with their stream entry ids $3, and reads the oldest $1 unpublished rows.
  // One snapshot: the read still sees the rows being marked as unpublished, so it skips them by
  // relay_seq.
  c.prepare("relay_round",
            "WITH marked AS (UPDATE order_events o SET published_at = clock_timestamp(), "
            "stream_entry_id = m.entry_id FROM unnest($2::bigint[], $3::text[]) AS "
            "m(relay_seq, entry_id) WHERE o.relay_seq = m.relay_seq AND o.published_at IS NULL) "
            "SELECT relay_seq, event_id, kind, order_id, payload FROM order_events "
            "WHERE published_at IS NULL AND relay_seq <> ALL($2::bigint[]) "
            "ORDER BY relay_seq LIMIT $1");
  c.prepare("relay_mark",
            "UPDATE order_events o SET published_at = clock_timestamp(), "
            "stream_entry_id = m.entry_id FROM unnest($1::bigint[], $2::text[]) AS "
            "m(relay_seq, entry_id) WHERE o.relay_seq = m.relay_seq AND o.published_at IS NULL");
  c.prepare("insert_events",
            "INSERT INTO order_events (event_id, order_id, kind, payload) "
            "SELECT e.event_id, e.order_id, e.kind, e.payload FROM ROWS FROM ("
            "json_to_recordset($1::json) AS (event_id text, order_id text, kind text, "
            "payload text)) WITH ORDINALITY AS e(event_id, order_id, kind, payload, n) "
            "ORDER BY e.n ON CONFLICT (event_id) DO NOTHING");
  // $1: JSON array of new orders {"order_id","account_id","symbol","side","order_type",
  // "quantity","limit_price" (text or null),"time_in_force","stream_entry_id"}, in stream order
  // (received_seq follows it); an order id already recorded is left as it is.
  c.prepare("insert_orders",
            "INSERT INTO broker_orders (order_id, broker, account_id, symbol, side, order_type, "
            "quantity, limit_price, time_in_force, state, stream_entry_id) "
            "SELECT o.order_id, $2, o.account_id, o.symbol, o.side, o.order_type, o.quantity, "
            "o.limit_price, o.time_in_force, 'RECEIVED', o.stream_entry_id FROM ROWS FROM ("
            "json_to_recordset($1::json) AS (order_id text, account_id text, symbol text, "
            "side text, order_type text, quantity bigint, limit_price numeric, "
            "time_in_force text, stream_entry_id text)) WITH ORDINALITY AS o(order_id, "
            "account_id, symbol, side, order_type, quantity, limit_price, time_in_force, "
            "stream_entry_id, n) ORDER BY o.n ON CONFLICT (order_id) DO NOTHING");
  c.prepare("cancel_due_now",
            "UPDATE broker_orders SET cancel_attempts = 0, "
            "cancel_next_attempt_at = clock_timestamp() WHERE order_id = $1");
  c.prepare("insert_refused",
            "INSERT INTO refused_entries (stream_entry_id, fields, reason) VALUES ($1, $2, $3) "
            "ON CONFLICT (stream_entry_id) DO NOTHING");
  // The sender's claim of new orders, in one statement (one round trip, atomic by itself):
  // orders RECEIVED, oldest first, as many as keep at most $2 orders SENT and at most $1, go to
  // SENT (attempt 1) with a send_attempts row each. $3 (bigint[]): the reply wait of the n-th
  // claimed order, one element per order that may be claimed. Rows: each claimed order
  // (kOrderColumns, then received_seq) in received_seq order, then whether a retry (column 18)
  // or a cancel (column 19) is due, whether orders are RECEIVED (20), and the milliseconds from
  // now to the earliest reply or cancel deadline (21; negative once passed, null when nothing
  // is in flight: the sender's wait, domain/sender_wait.h); when none is claimed, one row of
  // nulls with those four. The four see the table as it was before this statement's claim.
  // $4: the send_seq before the first claimed order's (the n-th gets $4 + n, in send order);
  // $5..$7: the retry gate (retryGate() above).
  c.prepare("claim_new",
            sql("WITH room AS (SELECT least($1::bigint, $2::bigint - count(*)) AS n "
                "FROM broker_orders WHERE state = 'SENT'), "
                "claimed AS MATERIALIZED (SELECT order_id AS claimed_id, received_seq AS seq "
                "FROM broker_orders WHERE state = 'RECEIVED' ORDER BY received_seq "
                "LIMIT (SELECT greatest(n, 0) FROM room) FOR UPDATE SKIP LOCKED), "
                "numbered AS (SELECT claimed_id, seq, row_number() OVER (ORDER BY seq) AS pos "
                "FROM claimed), "
                "sent AS (UPDATE broker_orders b SET state = 'SENT', attempts = 1, "
                "first_sent_at = clock_timestamp(), last_sent_at = clock_timestamp(), "
                "last_sent_seq = $4::bigint + c.pos, "
                "next_attempt_at = clock_timestamp() + w.wait_ms * interval '1 millisecond' "
                "FROM numbered c JOIN unnest($3::bigint[]) WITH ORDINALITY AS w(wait_ms, pos) "
                "ON w.pos = c.pos WHERE b.order_id = c.claimed_id "
                "RETURNING {ORDER_COLUMNS}, c.seq), "
                "attempts AS (INSERT INTO send_attempts (order_id, attempt, kind, cl_ord_id) "
                "SELECT order_id, 1, 'NEW', order_id FROM sent), "
                "due AS (SELECT EXISTS (SELECT FROM broker_orders WHERE state = 'SENT' "
                "AND next_attempt_at <= clock_timestamp() AND {RETRY_GATE_5}) AS retry_due, "
                "EXISTS (SELECT FROM broker_orders WHERE cancel_state IN ('PENDING', 'SENT') "
                "AND cancel_next_attempt_at <= clock_timestamp()) AS cancel_due, "
                "EXISTS (SELECT FROM broker_orders WHERE state = 'RECEIVED') AS received_waiting, "
                "ceil(extract(epoch FROM least("
                "(SELECT min(next_attempt_at) FROM broker_orders WHERE state = 'SENT'), "
                "(SELECT min(cancel_next_attempt_at) FROM broker_orders "
                "WHERE cancel_state IN ('PENDING', 'SENT'))) - clock_timestamp()) * 1000)::bigint "
                "AS next_deadline_ms) "
                "SELECT sent.*, due.retry_due, due.cancel_due, due.received_waiting, "
                "due.next_deadline_ms FROM due LEFT JOIN sent ON true "
                "ORDER BY sent.seq"));
  // $2..$4: the retry gate (retryGate() above).
  c.prepare("claim_due", sql("SELECT {ORDER_COLUMNS} FROM broker_orders WHERE state = 'SENT' "
                             "AND next_attempt_at <= clock_timestamp() AND {RETRY_GATE_2} "
                             "ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED"));
  c.prepare("mark_retry",
            "WITH r AS (UPDATE broker_orders SET attempts = $2, last_sent_at = clock_timestamp(), "
            "last_sent_seq = $5, resend_requested = false, "
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
