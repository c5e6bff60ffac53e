#include "gateway_store.h"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <chrono>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>

#include "common/identifiers.h"
#include "common/time_text.h"
#include "gateway_rows.h"

namespace fbg::gateway {
namespace {

nlohmann::json eventJson(const EventRow& row) {
  return {{"event_id", row.event_id},
          {"order_id", row.order_id},
          {"kind", row.kind},
          {"payload", row.payload}};
}

void writeEvents(pqxx::work& work, const std::string& broker, const OrderRow& row,
                 const std::vector<Event>& events) {
  if (events.empty()) return;
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& event : events) rows.push_back(eventJson(makeEventRow(broker, row, event)));
  work.exec_prepared("insert_events", jsonText(rows));
}

void writeOutcome(pqxx::work& work, const OrderRow& before, const Outcome& outcome,
                  const std::string& broker_order_id) {
  const OrderSnapshot& after = outcome.order;
  work.exec_prepared("write_outcome", before.record.ticket.order_id,
                     std::string(toText(after.state)), after.cum_qty, broker_order_id,
                     after.cancel_request, std::string(toText(after.cancel_state)),
                     outcome.resend_now);
}

void refuse(pqxx::work& work, const StreamEntry& entry, const Error& why, const std::string& broker,
            IntakeCounts& counts) {
  ++counts.refused;
  nlohmann::json fields = entry.fields;
  work.exec_prepared("insert_refused", entry.entry_id, jsonText(fields), why.message);
  spdlog::warn("stream entry {} refused: {}", entry.entry_id, why.message);
  // A NEW entry with a usable order id gets an answer, so the ledger releases its reservation.
  const auto kind = entry.fields.find("kind");
  const auto order_id = entry.fields.find("order_id");
  if (kind != entry.fields.end() && kind->second == "NEW" && order_id != entry.fields.end() &&
      isValidOrderId(order_id->second)) {
    OrderRow row;
    row.record.ticket.order_id = order_id->second;
    writeEvents(work, broker, row,
                {Event{EventKind::Rejected, 0, "gateway refused the order: " + why.message}});
  }
}

// One element of insert_orders' array (gateway_rows.cpp).
nlohmann::json newOrderJson(const NewOrderTicket& ticket, const std::string& entry_id) {
  return {{"order_id", ticket.order_id},
          {"account_id", ticket.account_id},
          {"symbol", ticket.symbol},
          {"side", std::string(toText(ticket.side))},
          {"order_type", std::string(toText(ticket.type))},
          {"quantity", ticket.quantity},
          {"limit_price", ticket.limit_price ? nlohmann::json(ticket.limit_price->toString())
                                             : nlohmann::json(nullptr)},
          {"time_in_force", std::string(toText(ticket.time_in_force))},
          {"stream_entry_id", entry_id}};
}

void takeCancel(pqxx::work& work, const StreamEntry& entry, const CancelTicket& cancel,
                const std::string& broker, IntakeCounts& counts) {
  const auto rows = work.exec_prepared("lock_order", cancel.order_id);
  if (rows.empty()) {
    refuse(work, entry,
           makeError(ErrorCode::NotFound, "cancel of an order this gateway never received"), broker,
           counts);
    return;
  }
  const OrderRow row = readOrderRow(rows[0]);
  const Outcome outcome = applyCancelRequest(row.snapshot, cancel.cancel_request);
  writeOutcome(work, row, outcome, row.record.broker_order_id);
  if (outcome.order.cancel_state == CancelState::Pending &&
      outcome.order.cancel_request != row.snapshot.cancel_request) {
    work.exec_prepared("cancel_due_now", cancel.order_id);
  }
  writeEvents(work, broker, row, outcome.events);
  ++counts.cancels;
}

}  // namespace

GatewayStore::GatewayStore(PgPool& pool, PgPool& reply_pool, StoreSettings settings)
    : pool_(pool),
      reply_pool_(reply_pool),
      settings_(std::move(settings)),
      answers_status_requests_(settings_.broker_answers_status_requests) {}

double GatewayStore::unitRandom() {
  return std::uniform_real_distribution<double>(0.0, 1.0)(random_);
}

