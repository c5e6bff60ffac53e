#include "apply_group.h"

#include <map>
#include <set>
#include <string>

#include "common/pg_pool.h"
#include "ledger_rows.h"

namespace fbg::ledger {
namespace {

void prepareRowWrites(pqxx::connection& c) {
  // $1 order, $2 actor, $3 request id, $4..$9 the new values, $10 the version held.
  c.prepare("apply_order",
            "WITH u AS (UPDATE orders SET status = $4, filled_quantity = $5::bigint, "
            "fill_notional = $6::numeric, average_fill_price = CASE WHEN $5::bigint > 0 THEN "
            "round($6::numeric / $5::bigint, 4) END, reserved_amount = $7::numeric, "
            "reserved_quantity = $8, reject_reason = coalesce(nullif($9, ''), reject_reason), "
            "version = version + 1, updated_at = clock_timestamp() "
            "WHERE order_id = $1 AND version = $10 RETURNING *) "
            "INSERT INTO order_revisions (order_id, actor, channel, request_id, status, "
            "filled_quantity, reserved_amount, version, row_data) "
            "SELECT order_id, $2, 'BROKER', $3, status, filled_quantity, reserved_amount, "
            "version, to_jsonb(u.*) FROM u RETURNING version");
  // $1 account, $2 actor, $3 request id, $4 balance, $5 reserved, $6 the version held.
  c.prepare("apply_account",
            "WITH u AS (UPDATE accounts SET cash_balance = $4::numeric, "
            "cash_reserved = $5::numeric, version = version + 1, updated_at = clock_timestamp() "
            "WHERE account_id = $1 AND version = $6 RETURNING *) "
            "INSERT INTO account_revisions (account_id, actor, channel, request_id, version, "
            "row_data) SELECT account_id, $2, 'BROKER', $3, version, to_jsonb(u.*) FROM u "
            "RETURNING version");
  // $1 account, $2 actor, $3 request id, $4 symbol, $5..$7 the new values, $8 the version held
  // (0: no row yet).
  c.prepare("apply_position",
            "WITH u AS (INSERT INTO positions (account_id, symbol, quantity, quantity_reserved, "
            "cost_basis) VALUES ($1, $4, $5, $6, $7::numeric) ON CONFLICT (account_id, symbol) "
            "DO UPDATE SET quantity = $5, quantity_reserved = $6, cost_basis = $7::numeric, "
            "version = positions.version + 1, updated_at = clock_timestamp() "
            "WHERE positions.version = $8 RETURNING *) "
            "INSERT INTO position_revisions (account_id, symbol, actor, channel, request_id, "
            "version, row_data) SELECT account_id, symbol, $2, 'BROKER', $3, version, "
            "to_jsonb(u.*) FROM u RETURNING version");
}

void prepareGroupWrites(pqxx::connection& c) {
  // Entries in event order ($2..$5, numbered from 1), lines ($6 the entry's number, $7.. the
  // line), each line joined to its entry by that number.
  c.prepare("apply_journal",
            "WITH entry AS (INSERT INTO journal_entries (account_id, kind, order_id, exec_id, "
            "reference) SELECT $1, e.kind, e.order_id, nullif(e.exec_id, ''), e.reference "
            "FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY "
            "AS e(kind, order_id, exec_id, reference, n) ORDER BY e.n "
            "RETURNING entry_id, reference) "
            "INSERT INTO journal_lines (entry_id, line_no, book, asset, amount) "
            "SELECT entry.entry_id, l.line_no, l.book, l.asset, l.amount FROM "
            "unnest($6::text[], $7::smallint[], $8::text[], $9::text[], $10::numeric[]) "
            "AS l(reference, line_no, book, asset, amount) "
            "JOIN entry ON entry.reference = l.reference");
  c.prepare("apply_record_fills",
            "INSERT INTO executions (broker, exec_id, order_id, quantity, price, executed_at, "
            "booked, alarm, fill_receiver_seq) SELECT f.broker, f.exec_id, f.order_id, "
            "f.quantity, f.price, coalesce(nullif(f.executed_at, '')::timestamptz, "
            "clock_timestamp()), f.booked, nullif(f.alarm, ''), nullif(f.seq, 0) FROM "
            "unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::numeric[], $6::text[], "
            "$7::boolean[], $8::text[], $9::bigint[]) AS f(broker, exec_id, order_id, quantity, "
            "price, executed_at, booked, alarm, seq)");
  c.prepare("apply_record_events",
            "INSERT INTO applied_events (event_id, order_id, kind, source, changed) "
            "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::boolean[])");
}

void prepareReads(pqxx::connection& c) {
  // Fill ids come back as "{broker}:{exec_id}", the fills' dedup id.
  c.prepare("apply_seen",
            "SELECT x.broker || ':' || x.exec_id FROM executions x "
            "JOIN unnest($1::text[], $2::text[]) AS f(broker, exec_id) USING (broker, exec_id) "
            "UNION ALL SELECT event_id FROM applied_events WHERE event_id = ANY($3::text[])");
  // The orders, their account and positions (NULLs where the account holds none of the
  // symbol); the columns loadRows() takes, in its order.
  c.prepare("apply_read",
            "SELECT o.order_id, o.account_id, o.status, o.side, o.symbol, o.quantity, "
            "o.limit_price::text, o.filled_quantity, o.fill_notional::text, "
            "o.reserved_amount::text, o.reserved_quantity, o.version, a.cash_balance::text, "
            "a.cash_reserved::text, a.version, p.quantity, p.quantity_reserved, "
            "p.cost_basis::text, p.version "
            "FROM orders o JOIN accounts a ON a.account_id = o.account_id "
            "LEFT JOIN positions p ON p.account_id = o.account_id AND p.symbol = o.symbol "
            "WHERE o.order_id = ANY($1::text[])");
}

struct HeldOrder {
  OrderState state;
  int64_t version = 0;
};

struct HeldPosition {
  PositionState state;
  int64_t version = 0;  // 0: no row yet
};

// The account's rows as the group's transaction holds them so far.
struct HeldRows {
  std::string account_id;
  CashState cash;
  int64_t account_version = 0;
  std::map<std::string, HeldOrder> orders;        // by order id
  std::map<std::string, HeldPosition> positions;  // by symbol
};

OrderState orderState(const pqxx::row& r) {
  OrderState o;
  o.status = parseOrderStatus(r[2].as<std::string>()).value_or(OrderStatus::PendingNew);
  o.side = parseSide(r[3].as<std::string>()).value_or(Side::Buy);
  o.symbol = r[4].as<std::string>();
  o.quantity = r[5].as<int64_t>();
  if (!r[6].is_null()) o.limit_price = readMoney(r[6]);
  o.filled_quantity = r[7].as<int64_t>();
  o.fill_notional = readMoney(r[8]);
  o.reserved_amount = readMoney(r[9]);
  o.reserved_quantity = r[10].as<int64_t>();
  return o;
}

HeldRows loadRows(const pqxx::result& rows) {
  HeldRows g;
  for (const auto& r : rows) {
    g.account_id = r[1].as<std::string>();
    g.orders[r[0].as<std::string>()] = {orderState(r), r[11].as<int64_t>()};
    g.cash = {readMoney(r[12]), readMoney(r[13])};
    g.account_version = r[14].as<int64_t>();
    if (!r[18].is_null()) {
      g.positions[r[4].as<std::string>()] = {
          {r[15].as<int64_t>(), r[16].as<int64_t>(), readMoney(r[17])}, r[18].as<int64_t>()};
    }
  }
  return g;
}

std::set<std::string> seenIds(pqxx::work& work, const std::vector<const IncomingEvent*>& group) {
  std::vector<std::string> brokers, exec_ids, event_ids;
  for (const IncomingEvent* e : group) {
    if (e->is_fill) {
      brokers.push_back(e->broker);
      exec_ids.push_back(e->exec_id);
    } else {
      event_ids.push_back(e->dedup_id);
    }
  }
  std::set<std::string> seen;
  for (const auto& row : work.exec_prepared("apply_seen", pgArrayLiteral(brokers),
                                            pgArrayLiteral(exec_ids), pgArrayLiteral(event_ids)))
    seen.insert(row[0].as<std::string>());
  return seen;
}

HeldRows readRows(pqxx::work& work, const std::vector<const IncomingEvent*>& group) {
  std::vector<std::string> order_ids;
  for (const IncomingEvent* e : group) order_ids.push_back(e->order_id);
  return loadRows(work.exec_prepared("apply_read", pgArrayLiteral(order_ids)));
}

// The new version a write returned, or nullopt when it wrote nothing (a version conflict).
std::optional<int64_t> newVersion(const pqxx::result& written) {
  if (written.empty()) return std::nullopt;
  return written[0][0].as<int64_t>();
}

// Writes the rows the event changed and takes them (and their new versions) into `g`; false on
// a version conflict.
bool writeRows(pqxx::work& work, const IncomingEvent& e, HeldRows& g, HeldOrder& order,
               HeldPosition& position, const Applied& out) {
  const std::string actor = "broker:" + (e.broker.empty() ? std::string("gateway") : e.broker);
  const OrderState& o = out.order;
  const auto order_version = newVersion(work.exec_prepared(
      "apply_order", e.order_id, actor, e.dedup_id, std::string(toText(o.status)),
      o.filled_quantity, o.fill_notional.toString(), o.reserved_amount.toString(),
      o.reserved_quantity, e.event.reason, order.version));
  if (!order_version) return false;
  order = {o, *order_version};
  if (out.cash.balance != g.cash.balance || out.cash.reserved != g.cash.reserved) {
    const auto account_version = newVersion(work.exec_prepared(
        "apply_account", g.account_id, actor, e.dedup_id, out.cash.balance.toString(),
        out.cash.reserved.toString(), g.account_version));
    if (!account_version) return false;
    g.cash = out.cash;
    g.account_version = *account_version;
  }
  const PositionState& p = out.position;
  const PositionState& held = position.state;
  if (p.quantity != held.quantity || p.quantity_reserved != held.quantity_reserved ||
      p.cost_basis != held.cost_basis) {
    const auto position_version = newVersion(
        work.exec_prepared("apply_position", g.account_id, actor, e.dedup_id, o.symbol, p.quantity,
                           p.quantity_reserved, p.cost_basis.toString(), position.version));
    if (!position_version) return false;
    position = {p, *position_version};
  }
  return true;
}

// What the group writes at its end, one statement per table (arrays in event order).
struct GroupRecords {
  std::vector<std::string> entry_kind, entry_order, entry_exec, entry_reference;
  std::vector<std::string> line_reference, line_no, line_book, line_asset, line_amount;
  std::vector<std::string> fill_broker, fill_exec, fill_order, fill_quantity, fill_price, fill_time,
      fill_booked, fill_alarm, fill_seq;
  std::vector<std::string> event_id, event_order, event_kind, event_source, event_changed;

