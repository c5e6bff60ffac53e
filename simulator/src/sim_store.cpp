#include "sim_store.h"

#include <array>
#include <cassert>
#include <nlohmann/json.hpp>
#include <set>

namespace fbg::simulator {
namespace {

constexpr std::array<std::pair<BrokerOrderStatus, const char*>, 5> kStatusNames{{
    {BrokerOrderStatus::New, "NEW"},
    {BrokerOrderStatus::PartiallyFilled, "PARTIALLY_FILLED"},
    {BrokerOrderStatus::Filled, "FILLED"},
    {BrokerOrderStatus::Canceled, "CANCELED"},
    {BrokerOrderStatus::Rejected, "REJECTED"},
}};

const char* statusName(BrokerOrderStatus status) {
  for (const auto& [value, name] : kStatusNames) {
    if (value == status) return name;
  }
  return "REJECTED";
}

BrokerOrderStatus statusFromName(const std::string& name) {
  for (const auto& [value, text] : kStatusNames) {
    if (name == text) return value;
  }
  assert(false && "unknown status in sim_orders");
  return BrokerOrderStatus::Rejected;
}

Money money(const pqxx::field& field) {
  return Money::parse(field.c_str()).value();
}

// What record() writes, as JSON arrays for json_to_recordset: one statement takes every row.
std::string ordersJsonRows(const std::vector<const BrokerOrder*>& changed) {
  nlohmann::json rows = nlohmann::json::array();
  std::set<const BrokerOrder*> seen;  // ON CONFLICT DO UPDATE may touch a row once a statement
  for (const BrokerOrder* order : changed) {
    if (!seen.insert(order).second) continue;
    rows.push_back({{"cl_ord_id", order->cl_ord_id},
                    {"broker_order_id", order->broker_order_id},
                    {"symbol", order->symbol},
                    {"side", std::string(toText(order->side))},
                    {"type", std::string(toText(order->type))},
                    {"quantity", order->quantity},
                    {"limit_price", order->limit_price ? order->limit_price->toString() : ""},
                    {"cum_qty", order->cum_qty},
                    {"cum_notional", order->cum_notional.toString()},
                    {"fills_done", order->fills_done},
                    {"status", statusName(order->status)}});
  }
  return rows.dump();
}

std::string reportsJsonRows(const std::vector<ExecutionReport>& reports) {
  nlohmann::json rows = nlohmann::json::array();
  for (const ExecutionReport& report : reports) {
    rows.push_back({{"exec_id", report.exec_id},
                    {"cl_ord_id", report.cl_ord_id},
                    {"orig_cl_ord_id", report.orig_cl_ord_id},
                    {"broker_order_id", report.broker_order_id},
                    {"exec_type", std::string(1, fixCode(report.exec_type))},
                    {"ord_status", std::string(1, fixCode(report.ord_status))},
                    {"symbol", report.symbol},
                    {"side", std::string(toText(report.side))},
                    {"order_qty", report.order_qty},
                    {"last_qty", report.last_qty},
                    {"last_px", report.last_px.toString()},
                    {"cum_qty", report.cum_qty},
                    {"leaves_qty", report.leaves_qty},
                    {"avg_px", report.avg_px.toString()},
                    {"text", report.text}});
  }
  return rows.dump();
}

// $1: the changed orders, $2: the reports in issue order (seq follows the array's order). One
// autocommit statement is atomic like a transaction, and costs one round trip where BEGIN, a
// statement per row and COMMIT cost 4 for an acknowledgement and 2 + 2 per fill for a tick.
constexpr const char* kRecordSql =
    "WITH orders AS (INSERT INTO sim_orders (cl_ord_id, broker_order_id, symbol, side, type, "
    "quantity, limit_price, cum_qty, cum_notional, fills_done, status) "
    "SELECT o.cl_ord_id, o.broker_order_id, o.symbol, o.side, o.type, o.quantity, "
    "NULLIF(o.limit_price, '')::numeric, o.cum_qty, o.cum_notional::numeric, o.fills_done, "
    "o.status FROM json_to_recordset($1::json) AS o(cl_ord_id text, broker_order_id text, "
    "symbol text, side text, type text, quantity bigint, limit_price text, cum_qty bigint, "
    "cum_notional text, fills_done integer, status text) "
    "ON CONFLICT (cl_ord_id) DO UPDATE SET cum_qty = EXCLUDED.cum_qty, cum_notional = "
    "EXCLUDED.cum_notional, fills_done = EXCLUDED.fills_done, status = EXCLUDED.status, "
    "updated_at = clock_timestamp()) "
    "INSERT INTO sim_executions (exec_id, cl_ord_id, orig_cl_ord_id, broker_order_id, exec_type, "
    "ord_status, symbol, side, order_qty, last_qty, last_px, cum_qty, leaves_qty, avg_px, text) "
    "SELECT e.exec_id, e.cl_ord_id, NULLIF(e.orig_cl_ord_id, ''), e.broker_order_id, "
    "e.exec_type, e.ord_status, e.symbol, e.side, e.order_qty, e.last_qty, e.last_px::numeric, "
    "e.cum_qty, e.leaves_qty, e.avg_px::numeric, NULLIF(e.text, '') FROM ROWS FROM ("
    "json_to_recordset($2::json) AS (exec_id text, cl_ord_id text, orig_cl_ord_id text, "
    "broker_order_id text, exec_type text, ord_status text, symbol text, side text, "
    "order_qty bigint, last_qty bigint, last_px text, cum_qty bigint, leaves_qty bigint, "
    "avg_px text, text text)) WITH ORDINALITY AS e(exec_id, cl_ord_id, orig_cl_ord_id, "
    "broker_order_id, exec_type, ord_status, symbol, side, order_qty, last_qty, last_px, "
    "cum_qty, leaves_qty, avg_px, text, n) ORDER BY e.n RETURNING seq, exec_id";

}  // namespace

pqxx::connection& SimStore::connection() {
  if (!connection_ || !connection_->is_open()) {
    connection_ = std::make_unique<pqxx::connection>(postgres_uri_);
    // Parsed and planned once per connection, not once per broker event (pqxx prepares it on
    // first use).
    connection_->prepare("sim_record", kRecordSql);
  }
  return *connection_;
}

std::vector<StoredExecution> SimStore::record(const std::vector<const BrokerOrder*>& changed,
                                              const std::vector<ExecutionReport>& reports) {
  pqxx::nontransaction work(connection());  // one statement: its own transaction
  std::map<std::string, int64_t> seq_by_exec_id;
  for (const auto& row :
       work.exec_prepared("sim_record", ordersJsonRows(changed), reportsJsonRows(reports))) {
    seq_by_exec_id.emplace(row[1].as<std::string>(), row[0].as<int64_t>());
  }
  std::vector<StoredExecution> stored;
  for (const ExecutionReport& report : reports) {
    stored.push_back({seq_by_exec_id.at(report.exec_id), report});
    stored.back().report.ord_rej_reason = -1;  // not stored: as executionsAfter reads it back
  }
  return stored;
}

void SimStore::load(BrokerBook& book) {
  pqxx::nontransaction work(connection());
  const int64_t exec_sequence =
      work.exec1(
              "SELECT coalesce(max(substring(exec_id FROM 2)::bigint), 0) FROM sim_executions "
              "WHERE exec_id ~ '^E[0-9]+$'")[0]
          .as<int64_t>();
  for (const auto& row : work.exec(
           "SELECT cl_ord_id, broker_order_id, symbol, side, type, quantity, limit_price::text, "
           "cum_qty, cum_notional::text, fills_done, status FROM sim_orders ORDER BY created_at")) {
    BrokerOrder order;
    order.cl_ord_id = row[0].as<std::string>();
    order.broker_order_id = row[1].as<std::string>();
    order.symbol = row[2].as<std::string>();
    order.side = parseSide(row[3].as<std::string>()).value();
    order.type = parseOrderType(row[4].as<std::string>()).value();
    order.quantity = row[5].as<int64_t>();
    if (!row[6].is_null()) order.limit_price = money(row[6]);
    order.cum_qty = row[7].as<int64_t>();
    order.cum_notional = money(row[8]);
    order.fills_done = row[9].as<int>();
    order.status = statusFromName(row[10].as<std::string>());
    book.restore(std::move(order));
  }
  book.restoreExecSequence(exec_sequence);
}

std::vector<StoredExecution> SimStore::executionsAfter(int64_t after_seq, int limit) {
  pqxx::nontransaction work(connection());
  std::vector<StoredExecution> out;
  for (const auto& row : work.exec_params(
           "SELECT seq, exec_id, cl_ord_id, coalesce(orig_cl_ord_id, ''), broker_order_id, "
           "exec_type, ord_status, symbol, side, order_qty, last_qty, last_px::text, cum_qty, "
           "leaves_qty, avg_px::text, coalesce(text, '') FROM sim_executions WHERE seq > $1 "
           "ORDER BY seq LIMIT $2",
           after_seq, limit)) {
    StoredExecution stored;
    stored.seq = row[0].as<int64_t>();
    ExecutionReport& r = stored.report;
    r.exec_id = row[1].as<std::string>();
    r.cl_ord_id = row[2].as<std::string>();
    r.orig_cl_ord_id = row[3].as<std::string>();
    r.broker_order_id = row[4].as<std::string>();
    // Our own rows: codes written by record(), so a failed parse is a schema bug.
    r.exec_type =
        execTypeFromFixCode(row[5].as<std::string>().at(0), row[13].as<int64_t>()).value();
    r.ord_status = statusFromFixCode(row[6].as<std::string>().at(0)).value();
    r.symbol = row[7].as<std::string>();
    r.side = parseSide(row[8].as<std::string>()).value();
    r.order_qty = row[9].as<int64_t>();
    r.last_qty = row[10].as<int64_t>();
    r.last_px = money(row[11]);
    r.cum_qty = row[12].as<int64_t>();
    r.leaves_qty = row[13].as<int64_t>();
    r.avg_px = money(row[14]);
    r.text = row[15].as<std::string>();
    out.push_back(std::move(stored));
  }
  return out;
}

void SimStore::setPrice(const std::string& symbol, Money price) {
  pqxx::nontransaction work(connection());
  work.exec_params(
      "INSERT INTO sim_prices (symbol, price) VALUES ($1, $2::numeric) ON CONFLICT (symbol) DO "
      "UPDATE SET price = EXCLUDED.price, updated_at = clock_timestamp()",
      symbol, price.toString());
}

int64_t SimStore::dropCopySentSeq(const std::string& session_id) {
  pqxx::nontransaction work(connection());
  const auto rows =
      work.exec_params("SELECT sent_seq FROM sim_drop_copy WHERE session_id = $1", session_id);
  return rows.empty() ? 0 : rows[0][0].as<int64_t>();
}

void SimStore::setDropCopySentSeq(const std::string& session_id, int64_t seq) {
  pqxx::nontransaction work(connection());
  work.exec_params(
      "INSERT INTO sim_drop_copy (session_id, sent_seq) VALUES ($1, $2) ON CONFLICT (session_id) "
      "DO UPDATE SET sent_seq = GREATEST(sim_drop_copy.sent_seq, EXCLUDED.sent_seq)",
      session_id, seq);
}

std::string SimStore::ordersJson(const std::string& cl_ord_id) {
  pqxx::nontransaction work(connection());
  return work
      .exec_params1(
          "SELECT coalesce(json_agg(json_build_object('cl_ord_id', cl_ord_id, 'broker_order_id', "
          "broker_order_id, 'symbol', symbol, 'side', side, 'quantity', quantity, 'status', "
          "status, 'cum_qty', cum_qty)), '[]'::json)::text FROM sim_orders WHERE cl_ord_id = $1",
          cl_ord_id)[0]
      .as<std::string>();
}

std::map<std::string, Money> SimStore::prices() {
  pqxx::nontransaction work(connection());
  std::map<std::string, Money> prices;
  for (const auto& row : work.exec("SELECT symbol, price::text FROM sim_prices")) {
    prices.emplace(row[0].as<std::string>(), money(row[1]));
  }
  return prices;
}

}  // namespace fbg::simulator