// The read's orders as insert_orders' JSON, when the read holds new orders only (the usual
// case); nullopt when it holds a cancel or an entry to refuse.
std::optional<nlohmann::json> GatewayStore::newOrdersOnly(
    const std::vector<StreamEntry>& entries) const {
  nlohmann::json new_orders = nlohmann::json::array();
  for (const auto& entry : entries) {
    auto ticket = parseTicket(entry, settings_.broker);
    if (!ticket || !ticket->new_order) return std::nullopt;
    new_orders.push_back(newOrderJson(*ticket->new_order, entry.entry_id));
  }
  return new_orders;
}

void GatewayStore::insertNewOrders(pqxx::transaction_base& tx, const nlohmann::json& new_orders,
                                   IntakeCounts& counts) {
  if (new_orders.empty()) return;
  const auto inserted = tx.exec_prepared("insert_orders", jsonText(new_orders), settings_.broker);
  counts.recorded += static_cast<int>(inserted.affected_rows());
  counts.duplicates += static_cast<int>(new_orders.size() - inserted.affected_rows());
}

Status GatewayStore::recordEntries(const std::vector<StreamEntry>& entries, IntakeCounts& counts) {
  return withConnection<Ok>(pool_, [&](pqxx::connection& connection) -> Status {
    if (const auto only_new = newOrdersOnly(entries)) {
      // One statement, atomic by itself: BEGIN and COMMIT would be two more round trips.
      pqxx::nontransaction statement(connection);
      insertNewOrders(statement, *only_new, counts);
      return Ok{};
    }
    pqxx::work work(connection);
    // New orders go in one statement per run of them; a cancel first writes the orders before
    // it, since it may be for one of them.
    nlohmann::json new_orders = nlohmann::json::array();
    for (const auto& entry : entries) {
      auto ticket = parseTicket(entry, settings_.broker);
      if (!ticket) {
        refuse(work, entry, ticket.error(), settings_.broker, counts);
      } else if (ticket->new_order) {
        new_orders.push_back(newOrderJson(*ticket->new_order, entry.entry_id));
      } else {
        insertNewOrders(work, new_orders, counts);
        new_orders = nlohmann::json::array();
        takeCancel(work, entry, *ticket->cancel, settings_.broker, counts);
      }
    }
    insertNewOrders(work, new_orders, counts);
    work.commit();
    return Ok{};
  });
}

int64_t GatewayStore::reserveSendSeqs(int64_t count) {
  const int64_t wall_us = wallClockUs();
  const int64_t base = std::max(last_send_seq_, wall_us);
  last_send_seq_ = base + count;
  return base;
}

Result<std::vector<SendItem>> GatewayStore::claimRound(int limit, int in_flight_max,
                                                       const RetryGate& gate, RetryCounts& counts,
                                                       SenderOutlook& outlook) {
  using Items = std::vector<SendItem>;
  // The sender runs on every wake-up, and each round trip costs both sides a context switch:
  // new orders are claimed by one autocommit statement, and a transaction for retries and
  // cancels is opened only when that statement saw one due.
  Due due;
  auto items = withConnection<Items>(pool_, [&](pqxx::connection& connection) -> Result<Items> {
    pqxx::nontransaction work(connection);
    return claimNewOrders(work, limit, in_flight_max, gate, due);
  });
  if (!items) return items;
  outlook = SenderOutlook{!items->empty() || due.retries || due.cancels, due.received_waiting,
                          due.next_deadline_in_ms};
  if (!due.retries && !due.cancels) return items;
  auto more = claimDue(limit, due, gate, counts);
  if (!more) {
    // The new orders' claim is committed: send them now; the due ones stay due.
    spdlog::warn("sender: retries and cancels not claimed: {}", more.error().message);
    counts = RetryCounts{};
    return items;
  }
  items->insert(items->end(), std::make_move_iterator(more->begin()),
                std::make_move_iterator(more->end()));
  return items;
}