  void journal(const IncomingEvent& e, const Applied& out) {
    if (out.journal.empty()) return;
    entry_kind.push_back(out.journal_kind);
    entry_order.push_back(e.order_id);
    entry_exec.push_back(e.exec_id);
    entry_reference.push_back(e.dedup_id);
    int number = 0;
    for (const auto& line : out.journal) {
      if (line.amount.isZero()) continue;
      line_reference.push_back(e.dedup_id);
      line_no.push_back(std::to_string(++number));
      line_book.push_back(line.book);
      line_asset.push_back(line.asset);
      line_amount.push_back(line.amount.toString());
    }
  }

  void record(const IncomingEvent& e, const Applied& out) {
    if (!e.is_fill) {
      event_id.push_back(e.dedup_id);
      event_order.push_back(e.order_id);
      event_kind.push_back(e.kind);
      event_source.push_back(e.source);
      event_changed.push_back(out.changed ? "true" : "false");
      return;
    }
    fill_broker.push_back(e.broker);
    fill_exec.push_back(e.exec_id);
    fill_order.push_back(e.order_id);
    fill_quantity.push_back(std::to_string(e.event.last_qty));
    fill_price.push_back(e.event.last_px.toString());
    fill_time.push_back(e.executed_at);
    fill_booked.push_back(!out.overfill && !out.uncovered ? "true" : "false");
    fill_alarm.push_back(out.overfill    ? "overfill: past the order's quantity"
                         : out.uncovered ? "fill the order and the account cannot pay"
                                         : "");
    fill_seq.push_back(std::to_string(e.fill_receiver_seq));
  }

