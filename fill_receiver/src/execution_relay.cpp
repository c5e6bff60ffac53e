#include "execution_relay.h"

#include "common/redis_scripts.h"
#include "common/time_text.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>

namespace fbg::fills {

ExecutionRelay::ExecutionRelay(RelaySettings settings, PgPool& pool, RedisPool& redis,
                               MetricsRegistry& metrics)
    : settings_(std::move(settings)),
      pool_(pool),
      redis_(redis),
      handoff_(static_cast<std::size_t>(settings_.handoff_rows_max)),
      rounds_(metrics.counter("fills_relay_rounds_total",
                              "Rounds of the relay (a script call each when it publishes).")),
      table_reads_(metrics.counter("fills_relay_table_reads_total",
                                   "Rounds that read the executions table (one statement each, "
                                   "marking what was published since the last).")),
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
  if (unmarked_.empty()) return;
  try {
    if (FillsStore(pool_).markThenUnpublished(unmarked_, 0)) unmarked_.clear();
  } catch (const std::exception& failure) {
    spdlog::warn("execution relay: {}", failure.what());
  }
  if (!unmarked_.empty()) {
    spdlog::warn("execution relay: {} rows published but left unmarked", unmarked_.size());
  }
}

void ExecutionRelay::offer(std::vector<StoredExecution> rows) {
  if (rows.empty()) return;
  {
    std::lock_guard lock(mutex_);
    handoff_.offer(std::move(rows));
    woken_ = true;
  }
  wake_.notify_one();
}

void ExecutionRelay::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_one();
}

void ExecutionRelay::requireTableRead() {
  std::lock_guard lock(mutex_);
  handoff_.requireTableRead();
}

void ExecutionRelay::run() {
  while (!stopping_) {
    int relayed = -1;
    try {
      rounds_.add();
      relayed = relayBatch();
    } catch (const std::exception& failure) {
      spdlog::warn("execution relay: {}", failure.what());
      requireTableRead();
    }
    if (relayed >= settings_.batch_size_max) continue;
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, std::chrono::milliseconds(waitMs(relayed)),
                   [this] { return woken_ || stopping_.load(); });
    woken_ = false;
  }
}

// After a failure, soon; with rows published and not marked, until the table read that marks
// them is due; else the idle bound. The writer's offers wake the relay before any of these.
int ExecutionRelay::waitMs(int relayed) const {
  if (relayed < 0) return settings_.poll_interval_ms;
  if (unmarked_.empty()) return settings_.idle_wait_ms_max;
  const auto since = std::chrono::steady_clock::now() - last_table_read_;
  const auto left = std::chrono::milliseconds(settings_.table_read_interval_ms) -
                    std::chrono::duration_cast<std::chrono::milliseconds>(since);
  return static_cast<int>(std::clamp<int64_t>(left.count(), 1, settings_.idle_wait_ms_max));
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

// The table: one statement, marking every row published since the last read and reading the
// oldest unpublished ones (those not handed over included).
Result<std::vector<StoredExecution>> ExecutionRelay::readTable(FillsStore& store) {
  table_reads_.add();
  auto rows = store.markThenUnpublished(unmarked_, settings_.batch_size_max);
  if (!rows) return rows;
  unmarked_.clear();
  last_table_read_ = std::chrono::steady_clock::now();
  // A full batch: more may wait in the table, read it again before memory.
  if (static_cast<int>(rows->size()) >= settings_.batch_size_max) requireTableRead();
  return rows;
}

Result<std::vector<StoredExecution>> ExecutionRelay::roundRows(FillsStore& store,
                                                               bool& from_table) {
  const bool due = std::chrono::steady_clock::now() - last_table_read_ >=
                       std::chrono::milliseconds(settings_.table_read_interval_ms) ||
                   unmarked_.size() >= static_cast<std::size_t>(settings_.handoff_rows_max);
  RelayRound round;
  {
    std::lock_guard lock(mutex_);
    round = handoff_.next(static_cast<std::size_t>(settings_.batch_size_max),
                          published_through_seq_, due);
  }
  from_table = round.source == RelaySource::Table;
  if (from_table) return readTable(store);
  return std::move(round.rows);
}

// One round: the rows from memory or from the table (one statement), one script for the batch.
// A publication that failed or stopped short sends the next round to the table, which holds
// the rows memory dropped.
int ExecutionRelay::relayBatch() {
  FillsStore store(pool_);
  bool from_table = false;
  auto rows = roundRows(store, from_table);
  if (!rows) {
    requireTableRead();
    return -1;
  }
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
  const int64_t now_us = wallClockUs();
  for (int i = 0; i < count; ++i) {
    const int64_t seq = (*rows)[static_cast<std::size_t>(i)].seq;
    unmarked_.push_back(PublishedRow{seq, now_us});
    published_through_seq_ = std::max(published_through_seq_, seq);
  }
  published_.add(count);
  if (published) noteAnomalies(*published, *rows);
  const bool complete =
      published && published->refusal.empty() && static_cast<std::size_t>(count) == rows->size();
  if (!complete) requireTableRead();
  const bool full_table_read =
      from_table && static_cast<int>(rows->size()) >= settings_.batch_size_max;
  noteBacklog(store, rows->size() - static_cast<std::size_t>(count), full_table_read);
  return complete ? count : -1;
}

// What is held in memory and what this round left, exact unless a table read was full (more
// wait in the table): only then is the count worth its scan. The rows this round published are
// not marked yet, so the count still holds them.
void ExecutionRelay::noteBacklog(FillsStore& store, std::size_t left_in_round,
                                 bool full_table_read) {
  if (!full_table_read) {
    std::size_t held = 0;
    {
      std::lock_guard lock(mutex_);
      held = handoff_.held();
    }
    backlog_.set(static_cast<int64_t>(held + left_in_round));
  } else if (auto backlog = store.unpublishedCount(); backlog) {
    backlog_.set(std::max<int64_t>(0, *backlog - static_cast<int64_t>(unmarked_.size())));
  }
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
