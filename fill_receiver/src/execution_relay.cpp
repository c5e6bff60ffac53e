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

bool ExecutionRelay::publish(const StoredExecution& row) {
  const std::string id = std::to_string(row.seq) + "-0";
  auto added = redis_.command(
      {"XADD", settings_.stream, "MAXLEN", "~", std::to_string(settings_.stream_length_max), id,
       "seq", std::to_string(row.seq), "broker", row.record.broker, "exec_id", row.record.exec_id,
       "order_id", row.record.order_id, "payload", executionJson(row)});
  if (!added) return false;  // Redis down: later
  if (added->kind != RedisReply::Kind::Error) return true;
  auto present = redis_.command({"XRANGE", settings_.stream, id, id});
  if (present && present->kind == RedisReply::Kind::Array && present->elements.size() == 1) {
    already_present_.add();
    return true;
  }
  stream_ahead_.add();
  spdlog::error("stream {} refused {} ({}) and does not hold it", settings_.stream, id,
                added->text);
  return false;
}

int ExecutionRelay::relayBatch() {
  FillsStore store(pool_);
  auto first = store.firstUnpublished();
  if (!first) return -1;
  if (!*first) {
    backlog_.set(0);
    return 0;
  }
  // Rows are published strictly in seq order, so every row from the first unpublished one on
  // is unpublished too.
  auto rows = store.after(**first - 1, settings_.batch_size_max);
  if (!rows) return -1;
  int64_t last_published = 0;
  int count = 0;
  for (const auto& row : *rows) {
    if (!publish(row)) break;
    last_published = row.seq;
    ++count;
  }
  if (count > 0) {
    if (auto marked = store.markPublished(**first, last_published); !marked) return -1;
    published_.add(count);
  }
  if (auto backlog = store.unpublishedCount(); backlog) backlog_.set(*backlog);
  return count;
}

}  // namespace fbg::fills
