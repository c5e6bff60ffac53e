#include "event_applier.h"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <map>

#include "ledger_rows.h"

namespace fbg::ledger {
namespace {

// Revisions of rows changed by a broker event: actor broker:{broker}, channel BROKER, request id
// the event's dedup id ($2 .. $4 of each statement below).
constexpr const char* kRevisionColumns = "actor, channel, request_id";

void prepareWrites(pqxx::connection& c) {
  c.prepare("apply_order",
            "WITH u AS (UPDATE orders SET status = $5, filled_quantity = $6::bigint, "
            "fill_notional = $7::numeric, average_fill_price = CASE WHEN $6::bigint > 0 THEN "
            "round($7::numeric / $6::bigint, 4) END, reserved_amount = $8::numeric, "
            "reserved_quantity = $9, reject_reason = coalesce(nullif($10, ''), reject_reason), "
            "version = version + 1, updated_at = clock_timestamp() "
            "WHERE order_id = $1 AND version = $11 RETURNING *) "
            "INSERT INTO order_revisions (order_id, " +
                std::string(kRevisionColumns) +
                ", status, filled_quantity, reserved_amount, version, row_data) "
                "SELECT order_id, $2, 'BROKER', $3, status, filled_quantity, reserved_amount, "
                "version, to_jsonb(u.*) FROM u RETURNING $4::text");
  c.prepare("apply_account",
            "WITH u AS (UPDATE accounts SET cash_balance = $5::numeric, "
            "cash_reserved = $6::numeric, version = version + 1, updated_at = clock_timestamp() "
            "WHERE account_id = $1 AND version = $7 RETURNING *) "
            "INSERT INTO account_revisions (account_id, " +
                std::string(kRevisionColumns) +
                ", version, row_data) SELECT account_id, $2, 'BROKER', $3, version, "
                "to_jsonb(u.*) FROM u RETURNING $4::text");
  c.prepare("apply_position",
            "WITH u AS (INSERT INTO positions (account_id, symbol, quantity, quantity_reserved, "
            "cost_basis) VALUES ($1, $5, $6, $7, $8::numeric) ON CONFLICT (account_id, symbol) "
            "DO UPDATE SET quantity = $6, quantity_reserved = $7, cost_basis = $8::numeric, "
            "version = positions.version + 1, updated_at = clock_timestamp() "
            "WHERE positions.version = $9 RETURNING *) "
            "INSERT INTO position_revisions (account_id, symbol, " +
                std::string(kRevisionColumns) +
                ", version, row_data) SELECT account_id, symbol, $2, 'BROKER', $3, version, "
                "to_jsonb(u.*) FROM u RETURNING $4::text");
  // A journal entry and its lines in one statement; the lines are three arrays in line order
  // ($6 books, $7 assets, $8 amounts), numbered from 1.
  c.prepare("journal",
            "WITH entry AS (INSERT INTO journal_entries (account_id, kind, order_id, exec_id, "
            "reference) VALUES ($1, $2, $3, nullif($4, ''), $5) RETURNING entry_id) "
            "INSERT INTO journal_lines (entry_id, line_no, book, asset, amount) "
            "SELECT entry.entry_id, line.n, line.book, line.asset, line.amount FROM entry, "
            "unnest($6::text[], $7::text[], $8::numeric[]) WITH ORDINALITY "
            "AS line(book, asset, amount, n)");
}

void prepareReads(pqxx::connection& c) {
  // The order, its account and its position (NULLs when the account holds none of the symbol)
  // in one read; the columns load() takes, in its order.
  c.prepare("apply_read",
            "SELECT o.account_id, o.status, o.side, o.symbol, o.quantity, o.limit_price::text, "
            "o.filled_quantity, o.fill_notional::text, o.reserved_amount::text, "
            "o.reserved_quantity, o.version, a.cash_balance::text, a.cash_reserved::text, "
            "a.version, p.quantity, p.quantity_reserved, p.cost_basis::text, p.version "
            "FROM orders o JOIN accounts a ON a.account_id = o.account_id "
            "LEFT JOIN positions p ON p.account_id = o.account_id AND p.symbol = o.symbol "
            "WHERE o.order_id = $1");
  c.prepare("apply_accounts",
            "SELECT order_id, account_id FROM orders WHERE order_id = ANY($1::text[])");
  c.prepare("apply_seen_fill", "SELECT 1 FROM executions WHERE broker = $1 AND exec_id = $2");
  c.prepare("apply_seen_event", "SELECT 1 FROM applied_events WHERE event_id = $1");
  c.prepare("apply_record_fill",
            "INSERT INTO executions (broker, exec_id, order_id, quantity, price, executed_at, "
            "booked, alarm, fill_receiver_seq) VALUES ($1, $2, $3, $4, $5::numeric, "
            "coalesce(nullif($6, '')::timestamptz, clock_timestamp()), $7, nullif($8, ''), "
            "nullif($9, 0))");
  c.prepare("apply_record_event",
            "INSERT INTO applied_events (event_id, order_id, kind, source, changed) "
            "VALUES ($1, $2, $3, $4, $5)");
  c.prepare("apply_cursor",
            "UPDATE consumer_cursors SET position = greatest(position, $1) "
            "WHERE name = 'executions'");
}

struct Loaded {
  std::string account_id;
  OrderState order;
  int64_t order_version = 0;
  CashState cash;
  int64_t account_version = 0;
  PositionState position;
  int64_t position_version = 0;  // 0: no row yet
};

Loaded load(const pqxx::row& o) {
  Loaded l;
  l.account_id = o[0].as<std::string>();
  l.order.status = parseOrderStatus(o[1].as<std::string>()).value_or(OrderStatus::PendingNew);
  l.order.side = parseSide(o[2].as<std::string>()).value_or(Side::Buy);
  l.order.symbol = o[3].as<std::string>();
  l.order.quantity = o[4].as<int64_t>();
  if (!o[5].is_null()) l.order.limit_price = readMoney(o[5]);
  l.order.filled_quantity = o[6].as<int64_t>();
  l.order.fill_notional = readMoney(o[7]);
  l.order.reserved_amount = readMoney(o[8]);
  l.order.reserved_quantity = o[9].as<int64_t>();
  l.order_version = o[10].as<int64_t>();
  l.cash = {readMoney(o[11]), readMoney(o[12])};
  l.account_version = o[13].as<int64_t>();
  if (!o[17].is_null()) {
    l.position = {o[14].as<int64_t>(), o[15].as<int64_t>(), readMoney(o[16])};
    l.position_version = o[17].as<int64_t>();
  }
  return l;
}

// Writes the changed rows; false on a version conflict (the caller rolls back and retries).
bool write(pqxx::work& work, const IncomingEvent& e, const Loaded& l, const Applied& out) {
  const std::string actor = "broker:" + (e.broker.empty() ? std::string("gateway") : e.broker);
  const std::string request = e.dedup_id;
  const OrderState& o = out.order;
  if (work.exec_prepared("apply_order", e.order_id, actor, request, request,
                         std::string(toText(o.status)), o.filled_quantity,
                         o.fill_notional.toString(), o.reserved_amount.toString(),
                         o.reserved_quantity, e.event.reason, l.order_version)
          .empty()) {
    return false;
  }
  if (out.cash.balance != l.cash.balance || out.cash.reserved != l.cash.reserved) {
    if (work.exec_prepared("apply_account", l.account_id, actor, request, request,
                           out.cash.balance.toString(), out.cash.reserved.toString(),
                           l.account_version)
            .empty()) {
      return false;
    }
  }
  const PositionState& p = out.position;
  if (p.quantity != l.position.quantity || p.quantity_reserved != l.position.quantity_reserved ||
      p.cost_basis != l.position.cost_basis) {
    if (work.exec_prepared("apply_position", l.account_id, actor, request, request, l.order.symbol,
                           p.quantity, p.quantity_reserved, p.cost_basis.toString(),
                           l.position_version)
            .empty()) {
      return false;
    }
  }
  return true;
}

void book(pqxx::work& work, const IncomingEvent& e, const Loaded& l, const Applied& out) {
  if (out.journal.empty()) return;
  std::vector<std::string> books, assets, amounts;
  for (const auto& line : out.journal) {
    if (line.amount.isZero()) continue;
    books.push_back(line.book);
    assets.push_back(line.asset);
    amounts.push_back(line.amount.toString());
  }
  work.exec_prepared("journal", l.account_id, out.journal_kind, e.order_id, e.exec_id, e.dedup_id,
                     pgArrayLiteral(books), pgArrayLiteral(assets), pgArrayLiteral(amounts));
}

void record(pqxx::work& work, const IncomingEvent& e, const Applied& out) {
  if (e.is_fill) {
    const bool booked = !out.overfill && !out.uncovered;
    const std::string alarm = out.overfill    ? "overfill: past the order's quantity"
                              : out.uncovered ? "fill the order and the account cannot pay"
                                              : "";
    work.exec_prepared("apply_record_fill", e.broker, e.exec_id, e.order_id, e.event.last_qty,
                       e.event.last_px.toString(), e.executed_at, booked, alarm,
                       e.fill_receiver_seq);
  } else {
    work.exec_prepared("apply_record_event", e.dedup_id, e.order_id, e.kind, e.source, out.changed);
  }
}

// One event inside its group's transaction; nullopt on a version conflict. Reads see the writes
// of the events before it in the same transaction, so a group applies in stream order.
std::optional<ApplyOutcome> applyInTransaction(pqxx::work& work, const IncomingEvent& e) {
  const bool seen = e.is_fill ? !work.exec_prepared("apply_seen_fill", e.broker, e.exec_id).empty()
                              : !work.exec_prepared("apply_seen_event", e.dedup_id).empty();
  if (seen) return ApplyOutcome::Duplicate;
  const auto order = work.exec_prepared("apply_read", e.order_id);
  if (order.empty()) return ApplyOutcome::UnknownOrder;
  const Loaded loaded = load(order[0]);
  const Applied out = e.relevant
                          ? applyBrokerEvent(loaded.order, loaded.cash, loaded.position, e.event)
                          : Applied{loaded.order, loaded.cash, loaded.position, {}, "", false};
  if (out.changed && !write(work, e, loaded, out)) return std::nullopt;
  book(work, e, loaded, out);
  record(work, e, out);
  if (out.overfill || out.uncovered) return ApplyOutcome::Alarmed;
  return out.changed ? ApplyOutcome::Applied : ApplyOutcome::Unchanged;
}

}  // namespace

EventApplier::EventApplier(PgPool& pool, GuardedWriter& writer, MetricsRegistry& metrics,
                           bool moves_executions_cursor)
    : pool_(pool),
      writer_(writer),
      moves_executions_cursor_(moves_executions_cursor),
      applied_(
          metrics.counter("ledger_events_applied_total", "Order events and executions applied.")),
      duplicates_(metrics.counter("ledger_events_duplicate_total",
                                  "Events found already applied (redelivered, or seen through "
                                  "the other source).")),
      unknown_(metrics.counter("ledger_events_unknown_order_total",
                               "Events for an order this ledger does not hold.")),
      overfills_(metrics.counter("ledger_fill_alarms_total",
                                 "ALERT: fills recorded but not booked (overfill, or a late fill "
                                 "the account cannot pay).")) {}

void EventApplier::prepareStatements(pqxx::connection& connection) {
  prepareReads(connection);
  prepareWrites(connection);
}

Attempt<std::vector<ApplyOutcome>> EventApplier::tryApplyGroup(const Group& group) {
  using Outcomes = std::vector<ApplyOutcome>;
  return withConnection<std::optional<Outcomes>>(
      pool_, [&](pqxx::connection& connection) -> Attempt<Outcomes> {
        pqxx::work work(connection);
        Outcomes outcomes;
        outcomes.reserve(group.size());
        for (const IncomingEvent* e : group) {
          const auto outcome = applyInTransaction(work, *e);
          if (!outcome) return std::optional<Outcomes>();  // rolled back with the work
          outcomes.push_back(*outcome);
        }
        work.commit();
        return std::optional(std::move(outcomes));
      });
}

Result<std::vector<ApplyOutcome>> EventApplier::applyGroup(const std::string& account_id,
                                                           const Group& group) {
  try {
    return writer_.write<std::vector<ApplyOutcome>>(account_id,
                                                    [&] { return tryApplyGroup(group); });
  } catch (const pqxx::unique_violation&) {
    // The other source applied one of them between its check and this insert: the whole group
    // rolled back. One at a time, each such event is then a Duplicate.
  }
  std::vector<ApplyOutcome> outcomes;
  for (const IncomingEvent* e : group) {
    try {
      auto one =
          writer_.write<std::vector<ApplyOutcome>>(account_id, [&] { return tryApplyGroup({e}); });
      if (!one) return one.error();
      outcomes.push_back(one->front());
    } catch (const pqxx::unique_violation&) {
      outcomes.push_back(ApplyOutcome::Duplicate);
    }
  }
  return outcomes;
}

Result<std::vector<std::string>> EventApplier::accountsOf(
    const std::vector<IncomingEvent>& events) {
  std::vector<std::string> order_ids;
  order_ids.reserve(events.size());
  for (const auto& e : events) order_ids.push_back(e.order_id);
  return withConnection<std::vector<std::string>>(
      pool_, [&](pqxx::connection& c) -> Result<std::vector<std::string>> {
        pqxx::nontransaction work(c);
        std::map<std::string, std::string> account_of;
        for (const auto& row : work.exec_prepared("apply_accounts", pgArrayLiteral(order_ids)))
          account_of[row[0].as<std::string>()] = row[1].as<std::string>();
        std::vector<std::string> accounts;
        accounts.reserve(events.size());
        for (const auto& id : order_ids) {
          const auto found = account_of.find(id);
          accounts.push_back(found == account_of.end() ? std::string() : found->second);
        }
        return accounts;
      });
}

void EventApplier::count(const IncomingEvent& e, ApplyOutcome outcome) {
  switch (outcome) {
    case ApplyOutcome::Duplicate:
      duplicates_.add();
      break;
    case ApplyOutcome::UnknownOrder:
      unknown_.add();
      break;
    case ApplyOutcome::Alarmed:
      overfills_.add();
      spdlog::error("fill {} of order {} recorded but not booked", e.dedup_id, e.order_id);
      break;
    case ApplyOutcome::Applied:
    case ApplyOutcome::Unchanged:
      applied_.add();
      break;
  }
}

std::vector<Result<ApplyOutcome>> EventApplier::applyBatch(
    const std::vector<IncomingEvent>& events) {
  std::vector<Result<ApplyOutcome>> outcomes(events.size(),
                                             makeError(ErrorCode::Internal, "not applied"));
  const auto accounts = accountsOf(events);
  if (!accounts) {
    for (auto& outcome : outcomes) outcome = accounts.error();
    return outcomes;
  }
  // Groups by account in order of first appearance, each in stream order.
  std::vector<std::pair<std::string, std::vector<std::size_t>>> groups;
  std::map<std::string, std::size_t> group_of;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const std::string& account = (*accounts)[i];
    if (account.empty()) {
      outcomes[i] = ApplyOutcome::UnknownOrder;
      continue;
    }
    const auto [it, inserted] = group_of.emplace(account, groups.size());
    if (inserted) groups.push_back({account, {}});
    groups[it->second].second.push_back(i);
  }
  int64_t applied_seq_max = 0;
  for (const auto& [account, indexes] : groups) {
    Group group;
    for (const std::size_t i : indexes) group.push_back(&events[i]);
    const auto applied = applyGroup(account, group);
    for (std::size_t k = 0; k < indexes.size(); ++k) {
      const std::size_t i = indexes[k];
      if (!applied) {
        outcomes[i] = applied.error();
        continue;
      }
      outcomes[i] = (*applied)[k];
      applied_seq_max = std::max(applied_seq_max, events[i].fill_receiver_seq);
    }
  }
  for (std::size_t i = 0; i < events.size(); ++i)
    if (outcomes[i]) count(events[i], *outcomes[i]);
  // The polling cursor moves after the commits, outside them: a crash in between leaves it
  // behind, which only makes an outage poll a few reports twice (deduplicated). Inside, every
  // fill transaction would queue on this one row.
  if (moves_executions_cursor_ && applied_seq_max > 0) {
    if (const auto moved = advanceExecutionsCursor(applied_seq_max); !moved)
      spdlog::warn("executions cursor not moved to {}: {}", applied_seq_max, moved.error().message);
  }
  return outcomes;
}

Result<ApplyOutcome> EventApplier::apply(const IncomingEvent& e) {
  return std::move(applyBatch({e}).front());
}

Result<int64_t> EventApplier::executionsCursor() {
  return withConnection<int64_t>(pool_, [](pqxx::connection& c) -> Result<int64_t> {
    pqxx::nontransaction work(c);
    return work.exec1("SELECT position FROM consumer_cursors WHERE name = 'executions'")[0]
        .as<int64_t>();
  });
}

Status EventApplier::advanceExecutionsCursor(int64_t seq) {
  return withConnection<Ok>(pool_, [seq](pqxx::connection& c) -> Status {
    pqxx::nontransaction work(c);
    work.exec_prepared("apply_cursor", seq);
    return Ok{};
  });
}

}  // namespace fbg::ledger
