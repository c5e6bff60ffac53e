#include "execution_relay.h"

#include "common/redis_scripts.h"

#include <spdlog/spdlog.h>

#include <cassert>

namespace fbg::fills {

ExecutionRelay::ExecutionRelay(RelaySettings settings, PgPool& pool, RedisPool& redis,
                               MetricsRegistry& metrics)
    : settings_(std::move(settings)),
      pool_(pool),
      redis_(redis),
      rounds_(metrics.counter("fills_relay_rounds_total",
                              "Rounds of the relay (one statement each, a script call more when "
                              "it publishes).")),
      published_(metrics.counter("fills_relay_published_total",
                                 "Execution reports published to the executions stream.")),
      already_present_(metrics.counter("fills_relay_already_in_stream_total",
                                       "Rows found already in the stream (published before a "
                                       "crash kept them unmarked); marked, not doubled.")),
      stream_ahead_(metrics.counter("fills_relay_stream_ahead_total",
                                    "ALARM: rows the stream had passed before they were "
                                    "published (committed late, or the stream outlived the "
                                    "database); added after its last entry.")),
      backlog_(metrics.gauge("fills_relay_backlog", "Stored reports not yet published.")) {}

ExecutionRelay::~ExecutionRelay() {
  stop();
}

void ExecutionRelay::start() {
  thread_ = std::thread([this] { run(); });
}

void ExecutionRelay::stop() {
  stopping_ = true;
  wake();
  if (thread_.joinable()) thread_.join();
  // Best effort: left unmarked, the rows are offered to the stream again at the next start,
  // which refuses them by id.
  if (!unmarked_) return;
  try {
    if (FillsStore(pool_).markPublished(unmarked_->first, unmarked_->second)) unmarked_.reset();
  } catch (const std::exception& failure) {
    spdlog::warn("execution relay: {}", failure.what());
  }
  if (unmarked_) {
    spdlog::warn("execution relay: seq {}..{} published but left unmarked", unmarked_->first,
                 unmarked_->second);
  }
}

void ExecutionRelay::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_one();
}

void ExecutionRelay::run() {
  while (!stopping_) {
    int relayed = -1;
    try {
      rounds_.add();
      relayed = relayBatch();
    } catch (const std::exception& failure) {
      spdlog::warn("execution relay: {}", failure.what());
    }
    if (relayed >= settings_.batch_size_max) continue;
    std::unique_lock lock(mutex_);
    // A round that published marks its rows in the next one; one that failed retries soon.
    const int wait_ms = relayed == 0 ? settings_.idle_wait_ms_max : settings_.poll_interval_ms;
    wake_.wait_for(lock, std::chrono::milliseconds(wait_ms),
                   [this] { return woken_ || stopping_.load(); });
    woken_ = false;
  }
}

// A batch's XADDs as one script, so that Redis runs all of them or none. A pipeline of XADDs
// could be refused in part: a Redis replaying its append-only file after a restart answers
// LOADING to what it reads before the replay ends and runs the rest, and the rows after the
// refused ones were then in the stream ahead of them. Their own ids below the stream's last,
// those were refused for good, and the ledger saw no fill after them (CI chaos run, 376 orders
// left open).
//
//   KEYS[1] the stream   ARGV[1] MAXLEN (approximate)
//   ARGV[2 + 6k ..]      row k: id "<seq>-0", seq, broker, exec_id, order_id, payload
//   reply               {rows in the stream now (a prefix of the batch), of them found there
//                        already, of them added out of seq order, the refusal that ended it or ""}
//
// A refused id the stream holds was published before a crash kept the row unmarked. A refused
// id it does not hold is below the stream's last: a row that committed after a later one (the
// writer of a killed process finishing its statement late) or a stream kept while the database
// was recreated. Such a row goes in as "<last id's ms>-*", after everything, rather than never:
// the ledger deduplicates on (broker, exec_id) and does not depend on the order of fills.
constexpr const char* kPublishBody = R"lua(
local in_stream, already, out_of_order = 0, 0, 0
local function add(id, i)
  return redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], id, 'seq', ARGV[i + 1],
                     'broker', ARGV[i + 2], 'exec_id', ARGV[i + 3], 'order_id', ARGV[i + 4],
                     'payload', ARGV[i + 5])
end
for i = 2, #ARGV, 6 do
  local id = ARGV[i]
  local added = add(id, i)
  if type(added) == 'table' and added.err then
    if #redis.call('XRANGE', KEYS[1], id, id) == 1 then
      already = already + 1
    else
      local ms = lastGeneratedMs(KEYS[1])
      if not ms then return {in_stream, already, out_of_order, added.err} end
      local late = add(ms .. '-*', i)
      if type(late) == 'table' and late.err then
        return {in_stream, already, out_of_order, late.err}
      end
      out_of_order = out_of_order + 1
    end
  end
  in_stream = in_stream + 1
