#include "gateway_store.h"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/identifiers.h"
#include "gateway_rows.h"

namespace fbg::gateway {
namespace {

// Text array literal for unnest($n::text[]); ids and numbers only (no quoting needed).
std::string arrayLiteral(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
  return out + "}";
}

void writeEvents(pqxx::work& work, const std::string& broker, const OrderRow& row,
                 const std::vector<Event>& events) {
  for (const auto& event : events) {
    const EventRow out = makeEventRow(broker, row, event);
    work.exec_prepared("insert_event", out.event_id, out.order_id, out.kind, out.payload);
  }
}

void writeOutcome(pqxx::work& work, const OrderRow& before, const Outcome& outcome,
                  const std::string& broker_order_id) {
  const OrderSnapshot& after = outcome.order;
  work.exec_prepared("write_outcome", before.record.ticket.order_id,
                     std::string(toText(after.state)), after.cum_qty, broker_order_id,
                     after.cancel_request, std::string(toText(after.cancel_state)),
                     outcome.resend_now);
}

Status refuse(pqxx::work& work, const StreamEntry& entry, const Error& why,
              const std::string& broker, IntakeCounts& counts) {
  ++counts.refused;
  nlohmann::json fields = entry.fields;
  work.exec_prepared("insert_refused", entry.entry_id, fields.dump(), why.message);
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
  return Ok{};
}

void takeCancel(pqxx::work& work, const StreamEntry& entry, const CancelTicket& cancel,
                const std::string& broker, IntakeCounts& counts) {
  const auto rows = work.exec_prepared("lock_order", cancel.order_id);
  if (rows.empty()) {
    (void)refuse(work, entry,
                 makeError(ErrorCode::NotFound, "cancel of an order this gateway never received"),
                 broker, counts);
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

GatewayStore::GatewayStore(PgPool& pool, StoreSettings settings)
    : pool_(pool),
      settings_(std::move(settings)),
      answers_status_requests_(settings_.broker_answers_status_requests) {}

double GatewayStore::unitRandom() {
  return std::uniform_real_distribution<double>(0.0, 1.0)(random_);
}

Status GatewayStore::recordEntries(const std::vector<StreamEntry>& entries, IntakeCounts& counts) {
  return withConnection<Ok>(pool_, [&](pqxx::connection& connection) -> Status {
    pqxx::work work(connection);
    for (const auto& entry : entries) {
      auto ticket = parseTicket(entry, settings_.broker);
      if (!ticket) {
        (void)refuse(work, entry, ticket.error(), settings_.broker, counts);
      } else if (ticket->new_order) {
        const NewOrderTicket& t = *ticket->new_order;
        const auto inserted = work.exec_prepared(
            "insert_order", t.order_id, settings_.broker, t.account_id, t.symbol,
            std::string(toText(t.side)), std::string(toText(t.type)), t.quantity,
            t.limit_price ? std::optional<std::string>(t.limit_price->toString()) : std::nullopt,
            std::string(toText(t.time_in_force)), entry.entry_id);
        ++(inserted.affected_rows() == 1 ? counts.recorded : counts.duplicates);
      } else {
        takeCancel(work, entry, *ticket->cancel, settings_.broker, counts);
      }
    }
    work.commit();
    return Ok{};
  });
}

Result<std::vector<SendItem>> GatewayStore::claimNewOrders(int limit, int in_flight_max) {
  using Items = std::vector<SendItem>;
  return withConnection<Items>(pool_, [&](pqxx::connection& connection) -> Result<Items> {
    pqxx::work work(connection);
    Items items;
    const int64_t in_flight = work.exec_prepared("count_in_flight")[0][0].as<int64_t>();
    limit = static_cast<int>(std::min<int64_t>(limit, in_flight_max - in_flight));
    if (limit <= 0) return items;
    std::vector<std::string> ids, waits;
    for (const auto& raw : work.exec_prepared("claim_unsent", limit)) {
      const OrderRow row = readOrderRow(raw);
      ids.push_back(row.record.ticket.order_id);
      waits.push_back(std::to_string(replyWaitMs(settings_.retry, 1, unitRandom())));
      items.push_back(SendItem{SendItem::Kind::New, row.record, 0, row.received_at_ms});
    }
    if (!ids.empty()) work.exec_prepared("mark_sent", arrayLiteral(ids), arrayLiteral(waits));
    work.commit();
    return items;
  });
}

Result<std::vector<SendItem>> GatewayStore::claimDueRetries(int limit, RetryCounts& counts) {
  using Items = std::vector<SendItem>;
  return withConnection<Items>(pool_, [&](pqxx::connection& connection) -> Result<Items> {
    pqxx::work work(connection);
    Items items;
    for (const auto& raw : work.exec_prepared("claim_due", limit)) {
      const OrderRow row = readOrderRow(raw);
      TimeoutAction action =
          onTimeout(settings_.retry, row.attempts, answers_status_requests_.load());
      if (row.resend_requested) action = TimeoutAction::ResendOrder;  // the broker said: unknown
      if (action == TimeoutAction::GiveUp) {
        const Outcome outcome = giveUp(row.snapshot);
        writeOutcome(work, row, outcome, row.record.broker_order_id);
        writeEvents(work, settings_.broker, row, outcome.events);
        ++counts.unconfirmed;
        continue;
      }
      const int attempt = row.attempts + 1;
      const bool ask = action == TimeoutAction::AskStatus;
      const int64_t wait_ms = replyWaitMs(settings_.retry, attempt, unitRandom());
      work.exec_prepared("mark_retry", row.record.ticket.order_id, attempt, wait_ms,
                         ask ? "STATUS" : "RESEND");
      ++(ask ? counts.status_requests : counts.resends);
      items.push_back(SendItem{ask ? SendItem::Kind::Status : SendItem::Kind::Resend, row.record, 0,
                               row.received_at_ms});
    }
    work.commit();
    return items;
  });
}

Result<std::vector<SendItem>> GatewayStore::claimDueCancels(int limit) {
  using Items = std::vector<SendItem>;
  return withConnection<Items>(pool_, [&](pqxx::connection& connection) -> Result<Items> {
    pqxx::work work(connection);
    Items items;
    for (const auto& raw : work.exec_prepared("claim_cancels", limit)) {
      const OrderRow row = readOrderRow(raw);
      if (row.cancel_attempts > settings_.retry.retry_count_max) {
        const Outcome outcome = giveUpCancel(row.snapshot);
        writeOutcome(work, row, outcome, row.record.broker_order_id);
        writeEvents(work, settings_.broker, row, outcome.events);
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
    work.commit();
    return items;
  });
}

namespace {

ReplyResult applyOne(pqxx::work& work, const std::string& broker, const InboundReply& reply) {
  const auto rows = work.exec_prepared("lock_order", reply.ids.order_id);
  if (rows.empty()) return ReplyResult::UnknownOrder;
  const OrderRow row = readOrderRow(rows[0]);
  const Outcome outcome = reply.cancel_reject ? applyCancelReject(row.snapshot, reply.reject)
                                              : applyReport(row.snapshot, reply.report);
  OrderRow named = row;
  if (!reply.broker_order_id.empty()) named.record.broker_order_id = reply.broker_order_id;
  named.snapshot = outcome.order;
  writeOutcome(work, row, outcome, named.record.broker_order_id);
  work.exec_prepared("mark_reply", reply.ids.order_id);
  writeEvents(work, broker, named, outcome.events);
  return outcome.resend_now ? ReplyResult::AppliedResendDue : ReplyResult::Applied;
}

}  // namespace

Result<ReplyCounts> GatewayStore::applyReplies(const std::vector<InboundReply>& replies) {
  return withConnection<ReplyCounts>(pool_,
                                     [&](pqxx::connection& connection) -> Result<ReplyCounts> {
                                       pqxx::work work(connection);
                                       if (!settings_.reply_synchronous_commit)
                                         work.exec("SET LOCAL synchronous_commit = off");
                                       ReplyCounts counts;
                                       for (const auto& reply : replies) {
                                         switch (applyOne(work, settings_.broker, reply)) {
                                           case ReplyResult::UnknownOrder:
                                             ++counts.unknown;
                                             break;
                                           case ReplyResult::AppliedResendDue:
                                             ++counts.resends_due;
                                             [[fallthrough]];
                                           case ReplyResult::Applied:
                                             ++counts.applied;
                                             break;
                                         }
                                       }
                                       work.commit();
                                       return counts;
                                     });
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
