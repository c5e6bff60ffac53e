#include "apply_group.h"

#include <cassert>
#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "common/pg_pool.h"
#include "ledger_rows.h"

namespace fbg::ledger {
namespace {

// The group's one write (migration 004 draws the ops): the row writes in event order, then the
// records, each from arrays in event order. `written` is read by every insert, so the row
// writes run first; a version conflict in them raises 40001 and nothing of the group stays.
//   $1 ops (jsonb)  $2 journal entries' accounts (text[], one per entry)
//   $3..$6 journal entries (kind, order, exec id, reference; numbered from 1 in array order)
//   $7..$11 journal lines (the entry's reference, line number, book, asset, amount)
//   $12..$20 fills (broker, exec id, order, quantity, price, executed at, booked, alarm, seq)
//   $21..$25 other events (event id, order, kind, source, changed)
void prepareWrite(pqxx::connection& c) {
  c.prepare("apply_write",
            "WITH written AS (SELECT apply_row_writes($1::jsonb) AS writes), "
            "entry AS (INSERT INTO journal_entries (account_id, kind, order_id, exec_id, "
            "reference) SELECT e.account_id, e.kind, e.order_id, nullif(e.exec_id, ''), "
            "e.reference FROM written, unnest($2::text[], $3::text[], $4::text[], $5::text[], "
            "$6::text[]) WITH ORDINALITY AS e(account_id, kind, order_id, exec_id, reference, n) "
            "ORDER BY e.n "
            "RETURNING entry_id, reference), "
            "entry_lines AS (INSERT INTO journal_lines (entry_id, line_no, book, asset, amount) "
            "SELECT entry.entry_id, l.line_no, l.book, l.asset, l.amount FROM "
            "unnest($7::text[], $8::smallint[], $9::text[], $10::text[], $11::numeric[]) "
            "AS l(reference, line_no, book, asset, amount) "
            "JOIN entry ON entry.reference = l.reference), "
            "fills AS (INSERT INTO executions (broker, exec_id, order_id, quantity, price, "
            "executed_at, booked, alarm, fill_receiver_seq) SELECT f.broker, f.exec_id, "
            "f.order_id, f.quantity, f.price, coalesce(nullif(f.executed_at, '')::timestamptz, "
            "clock_timestamp()), f.booked, nullif(f.alarm, ''), nullif(f.seq, 0) FROM written, "
            "unnest($12::text[], $13::text[], $14::text[], $15::bigint[], $16::numeric[], "
            "$17::text[], $18::boolean[], $19::text[], $20::bigint[]) AS f(broker, exec_id, "
            "order_id, quantity, price, executed_at, booked, alarm, seq)), "
            "events AS (INSERT INTO applied_events (event_id, order_id, kind, source, changed) "
            "SELECT v.event_id, v.order_id, v.kind, v.source, v.changed FROM written, "
            "unnest($21::text[], $22::text[], $23::text[], $24::text[], $25::boolean[]) "
            "AS v(event_id, order_id, kind, source, changed)) "
            "SELECT writes FROM written");
}

void prepareRead(pqxx::connection& c) {
  // Column 0: the ids already applied, a JSON array of text (fills as "{broker}:{exec_id}",
  // their dedup id; other events by event id), on every row. Then the orders, their account
  // and positions (NULLs where the account holds none of the symbol), the columns loadRows()
  // takes, in its order; one row of NULLs after column 0 when no order is known.
  c.prepare("apply_read",
            "WITH seen AS (SELECT x.broker || ':' || x.exec_id AS id FROM executions x "
            "JOIN unnest($1::text[], $2::text[]) AS f(broker, exec_id) USING (broker, exec_id) "
            "UNION ALL SELECT event_id FROM applied_events WHERE event_id = ANY($3::text[])), "
            "held AS (SELECT o.order_id, o.account_id, o.status, o.side, o.symbol, o.quantity, "
            "o.limit_price::text, o.filled_quantity, o.fill_notional::text, "
            "o.reserved_amount::text, o.reserved_quantity, o.version, a.cash_balance::text, "
            "a.cash_reserved::text, a.version AS account_version, p.quantity AS p_quantity, "
            "p.quantity_reserved, p.cost_basis::text AS p_cost_basis, p.version AS p_version "
            "FROM orders o JOIN accounts a ON a.account_id = o.account_id "
            "LEFT JOIN positions p ON p.account_id = o.account_id AND p.symbol = o.symbol "
            "WHERE o.order_id = ANY($4::text[])) "
            "SELECT (SELECT coalesce(json_agg(id), '[]')::text FROM seen), held.* "
            "FROM (SELECT 1) AS one LEFT JOIN held ON true");
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

// Columns of apply_read after column 0 (the ids seen), from `at`.
OrderState orderState(const pqxx::row& r, int at) {
  OrderState o;
  o.status = parseOrderStatus(r[at + 2].as<std::string>()).value_or(OrderStatus::PendingNew);
  o.side = parseSide(r[at + 3].as<std::string>()).value_or(Side::Buy);
  o.symbol = r[at + 4].as<std::string>();
  o.quantity = r[at + 5].as<int64_t>();
  if (!r[at + 6].is_null()) o.limit_price = readMoney(r[at + 6]);
  o.filled_quantity = r[at + 7].as<int64_t>();
  o.fill_notional = readMoney(r[at + 8]);
  o.reserved_amount = readMoney(r[at + 9]);
  o.reserved_quantity = r[at + 10].as<int64_t>();
  return o;
}

struct GroupRead {
  std::set<std::string> seen;                     // dedup ids already applied
  std::map<std::string, HeldRows> accounts;       // by account id
  std::map<std::string, std::string> account_of;  // order id -> account id
};

GroupRead loadRead(const pqxx::result& result) {
  GroupRead read;
  constexpr int at = 1;
  bool first = true;
  for (const auto& r : result) {
    if (first) {
      for (const auto& id : nlohmann::json::parse(r[0].c_str()))
        read.seen.insert(id.get<std::string>());
      first = false;
    }
    if (r[at].is_null()) continue;  // no order known
    const std::string account_id = r[at + 1].as<std::string>();
    read.account_of[r[at].as<std::string>()] = account_id;
    HeldRows& g = read.accounts[account_id];
    g.account_id = account_id;
    g.orders[r[at].as<std::string>()] = {orderState(r, at), r[at + 11].as<int64_t>()};
    g.cash = {readMoney(r[at + 12]), readMoney(r[at + 13])};
    g.account_version = r[at + 14].as<int64_t>();
    if (!r[at + 18].is_null()) {
      g.positions[r[at + 4].as<std::string>()] = {
          {r[at + 15].as<int64_t>(), r[at + 16].as<int64_t>(), readMoney(r[at + 17])},
          r[at + 18].as<int64_t>()};
    }
  }
  return read;
}

GroupRead readGroup(pqxx::transaction_base& tx, const std::vector<const IncomingEvent*>& group) {
  std::vector<std::string> brokers, exec_ids, event_ids, order_ids;
  for (const IncomingEvent* e : group) {
    order_ids.push_back(e->order_id);
    if (e->is_fill) {
      brokers.push_back(e->broker);
      exec_ids.push_back(e->exec_id);
    } else {
      event_ids.push_back(e->dedup_id);
    }
  }
  return loadRead(tx.exec_prepared("apply_read", pgArrayLiteral(brokers), pgArrayLiteral(exec_ids),
                                   pgArrayLiteral(event_ids), pgArrayLiteral(order_ids)));
}

// The rows an event changed, as ops of apply_row_writes (migration 004), each guarded by the
// version the group holds; takes the new states and versions (held + 1) into `g`.
void addRowWrites(nlohmann::json& ops, const IncomingEvent& e, HeldRows& g, HeldOrder& order,
                  HeldPosition& position, const Applied& out) {
  const std::string actor = "broker:" + (e.broker.empty() ? std::string("gateway") : e.broker);
  const OrderState& o = out.order;
  ops.push_back({{"row", "order"},
                 {"id", e.order_id},
                 {"actor", actor},
                 {"request_id", e.dedup_id},
                 {"status", std::string(toText(o.status))},
                 {"filled_quantity", o.filled_quantity},
                 {"fill_notional", o.fill_notional.toString()},
                 {"reserved_amount", o.reserved_amount.toString()},
                 {"reserved_quantity", o.reserved_quantity},
                 {"reject_reason", e.event.reason},
                 {"version", order.version}});
  order = {o, order.version + 1};
  if (out.cash.balance != g.cash.balance || out.cash.reserved != g.cash.reserved) {
    ops.push_back({{"row", "account"},
                   {"id", g.account_id},
                   {"actor", actor},
                   {"request_id", e.dedup_id},
                   {"cash_balance", out.cash.balance.toString()},
                   {"cash_reserved", out.cash.reserved.toString()},
                   {"version", g.account_version}});
    g.cash = out.cash;
    g.account_version += 1;
  }
  const PositionState& p = out.position;
  const PositionState& held = position.state;
  if (p.quantity != held.quantity || p.quantity_reserved != held.quantity_reserved ||
      p.cost_basis != held.cost_basis) {
    ops.push_back({{"row", "position"},
                   {"id", g.account_id},
                   {"symbol", o.symbol},
                   {"actor", actor},
                   {"request_id", e.dedup_id},
                   {"quantity", p.quantity},
                   {"quantity_reserved", p.quantity_reserved},
                   {"cost_basis", p.cost_basis.toString()},
                   {"version", position.version}});
    position = {p, position.version + 1};
  }
}

// What the group writes at its end, one statement per table (arrays in event order).
struct GroupRecords {
  std::vector<std::string> entry_account, entry_kind, entry_order, entry_exec, entry_reference;
  std::vector<std::string> line_reference, line_no, line_book, line_asset, line_amount;
  std::vector<std::string> fill_broker, fill_exec, fill_order, fill_quantity, fill_price, fill_time,
      fill_booked, fill_alarm, fill_seq;
  std::vector<std::string> event_id, event_order, event_kind, event_source, event_changed;

  [[nodiscard]] bool empty() const {
    return entry_reference.empty() && fill_exec.empty() && event_id.empty();
  }

  void journal(const IncomingEvent& e, const std::string& account_id, const Applied& out) {
    if (out.journal.empty()) return;
    entry_account.push_back(account_id);
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

  void write(pqxx::transaction_base& tx, const nlohmann::json& ops) const {
    const auto a = [](const std::vector<std::string>& v) { return pgArrayLiteral(v); };
    tx.exec_prepared("apply_write", ops.dump(), a(entry_account), a(entry_kind), a(entry_order),
                     a(entry_exec), a(entry_reference), a(line_reference), a(line_no), a(line_book),
                     a(line_asset), a(line_amount), a(fill_broker), a(fill_exec), a(fill_order),
                     a(fill_quantity), a(fill_price), a(fill_time), a(fill_booked), a(fill_alarm),
                     a(fill_seq), a(event_id), a(event_order), a(event_kind), a(event_source),
                     a(event_changed));
  }
};

}  // namespace

void prepareApplyGroup(pqxx::connection& connection) {
  prepareRead(connection);
  prepareWrite(connection);
}

std::vector<ApplyOutcome> applyGroupAsTwoStatements(
    pqxx::transaction_base& tx, const std::vector<const IncomingEvent*>& group) {
  GroupRead read = readGroup(tx, group);
  nlohmann::json ops = nlohmann::json::array();
  GroupRecords records;
  std::vector<ApplyOutcome> outcomes;
  outcomes.reserve(group.size());
  for (const IncomingEvent* e : group) {
    if (!read.seen.insert(e->dedup_id).second) {
      outcomes.push_back(ApplyOutcome::Duplicate);
      continue;
    }
    const auto account = read.account_of.find(e->order_id);
    if (account == read.account_of.end()) {
      outcomes.push_back(ApplyOutcome::UnknownOrder);
      continue;
    }
    HeldRows& rows = read.accounts[account->second];
    const auto order = rows.orders.find(e->order_id);
    assert(order != rows.orders.end());  // account_of and orders come from the same rows
    HeldPosition& position = rows.positions[order->second.state.symbol];
    const Applied out =
        e->relevant ? applyBrokerEvent(order->second.state, rows.cash, position.state, e->event)
                    : Applied{order->second.state, rows.cash, position.state, {}, "", false};
    if (out.changed) addRowWrites(ops, *e, rows, order->second, position, out);
    records.journal(*e, rows.account_id, out);
    records.record(*e, out);
    outcomes.push_back(out.overfill || out.uncovered ? ApplyOutcome::Alarmed
                       : out.changed                 ? ApplyOutcome::Applied
                                                     : ApplyOutcome::Unchanged);
  }
  if (!ops.empty() || !records.empty()) records.write(tx, ops);
  return outcomes;
}

}  // namespace fbg::ledger
