#include "execution_relay.h"

#include <spdlog/spdlog.h>

namespace fbg::fills {

ExecutionRelay::ExecutionRelay(RelaySettings settings, PgPool& pool, RedisPool& redis,
                               MetricsRegistry& metrics)
    : settings_(std::move(settings)),
      pool_(pool),
      redis_(redis),
      published_(metrics.counter("fills_relay_published_total",
                                 "Execution reports published to the executions stream.")),
      already_present_(metrics.counter("fills_relay_already_in_stream_total",
                                       "Rows found already in the stream (published before a "
                                       "crash kept them unmarked); marked, not doubled.")),
      stream_ahead_(metrics.counter("fills_relay_stream_ahead_total",
                                    "ALARM: the stream's last id is past an unpublished row it "
                                    "does not hold; the row waits for an operator.")),
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
      relayed = relayBatch();
    } catch (const std::exception& failure) {
      spdlog::warn("execution relay: {}", failure.what());
    }
    if (relayed >= settings_.batch_size_max) continue;
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, std::chrono::milliseconds(settings_.poll_interval_ms),
                   [this] { return woken_ || stopping_.load(); });
    woken_ = false;
  }
}

// XADD of one row, stream id "<seq>-0": Redis refuses an id not above the stream's last, so a
// row published before a crash left it unmarked is never added twice.
std::vector<std::string> ExecutionRelay::xaddCommand(const StoredExecution& row) const {
  return {"XADD",
          settings_.stream,
          "MAXLEN",
          "~",
          std::to_string(settings_.stream_length_max),
          std::to_string(row.seq) + "-0",
          "seq",
          std::to_string(row.seq),
          "broker",
          row.record.broker,
          "exec_id",
          row.record.exec_id,
          "order_id",
          row.record.order_id,
          "payload",
          executionJson(row)};
}

// A refused XADD: published already (the stream holds the id), or the alarm.
bool ExecutionRelay::alreadyInStream(const StoredExecution& row, const std::string& refusal) {
  const std::string id = std::to_string(row.seq) + "-0";
  auto present = redis_.command({"XRANGE", settings_.stream, id, id});
  if (present && present->kind == RedisReply::Kind::Array && present->elements.size() == 1) {
    already_present_.add();
    return true;
  }
  stream_ahead_.add();
  spdlog::error("stream {} refused {} ({}) and does not hold it", settings_.stream, id, refusal);
  return false;
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
// pipelined XADD of the batch. The published prefix is marked by the next round, at the latest
// one poll interval later, and at stop: a mark costs no round trip of its own. A crash before
// the mark publishes those rows again, which the stream refuses by id (alreadyInStream).
// Rows are published strictly in seq order, so the first row not published ends it.
// (Rows after it in the same pipeline may be in the stream already; the next round finds
// them there. Only an XADD refused for another reason than its id can put a row behind them,
// where it raises the stream-ahead alarm and the ledger's polling path fetches it.)
int ExecutionRelay::relayBatch() {
  FillsStore store(pool_);
  auto rows = readRound(store);
  if (!rows) return -1;
  if (rows->empty()) {
    backlog_.set(0);
    return 0;
  }
  std::vector<std::vector<std::string>> commands;
  commands.reserve(rows->size());
  for (const auto& row : *rows) commands.push_back(xaddCommand(row));
  const auto added = redis_.pipeline(commands);
  int count = 0;
  for (std::size_t i = 0; added && i < added->size() && i < rows->size(); ++i) {
    const RedisReply& reply = (*added)[i];
    if (reply.kind == RedisReply::Kind::Error && !alreadyInStream((*rows)[i], reply.text)) break;
    ++count;
  }
  if (count > 0) {
    const int64_t first = rows->front().seq;
    const int64_t last = (*rows)[static_cast<std::size_t>(count - 1)].seq;
    unmarked_.emplace(first, last);
    published_.add(count);
  }
  // Exact unless the batch was full; only then is the count worth its scan.
  const bool full = static_cast<int>(rows->size()) >= settings_.batch_size_max;
  if (!full) {
    backlog_.set(static_cast<int64_t>(rows->size()) - count);
  } else if (auto backlog = store.unpublishedCount(); backlog) {
    backlog_.set(*backlog);
  }
  return added ? count : -1;  // Redis down: later
}

}  // namespace fbg::fills