end
return {in_stream, already, out_of_order, ''}
)lua";

std::vector<std::string> ExecutionRelay::publishCommand(
    const std::vector<StoredExecution>& rows) const {
  static const std::string script = std::string(kLuaLastGeneratedMs) + kPublishBody;
  std::vector<std::string> command = {"EVAL", script, "1", settings_.stream,
                                      std::to_string(settings_.stream_length_max)};
  command.reserve(command.size() + 6 * rows.size());
  for (const auto& row : rows) {
    command.push_back(std::to_string(row.seq) + "-0");
    command.push_back(std::to_string(row.seq));
    command.push_back(row.record.broker);
    command.push_back(row.record.exec_id);
    command.push_back(row.record.order_id);
    command.push_back(executionJson(row));
  }
  return command;
}

// The script's reply; nullopt when Redis refused the script itself (LOADING while it replays
// its file, OOM, ...) or answered something else than the script returns: nothing counted as
// published, later.
std::optional<ExecutionRelay::Published> ExecutionRelay::publishedOf(const RedisReply& reply,
                                                                     std::size_t batch_size) {
  const auto& e = reply.elements;
  const bool shaped = reply.kind == RedisReply::Kind::Array && e.size() == 4 &&
                      e[0].kind == RedisReply::Kind::Integer && e[0].integer >= 0 &&
                      static_cast<std::size_t>(e[0].integer) <= batch_size &&
                      (e[3].text.empty() || static_cast<std::size_t>(e[0].integer) < batch_size);
  if (!shaped) {
    spdlog::warn("execution relay: batch not published: {}",
                 reply.kind == RedisReply::Kind::Error ? reply.text : "unexpected reply");
    return std::nullopt;
  }
  return Published{e[0].integer, e[1].integer, e[2].integer, e[3].text};
}

// One statement: mark what the last round published, read what is still unpublished.
Result<std::vector<StoredExecution>> ExecutionRelay::readRound(FillsStore& store) {
  if (!unmarked_) return store.unpublished(settings_.batch_size_max);
  auto rows =
      store.markThenUnpublished(unmarked_->first, unmarked_->second, settings_.batch_size_max);
  if (rows) unmarked_.reset();
  return rows;
}

// One round: one statement (marking the previous round's rows, reading this round's), one
// script for the batch. The published prefix is marked by the next round, at the latest one poll
// interval later, and at stop: a mark costs no round trip of its own. A crash before the mark
// offers those rows again, which the script finds in the stream by id.
int ExecutionRelay::relayBatch() {
  FillsStore store(pool_);
  auto rows = readRound(store);
  if (!rows) return -1;
  if (rows->empty()) {
    backlog_.set(0);
    return 0;
  }
  const auto reply = redis_.command(publishCommand(*rows));
  // Redis down, or it refused the script: nothing published, later.
  const std::optional<Published> published =
      reply ? publishedOf(*reply, rows->size()) : std::optional<Published>();
  const int count = published ? static_cast<int>(published->in_stream) : 0;
  assert(count >= 0 && static_cast<std::size_t>(count) <= rows->size());
  if (count > 0) {
    unmarked_.emplace(rows->front().seq, (*rows)[static_cast<std::size_t>(count - 1)].seq);
    published_.add(count);
  }
  if (published) noteAnomalies(*published, *rows);
  // Exact unless the batch was full; only then is the count worth its scan.
  const bool full = static_cast<int>(rows->size()) >= settings_.batch_size_max;
  if (!full) {
    backlog_.set(static_cast<int64_t>(rows->size()) - count);
  } else if (auto backlog = store.unpublishedCount(); backlog) {
    backlog_.set(*backlog);
  }
  return published && published->refusal.empty() ? count : -1;
}

void ExecutionRelay::noteAnomalies(const Published& published,
                                   const std::vector<StoredExecution>& rows) {
  already_present_.add(published.already);
  if (published.out_of_order > 0) {
    stream_ahead_.add(published.out_of_order);
    spdlog::error("stream {} was past {} unpublished rows; added after its last entry",
                  settings_.stream, published.out_of_order);
  }
  if (!published.refusal.empty()) {
    spdlog::error("stream {} refused seq {}: {}", settings_.stream,
                  rows[static_cast<std::size_t>(published.in_stream)].seq, published.refusal);
  }
}

}  // namespace fbg::fills