  void write(pqxx::work& work, const std::string& account_id) const {
    const auto a = [](const std::vector<std::string>& v) { return pgArrayLiteral(v); };
    if (!entry_reference.empty())
      work.exec_prepared("apply_journal", account_id, a(entry_kind), a(entry_order), a(entry_exec),
                         a(entry_reference), a(line_reference), a(line_no), a(line_book),
                         a(line_asset), a(line_amount));
    if (!fill_exec.empty())
      work.exec_prepared("apply_record_fills", a(fill_broker), a(fill_exec), a(fill_order),
                         a(fill_quantity), a(fill_price), a(fill_time), a(fill_booked),
                         a(fill_alarm), a(fill_seq));
    if (!event_id.empty())
      work.exec_prepared("apply_record_events", a(event_id), a(event_order), a(event_kind),
                         a(event_source), a(event_changed));
  }
};

}  // namespace

void prepareApplyGroup(pqxx::connection& connection) {
  prepareReads(connection);
  prepareRowWrites(connection);
  prepareGroupWrites(connection);
}

std::optional<std::vector<ApplyOutcome>> applyGroupInTransaction(
    pqxx::work& work, const std::vector<const IncomingEvent*>& group) {
  std::set<std::string> seen = seenIds(work, group);
  HeldRows rows = readRows(work, group);
  GroupRecords records;
  std::vector<ApplyOutcome> outcomes;
  outcomes.reserve(group.size());
  for (const IncomingEvent* e : group) {
    if (!seen.insert(e->dedup_id).second) {
      outcomes.push_back(ApplyOutcome::Duplicate);
      continue;
    }
    const auto order = rows.orders.find(e->order_id);
    if (order == rows.orders.end()) {
      outcomes.push_back(ApplyOutcome::UnknownOrder);
      continue;
    }
    HeldPosition& position = rows.positions[order->second.state.symbol];
    const Applied out =
        e->relevant ? applyBrokerEvent(order->second.state, rows.cash, position.state, e->event)
                    : Applied{order->second.state, rows.cash, position.state, {}, "", false};
    if (out.changed && !writeRows(work, *e, rows, order->second, position, out))
      return std::nullopt;
    records.journal(*e, out);
    records.record(*e, out);
    outcomes.push_back(out.overfill || out.uncovered ? ApplyOutcome::Alarmed
                       : out.changed                 ? ApplyOutcome::Applied
                                                     : ApplyOutcome::Unchanged);
  }
  records.write(work, rows.account_id);
  return outcomes;
}

}  // namespace fbg::ledger
