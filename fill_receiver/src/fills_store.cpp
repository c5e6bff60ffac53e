#include "fills_store.h"

#include <nlohmann/json.hpp>

#include "domain/durable_horizon.h"

namespace fbg::fills {
namespace {

constexpr const char* kColumns =
    "seq, broker, exec_id, order_id, cl_ord_id, broker_order_id, exec_type, ord_status, symbol, "
    "side, order_qty, last_qty, last_px::text, cum_qty, leaves_qty, avg_px::text, "
    "transact_time, text, rfc3339(received_at)";

Money money(const pqxx::field& field) {
  auto parsed = Money::parse(field.as<std::string>());
  return parsed ? *parsed : Money();
}

StoredExecution readRow(const pqxx::row& row) {
  StoredExecution out;
  ExecutionRecord& r = out.record;
  out.seq = row[0].as<int64_t>();
  r.broker = row[1].as<std::string>();
  r.exec_id = row[2].as<std::string>();
  r.order_id = row[3].as<std::string>();
  r.cl_ord_id = row[4].as<std::string>();
  r.broker_order_id = row[5].as<std::string>();
  r.exec_type = row[6].as<std::string>()[0];
  r.ord_status = row[7].as<std::string>()[0];
  r.symbol = row[8].as<std::string>();
  r.side = row[9].as<std::string>();
  r.order_qty = row[10].as<int64_t>();
  r.last_qty = row[11].as<int64_t>();
  r.last_px = money(row[12]);
  r.cum_qty = row[13].as<int64_t>();
  r.leaves_qty = row[14].as<int64_t>();
  r.avg_px = money(row[15]);
  r.transact_time = row[16].as<std::string>();
  r.text = row[17].as<std::string>();
  out.received_at = row[18].as<std::string>();
  return out;
}

// The batch writer's statement (store_batch).
// $1: the reports as a JSON array (n: position in the batch, so seq follows the batch order);
// $2: [{session_id, next_target_seq}]. ON CONFLICT DO NOTHING also skips the second of two
// reports with one (broker, exec_id) inside the batch. Returns the stored rows in seq order, as
// the relay's read returns them (%COLUMNS%: kColumns). `acknowledged` runs whether or not the
// query reads it: PostgreSQL carries out every data-modifying WITH statement to completion.
constexpr const char* kStoreBatchSql =
    "WITH reports AS ("
    "  SELECT * FROM json_to_recordset($1::json) AS r(n int, broker text, exec_id text, "
    "    order_id text, cl_ord_id text, broker_order_id text, exec_type text, ord_status text, "
    "    symbol text, side text, order_qty bigint, last_qty bigint, last_px numeric, "
    "    cum_qty bigint, leaves_qty bigint, avg_px numeric, transact_time text, text text, "
    "    raw_message text)), "
    "inserted AS ("
    "  INSERT INTO executions (broker, exec_id, order_id, cl_ord_id, broker_order_id, "
    "    exec_type, ord_status, symbol, side, order_qty, last_qty, last_px, cum_qty, leaves_qty, "
    "    avg_px, transact_time, text, raw_message) "
    "  SELECT broker, exec_id, order_id, cl_ord_id, broker_order_id, exec_type, ord_status, "
    "    symbol, side, order_qty, last_qty, last_px, cum_qty, leaves_qty, avg_px, "
    "    transact_time, text, raw_message FROM reports ORDER BY n "
    "  ON CONFLICT (broker, exec_id) DO NOTHING RETURNING %COLUMNS%), "
    "acknowledged AS ("
    "  UPDATE fix_sessions f SET next_target_seq = GREATEST(f.next_target_seq, a.next_target_seq) "
    "  FROM json_to_recordset($2::json) AS a(session_id text, next_target_seq int) "
    "  WHERE f.session_id = a.session_id RETURNING 1) "
    "SELECT * FROM inserted ORDER BY seq";

std::string storeBatchSql() {
  std::string sql = kStoreBatchSql;
  const std::string placeholder = "%COLUMNS%";
  sql.replace(sql.find(placeholder), placeholder.size(), kColumns);
  return sql;
}

}  // namespace

void FillsStore::prepareStatements(pqxx::connection& c) {
  // libpqxx registers a prepared statement with the server on its first use, so this one may
  // name fix_sessions, which the FIX store creates when the engine starts (after the pool's
  // first connections): the first batch comes from a session of that engine. Prepared, it is
  // parsed once per connection instead of once per batch (0.43 ms of planning a batch when it
  // was not; docs/performance.md).
  c.prepare("store_batch", storeBatchSql());
  c.prepare("executions_after", std::string("SELECT ") + kColumns +
                                    " FROM executions WHERE seq > $1 ORDER BY seq LIMIT $2");
  // The relay's round: marks the rows earlier rounds published, each with its publication
  // time, and reads what is still unpublished (executions_unpublished, a partial index on seq,
  // holds exactly those rows). The read sees the rows as they were before the update (one
  // snapshot), so it leaves the marked rows out by seq.
  //   $1 limit  $2, $3: the published rows' seqs and publication times (µs since the epoch)
  c.prepare("executions_mark_then_unpublished",
            std::string("WITH m AS (SELECT * FROM unnest($2::bigint[], $3::bigint[]) "
                        "AS m(seq, published_us)), "
                        "marked AS (UPDATE executions e SET published_at = timestamptz 'epoch' "
                        "+ m.published_us * interval '1 microsecond' FROM m "
                        "WHERE e.seq = m.seq AND e.published_at IS NULL) SELECT ") +
                kColumns +
                " FROM executions e WHERE published_at IS NULL AND NOT EXISTS (SELECT 1 FROM m "
                "WHERE m.seq = e.seq) ORDER BY seq LIMIT $1");
}

Result<BatchOutcome> FillsStore::storeBatch(const std::vector<PendingReport>& batch) {
  using Json = nlohmann::json;
  Json reports = Json::array();
  std::vector<SessionSeq> numbers;
  int n = 0;
  for (const auto& pending : batch) {
    const ExecutionRecord& r = pending.record;
    reports.push_back(Json{{"n", n++},
                           {"broker", r.broker},
                           {"exec_id", r.exec_id},
                           {"order_id", r.order_id},
                           {"cl_ord_id", r.cl_ord_id},
                           {"broker_order_id", r.broker_order_id},
                           {"exec_type", std::string(1, r.exec_type)},
                           {"ord_status", std::string(1, r.ord_status)},
                           {"symbol", r.symbol},
                           {"side", r.side},
                           {"order_qty", r.order_qty},
                           {"last_qty", r.last_qty},
                           {"last_px", r.last_px.toString()},
                           {"cum_qty", r.cum_qty},
                           {"leaves_qty", r.leaves_qty},
                           {"avg_px", r.avg_px.toString()},
                           {"transact_time", r.transact_time},
                           {"text", r.text},
                           {"raw_message", pending.raw_message}});
    numbers.push_back({pending.session_id, pending.msg_seq_num});
  }
  Json acknowledged = Json::array();
  for (const auto& [session_id, next] : acknowledgedAfter(numbers)) {
    acknowledged.push_back(Json{{"session_id", session_id}, {"next_target_seq", next}});
  }
  // A broker's bytes need not be UTF-8; dump() would throw on them (PostgreSQL's text would
  // refuse them too): replaced, as the gateway does with its JSON parameters.
  const auto text = [](const Json& json) {
    return json.dump(-1, ' ', false, Json::error_handler_t::replace);
  };
  const std::string reports_text = text(reports);
  const std::string acknowledged_text = text(acknowledged);
  const int size = static_cast<int>(batch.size());
  return withConnection<BatchOutcome>(
      pool_, [&](pqxx::connection& connection) -> Result<BatchOutcome> {
        pqxx::nontransaction work(connection);  // one statement: its own transaction
        BatchOutcome outcome;
        for (const auto& row : work.exec_prepared("store_batch", reports_text, acknowledged_text)) {
          outcome.rows.push_back(readRow(row));
        }
        outcome.stored = static_cast<int>(outcome.rows.size());
        outcome.duplicates = size - outcome.stored;
        return outcome;
      });
}

Result<std::vector<StoredExecution>> FillsStore::after(int64_t seq, int limit) {
  using Rows = std::vector<StoredExecution>;
  return withConnection<Rows>(pool_, [&](pqxx::connection& connection) -> Result<Rows> {
    pqxx::nontransaction work(connection);
    Rows rows;
    for (const auto& row : work.exec_prepared("executions_after", seq, limit)) {
      rows.push_back(readRow(row));
    }
    return rows;
  });
}

Status FillsStore::ping() {
  return withConnection<Ok>(pool_, [](pqxx::connection& connection) -> Status {
    pqxx::nontransaction work(connection);
    work.exec("SELECT 1");
    return Ok{};
  });
}

Result<std::vector<StoredExecution>> FillsStore::markThenUnpublished(
    const std::vector<PublishedRow>& marks, int limit) {
  std::vector<std::string> seqs, published_us;
  for (const auto& mark : marks) {
    seqs.push_back(std::to_string(mark.seq));
    published_us.push_back(std::to_string(mark.published_at_us));
  }
  using Rows = std::vector<StoredExecution>;
  return withConnection<Rows>(pool_, [&](pqxx::connection& connection) -> Result<Rows> {
    pqxx::nontransaction work(connection);  // one statement: its own transaction
    Rows rows;
    for (const auto& row : work.exec_prepared("executions_mark_then_unpublished", limit,
                                              pgArrayLiteral(seqs), pgArrayLiteral(published_us))) {
      rows.push_back(readRow(row));
    }
    return rows;
  });
}

Result<int64_t> FillsStore::unpublishedCount() {
  return withConnection<int64_t>(pool_, [](pqxx::connection& connection) -> Result<int64_t> {
    pqxx::nontransaction work(connection);
    return work.exec1("SELECT count(*) FROM executions WHERE published_at IS NULL")[0]
        .as<int64_t>();
  });
}

std::string executionJson(const StoredExecution& stored) {
  const ExecutionRecord& r = stored.record;
  return nlohmann::json{{"seq", stored.seq},
                        {"broker", r.broker},
                        {"exec_id", r.exec_id},
                        {"order_id", r.order_id},
                        {"broker_order_id", r.broker_order_id},
                        {"exec_type", std::string(1, r.exec_type)},
                        {"ord_status", std::string(1, r.ord_status)},
                        {"side", r.side},
                        {"symbol", r.symbol},
                        {"last_qty", r.last_qty},
                        {"last_px", r.last_px.toString()},
                        {"cum_qty", r.cum_qty},
                        {"leaves_qty", r.leaves_qty},
                        {"avg_px", r.avg_px.toString()},
                        {"transact_time", r.transact_time},
                        {"received_at", stored.received_at}}
      .dump();
}

}  // namespace fbg::fills
