#include "outbox_sweeper.h"

#include "consumer_cursors.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/redis_scripts.h"
#include "common/sweep_mark.h"
#include "domain/outbox_sweep.h"
#include "outbox_relay.h"

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

// Bounds a round's work after a long outage: the rest waits for the next round.
constexpr int kBatchesPerRoundMax = 20;

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
      mark_gauge_(metrics.gauge("ledger_outbox_sweep_mark",
                                "The relay_seq below which every sent row is checked.")),
      task_(
          "outbox sweep", std::max(1, settings.interval_ms), [this] { return round(); },
          metrics.counter("ledger_outbox_sweep_failures_total",
                          "Outbox sweep rounds ended by an error (database or Redis "
                          "unreachable).")) {}

Status OutboxSweeper::round() {
  if (mark_ < 0) {
    auto stored = readConsumerCursor(pool_, "outbox_swept");
    if (!stored) return stored.error();
    mark_ = *stored;
  }
  // Batches until the due rows run out (or a batch leaves one unsettled), a bound per round.
  for (int batch = 0; batch < kBatchesPerRoundMax && !task_.stopping(); ++batch) {
    auto more = sweepBatch();
    if (!more) return more.error();
    if (!*more) break;
  }
  mark_gauge_.set(mark_);
  return Ok{};
}

Result<bool> OutboxSweeper::sweepBatch() {
  auto rows = dueRows();
  if (!rows) return rows.error();
  if (rows->empty()) return false;
  auto present = inStream(*rows);
  if (!present) return present.error();
  std::vector<int64_t> relay_seqs;
  std::vector<bool> settled;
  for (std::size_t i = 0; i < rows->size(); ++i) {
    const Row& row = (*rows)[i];
    const auto status = parseOrderStatus(row.order_status);
    if (!status) return makeError(ErrorCode::Internal, "order status " + row.order_status);
    const OutboxRowFinding finding = findOutboxRow((*present)[i], row.kind, *status);
    relay_seqs.push_back(row.relay_seq);
    // A CANCEL published again with its NEW (in this round or an earlier one) is settled.
    const bool done_with_its_new = republished_cancels_.count(row.relay_seq) != 0;
    settled.push_back(finding != OutboxRowFinding::Lost || done_with_its_new ||
                      republishWithCancels(row));
    if (!settled.back()) break;  // Redis refused: the rest waits, in order, for the next round
  }
  const int64_t mark = markOverSettled(mark_, relay_seqs, settled);
  if (mark > mark_) {
    if (auto stored = advanceConsumerCursor(pool_, "outbox_swept", mark); !stored) {
      return stored.error();
    }
    mark_ = mark;
    republished_cancels_.erase(republished_cancels_.begin(),
                               republished_cancels_.upper_bound(mark_));
  }
  return static_cast<int>(rows->size()) == settings_.batch_size_max &&
         mark == rows->back().relay_seq;
}

Result<std::vector<OutboxSweeper::Row>> OutboxSweeper::dueRows() {
  return withConnection<std::vector<Row>>(
      pool_, [this](pqxx::connection& c) -> Result<std::vector<Row>> {
        pqxx::nontransaction work(c);
        std::vector<Row> rows;
        for (const auto& r : work.exec_prepared("outbox_sweep_rows", mark_, settings_.grace_ms,
                                                settings_.batch_size_max)) {
          if (!r[6].as<bool>()) break;
          rows.push_back({r[0].as<int64_t>(), r[1].as<std::string>(), r[2].as<std::string>(),
                          r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<std::string>()});
        }
        return rows;
      });
}

Result<std::vector<bool>> OutboxSweeper::inStream(const std::vector<Row>& rows) {
  std::vector<std::vector<std::string>> commands;
  for (const Row& row : rows) {
    const std::string id = std::to_string(row.relay_seq) + "-0";
    commands.push_back({"XRANGE", streamOf(row.broker), id, id});
  }
  auto replies = redis_.pipeline(commands);
  if (!replies) return replies.error();
  if (replies->size() != rows.size()) return makeError(ErrorCode::Unavailable, "short pipeline");
  std::vector<bool> present(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const RedisReply& reply = (*replies)[i];
    if (reply.kind != RedisReply::Kind::Array) {  // LOADING after a restart, for example
      return makeError(ErrorCode::Unavailable, "XRANGE: " + reply.text);
    }
    present[i] = reply.elements.size() == 1 &&
                 entryHoldsOrder(reply.elements[0], rows[i].kind, rows[i].order_id);
  }
  return present;
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