std::vector<SendItem> GatewayStore::claimNewOrders(pqxx::nontransaction& work, int limit,
                                                   int in_flight_max, const RetryGate& gate,
                                                   Due& due) {
  // One wait per order the statement may claim; it takes them by position.
  std::vector<std::string> waits;
  const int claimable = std::max(0, std::min(limit, in_flight_max));
  waits.reserve(static_cast<std::size_t>(claimable));
  for (int i = 0; i < claimable; ++i) {
    waits.push_back(std::to_string(replyWaitMs(settings_.retry, 1, unitRandom())));
  }
  std::vector<SendItem> items;
  const int64_t base = reserveSendSeqs(claimable);  // the n-th claimed order gets base + n
  for (const auto& raw : work.exec_prepared("claim_new", limit, in_flight_max,
                                            pgArrayLiteral(waits), base, gate.answered_send_seq,
                                            gate.broker_silent, settings_.retry_hold_ms_max)) {
    due = Due{raw[18].as<bool>(), raw[19].as<bool>(), raw[20].as<bool>(),
              raw[21].is_null() ? std::nullopt : std::optional(raw[21].as<int64_t>())};
    if (raw[0].is_null()) continue;  // nothing claimed: the row only says what is due
    const OrderRow row = readOrderRow(raw);
    items.push_back(SendItem{SendItem::Kind::New, row.record, 0, row.received_at_ms});
  }
  return items;
}

Result<std::vector<SendItem>> GatewayStore::claimDue(int limit, Due due, const RetryGate& gate,
                                                     RetryCounts& counts) {
  using Items = std::vector<SendItem>;
  try {
    return withConnection<Items>(pool_, [&](pqxx::connection& connection) -> Result<Items> {
      pqxx::work work(connection);
      Items items;
      if (due.retries) claimDueRetries(work, limit, gate, counts, items);
      if (due.cancels) claimDueCancels(work, limit, counts, items);
      work.commit();
      return items;
    });
  } catch (const std::exception& failure) {  // an SQL error: nothing was committed
    return makeError(ErrorCode::Internal, failure.what());
  }
}

void GatewayStore::claimDueRetries(pqxx::work& work, int limit, const RetryGate& gate,
                                   RetryCounts& counts, std::vector<SendItem>& items) {
  const auto due = work.exec_prepared("claim_due", limit, gate.answered_send_seq,
                                      gate.broker_silent, settings_.retry_hold_ms_max);
  for (const auto& raw : due) {
    const OrderRow row = readOrderRow(raw);
    const RetryFacts facts{answers_status_requests_.load(), row.resend_requested,
                           isCancelInProgress(row.snapshot)};
    const TimeoutAction action = onTimeout(settings_.retry, row.attempts, facts);
    if (action == TimeoutAction::GiveUp) {
      const Outcome outcome = giveUp(row.snapshot);
      writeOutcome(work, row, outcome, row.record.broker_order_id);
      writeEvents(work, settings_.broker, row, outcome.events);
      counts.events += static_cast<int>(outcome.events.size());
      ++counts.unconfirmed;
      continue;
    }
    const int attempt = row.attempts + 1;
    const bool ask = action == TimeoutAction::AskStatus;
    const int64_t wait_ms = replyWaitMs(settings_.retry, attempt, unitRandom());
    work.exec_prepared("mark_retry", row.record.ticket.order_id, attempt, wait_ms,
                       ask ? "STATUS" : "RESEND", reserveSendSeqs(1) + 1);
    ++(ask ? counts.status_requests : counts.resends);
    items.push_back(SendItem{ask ? SendItem::Kind::Status : SendItem::Kind::Resend, row.record, 0,
                             row.received_at_ms});
  }
}

void GatewayStore::claimDueCancels(pqxx::work& work, int limit, RetryCounts& counts,
                                   std::vector<SendItem>& items) {
  for (const auto& raw : work.exec_prepared("claim_cancels", limit)) {
    const OrderRow row = readOrderRow(raw);
    if (row.cancel_attempts > settings_.retry.retry_count_max) {
      const Outcome outcome = giveUpCancel(row.snapshot);
      writeOutcome(work, row, outcome, row.record.broker_order_id);
      writeEvents(work, settings_.broker, row, outcome.events);
      counts.events += static_cast<int>(outcome.events.size());
      continue;
    }
    const int attempt = row.cancel_attempts + 1;
    const bool resend = attempt > 1;
    const int64_t wait_ms = replyWaitMs(settings_.retry, attempt, unitRandom());
    work.exec_prepared("mark_cancel_sent", row.record.ticket.order_id, attempt, wait_ms,
                       resend ? "CANCEL_RESEND" : "CANCEL",
                       cancelClOrdId(row.record.ticket.order_id, row.snapshot.cancel_request));
    items.push_back(SendItem{resend ? SendItem::Kind::CancelResend : SendItem::Kind::Cancel,
                             row.record, row.snapshot.cancel_request, row.received_at_ms});
  }
}

