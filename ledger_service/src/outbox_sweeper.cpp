#include "outbox_sweeper.h"

#include "consumer_cursors.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/redis_scripts.h"
#include "domain/outbox_sweep.h"

namespace fbg::ledger {
namespace {

// KEYS[1] the stream; ARGV relay_seq, MAXLEN, kind, order_id, payload. Returns the new id, or
// the refusal. The row's own id first: it goes in when the stream lost everything after it too.
constexpr const char* kRepublishBody = R"lua(
local function add(id)
  return redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], id,
                     'kind', ARGV[3], 'order_id', ARGV[4], 'payload', ARGV[5])
end
local added = add(ARGV[1] .. '-0')
if type(added) == 'table' and added.err then
  local ms = lastGeneratedMs(KEYS[1])
  if not ms then return added end
  return add(ms .. '-*')
end
return added
)lua";

std::string streamOf(const std::string& broker) {
  return "orders:" + broker;
}

}  // namespace

void OutboxSweeper::prepareStatements(pqxx::connection& c) {
  // The next rows past the mark, numbered by the relay, with their order's status; due: sent
  // longer ago than the grace ($2 ms). The sweep stops at the first row not due.
  c.prepare("outbox_sweep_rows",
            "SELECT o.relay_seq, o.broker, o.kind, o.order_id, o.payload, r.status, "
            "o.sent_at IS NOT NULL AND o.sent_at < clock_timestamp() - $2 * interval '1 ms' "
            "FROM outbox o JOIN orders r USING (order_id) WHERE o.relay_seq > $1 "
            "ORDER BY o.relay_seq LIMIT $3");
  // A republished NEW's later CANCELs, sent already (rare: only after a loss, so no index on
  // order_id for it).
  c.prepare("outbox_sweep_cancels",
            "SELECT relay_seq, broker, kind, order_id, payload FROM outbox WHERE order_id = $1 "
            "AND kind = 'CANCEL' AND relay_seq > $2 AND sent_at IS NOT NULL ORDER BY relay_seq");
}

OutboxSweeper::OutboxSweeper(OutboxSweeperSettings settings, PgPool& pool, RedisPool& redis,
                             MetricsRegistry& metrics)
    : settings_(settings),
      pool_(pool),
      redis_(redis),
      republished_(metrics.counter("ledger_outbox_republished_total",
                                   "Sent outbox rows whose stream entry was lost, published "
                                   "again by the outbox sweep.")),
      sweep_({"outbox sweep", "ledger_outbox_sweep", settings.interval_ms, settings.batch_size_max},
             redis,
             {[this] { return readConsumerCursor(pool_, "outbox_swept"); },
              [this](int64_t mark) {
                republished_cancels_.erase(republished_cancels_.begin(),
                                           republished_cancels_.upper_bound(mark));
                return advanceConsumerCursor(pool_, "outbox_swept", mark);
              },
              [this](int64_t mark, int limit) { return due(mark, limit); },
              [this](std::size_t index, bool in_stream) { return settle(index, in_stream); }},
             metrics) {}

Result<std::vector<SweptEntry>> OutboxSweeper::due(int64_t mark, int limit) {
  batch_.clear();
  auto read = withConnection<Ok>(pool_, [&](pqxx::connection& c) -> Status {
    pqxx::nontransaction work(c);
    for (const auto& r : work.exec_prepared("outbox_sweep_rows", mark, settings_.grace_ms, limit)) {
      if (!r[6].as<bool>()) break;
      batch_.push_back({r[0].as<int64_t>(), r[1].as<std::string>(), r[2].as<std::string>(),
                        r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<std::string>()});
    }
    return Ok{};
  });
  if (!read) return read.error();
  std::vector<SweptEntry> entries;
  for (const Row& row : batch_) {
    entries.push_back({row.relay_seq, streamOf(row.broker), std::to_string(row.relay_seq) + "-0",
                       "order_id", row.order_id});
  }
  return entries;
}

bool OutboxSweeper::settle(std::size_t index, bool in_stream) {
  const Row& row = batch_.at(index);
  // A CANCEL published again with its NEW (in this round or an earlier one) is settled.
  if (republished_cancels_.count(row.relay_seq) != 0) return true;
  const auto status = parseOrderStatus(row.order_status);
  if (!status) {
    spdlog::error("outbox sweep: order {} has status {}", row.order_id, row.order_status);
    return false;
  }
  return findOutboxRow(in_stream, row.kind, *status) != OutboxRowFinding::Lost ||
         republishWithCancels(row);
}

bool OutboxSweeper::republish(const Row& row) {
  static const std::string script = std::string(kLuaLastGeneratedMs) + kRepublishBody;
  auto added = redis_.command(
      {"EVAL", script, "1", streamOf(row.broker), std::to_string(row.relay_seq),
       std::to_string(settings_.stream_length_max), row.kind, row.order_id, row.payload});
  if (!added || added->kind != RedisReply::Kind::String) {
    spdlog::warn("outbox sweep: {} {} of order {} not published again: {}", row.kind, row.relay_seq,
                 row.order_id, added ? added->text : added.error().message);
    return false;
  }
  republished_.add();
  spdlog::error(
      "outbox sweep: the {} entry {}-0 of order {} was lost from {} (the order is still {}); "
      "published again as {}",
      row.kind, row.relay_seq, row.order_id, streamOf(row.broker), row.order_status, added->text);
  return true;
}

bool OutboxSweeper::republishWithCancels(const Row& row) {
  if (!republish(row)) return false;
  if (row.kind != "NEW") return true;
  auto cancels = withConnection<std::vector<Row>>(
      pool_, [&row](pqxx::connection& c) -> Result<std::vector<Row>> {
        pqxx::nontransaction work(c);
        std::vector<Row> rows;
        for (const auto& r :
             work.exec_prepared("outbox_sweep_cancels", row.order_id, row.relay_seq)) {
          rows.push_back({r[0].as<int64_t>(), r[1].as<std::string>(), r[2].as<std::string>(),
                          r[3].as<std::string>(), r[4].as<std::string>(), row.order_status});
        }
        return rows;
      });
  if (!cancels) {
    spdlog::warn("outbox sweep: cancels of order {}: {}", row.order_id, cancels.error().message);
    return false;
  }
  for (const Row& cancel : *cancels) {
    if (!republish(cancel)) return false;
    republished_cancels_.insert(cancel.relay_seq);
  }
  return true;
}

}  // namespace fbg::ledger