namespace {

// An order of a reply batch: its row as read, moved on by each reply in arrival order.
struct BatchOrder {
  OrderRow row;
  std::string row_xmin;           // the row's xmin as read: write_replies' condition
  int64_t last_sent_seq = 0;      // as read; 0: never sent
  bool resend_requested = false;  // the last outcome's resend_now
  bool due_now = false;           // some reply of the batch asked for a resend
};

std::map<std::string, BatchOrder> readBatchOrders(pqxx::nontransaction& work,
                                                  const std::vector<InboundReply>& replies) {
  std::vector<std::string> ids;
  ids.reserve(replies.size());
  for (const auto& reply : replies) ids.push_back(reply.ids.order_id);
  std::map<std::string, BatchOrder> orders;
  for (const auto& raw : work.exec_prepared("read_orders", pgArrayLiteral(ids))) {
    OrderRow row = readOrderRow(raw);
    const bool resend_requested = row.resend_requested;
    std::string order_id = row.record.ticket.order_id;
    orders.emplace(std::move(order_id), BatchOrder{std::move(row), raw[17].as<std::string>(),
                                                   raw[18].as<int64_t>(), resend_requested, false});
  }
  return orders;
}

// Moves `order` on by one reply; its events join `events` (insert_events' array). True when the
// reply says the broker does not hold the order (a resend is due).
bool applyToOrder(BatchOrder& order, const std::string& broker, const InboundReply& reply,
                  nlohmann::json& events) {
  const Outcome outcome = reply.cancel_reject ? applyCancelReject(order.row.snapshot, reply.reject)
                                              : applyReport(order.row.snapshot, reply.report);
  if (!reply.broker_order_id.empty()) order.row.record.broker_order_id = reply.broker_order_id;
  order.row.snapshot = outcome.order;
  order.resend_requested = outcome.resend_now;
  order.due_now = order.due_now || outcome.resend_now;
  for (const auto& event : outcome.events) {
    events.push_back(eventJson(makeEventRow(broker, order.row, event)));
  }
  return outcome.resend_now;
}

// write_replies' arrays (gateway_rows.cpp), one element per order, and the batch's events in
// one statement. False when a row changed since it was read: then nothing was written, and the
// caller reads the batch again.
bool writeReplyOutcomes(pqxx::nontransaction& work, const std::map<std::string, BatchOrder>& orders,
                        const nlohmann::json& events) {
  std::vector<std::string> ids, states, cum_qtys, broker_order_ids, cancel_requests, cancel_states,
      resend_requested, due_now, row_xmins;
  for (const auto& [order_id, order] : orders) {
    const OrderSnapshot& after = order.row.snapshot;
    ids.push_back(order_id);
    states.emplace_back(toText(after.state));
    cum_qtys.push_back(std::to_string(after.cum_qty));
    broker_order_ids.push_back(order.row.record.broker_order_id);
    cancel_requests.push_back(std::to_string(after.cancel_request));
    cancel_states.emplace_back(toText(after.cancel_state));
    resend_requested.emplace_back(order.resend_requested ? "t" : "f");
    due_now.emplace_back(order.due_now ? "t" : "f");
    row_xmins.push_back(order.row_xmin);
  }
  const auto written = work.exec_prepared(
      "write_replies", pgArrayLiteral(ids), pgArrayLiteral(states), pgArrayLiteral(cum_qtys),
      pgArrayLiteral(broker_order_ids), pgArrayLiteral(cancel_requests),
      pgArrayLiteral(cancel_states), pgArrayLiteral(resend_requested), pgArrayLiteral(due_now),
      pgArrayLiteral(row_xmins), jsonText(events));
  return written[0][0].as<std::size_t>() == orders.size();
}

}  // namespace

// Set-based and two round trips, whatever the batch's size: one statement reads every order of
// the batch, the replies move them on in memory, and one statement writes their rows and events,
// all of them only if no row changed since it was read. A row another writer changed in between
// (a cancel taken, a retry claimed) makes the attempt write nothing and start again; after
// kConflictAttemptsMax attempts the batch fails like a database error and the applier tries it
// again later.
Result<ReplyCounts> GatewayStore::applyReplies(const std::vector<InboundReply>& replies) {
  constexpr int kConflictAttemptsMax = 8;
  for (int attempt = 0; attempt < kConflictAttemptsMax; ++attempt) {
    auto applied = withConnection<std::optional<ReplyCounts>>(
        reply_pool_, [&](pqxx::connection& connection) -> Result<std::optional<ReplyCounts>> {
          try {
            return applyRepliesOnce(connection, replies);
          } catch (const pqxx::deadlock_detected& failure) {
            // write_replies locks its rows sorted, a stream read taking several cancels locks
            // theirs in stream order: the server aborted one statement, which wrote nothing.
            // Like a changed row: read the batch again now, not after the applier's 500 ms.
            spdlog::warn("reply batch rolled back by the server, read again: {}", failure.what());
            return std::optional<ReplyCounts>();
          }
        });
    if (!applied) return applied.error();
    if (*applied) return **applied;
  }
  return makeError(ErrorCode::Unavailable, "broker orders kept changing under a reply batch");
}

Result<std::optional<ReplyCounts>> GatewayStore::applyRepliesOnce(
    pqxx::connection& connection, const std::vector<InboundReply>& replies) {
  // No transaction: each statement is atomic by itself, and write_replies checks what the read
  // saw (BEGIN and COMMIT would be two more round trips).
  pqxx::nontransaction work(connection);
  std::map<std::string, BatchOrder> orders = readBatchOrders(work, replies);
  ReplyCounts counts;
  nlohmann::json events = nlohmann::json::array();
  for (const auto& reply : replies) {
    const auto found = orders.find(reply.ids.order_id);
    if (found == orders.end()) {
      ++counts.unknown;
      continue;
    }
    ++counts.applied;
    // A reply to an order sent once answers that first send; after a retry it may answer any
    // of its messages, so it shows nothing about the later ones.
    if (found->second.row.attempts == 1) {
      counts.answered_send_seq = std::max(counts.answered_send_seq, found->second.last_sent_seq);
    }
    if (applyToOrder(found->second, settings_.broker, reply, events)) ++counts.resends_due;
  }
  // Events come only from orders found, so no order means nothing to write.
  if (!orders.empty() && !writeReplyOutcomes(work, orders, events)) {
    return std::optional<ReplyCounts>();
  }
  counts.events = static_cast<int>(events.size());
  return std::optional<ReplyCounts>(counts);
}

Result<int64_t> GatewayStore::recheckInFlight() {
  return withConnection<int64_t>(pool_, [&](pqxx::connection& connection) -> Result<int64_t> {
    pqxx::work work(connection);
    const auto changed = work.exec_prepared("recheck_in_flight");
    work.commit();
    return static_cast<int64_t>(changed.affected_rows());
  });
}

Result<std::optional<std::string>> GatewayStore::brokerOrderJson(const std::string& order_id) {
  using Found = std::optional<std::string>;
  return withConnection<Found>(pool_, [&](pqxx::connection& connection) -> Result<Found> {
    pqxx::nontransaction work(connection);
    const auto rows = work.exec_prepared("broker_order_json", order_id);
    if (rows.empty()) return Found{};
    return Found{rows[0][0].as<std::string>()};
  });
}

Result<int64_t> GatewayStore::unpublishedEventCount() {
  return withConnection<int64_t>(pool_, [&](pqxx::connection& connection) -> Result<int64_t> {
    pqxx::nontransaction work(connection);
    return work.exec("SELECT count(*) FROM order_events WHERE published_at IS NULL")[0][0]
        .as<int64_t>();
  });
}

Status GatewayStore::ping() {
  return withConnection<Ok>(pool_, [](pqxx::connection& connection) -> Status {
    pqxx::nontransaction work(connection);
    work.exec("SELECT 1");
    return Ok{};
  });
}

}  // namespace fbg::gateway
