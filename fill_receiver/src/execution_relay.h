// Publishes stored reports to the executions stream in seq order and marks them (FLOW.md
// section 3). While Redis is down rows wait; consumers poll GET /v1/executions meanwhile.
//
// Stream entry layout (XADD executions MAXLEN ~ stream_length_max {seq}-0 ...):
//   id        {seq}-0: explicit, so a re-publication after a crash between XADD and marking the
//             row is refused by Redis instead of doubled (only this process writes the stream);
//             a row the stream had already passed goes in as {last id's ms}-{n} instead
//             (fills_relay_stream_ahead_total; execution_relay.cpp says when)
//   seq, broker, exec_id, order_id
//   payload   the JSON of GET /v1/executions' items (fills_store.h executionJson)
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/metrics.h"
#include "common/redis.h"
#include "fills_store.h"

namespace fbg::fills {

struct RelaySettings {
  std::string stream = "executions";
  int batch_size_max = 256;
  int poll_interval_ms = 100;  // wait after a round that published something (to mark it)
  // Wait after a round that found nothing to publish: the report writer, the only writer of
  // executions, wakes the relay after each batch it stores; this only bounds the fallback.
  int idle_wait_ms_max = 1000;
  int64_t stream_length_max = 1'000'000;
};

class ExecutionRelay {
 public:
  ExecutionRelay(RelaySettings settings, PgPool& pool, RedisPool& redis, MetricsRegistry& metrics);
  ~ExecutionRelay();
  ExecutionRelay(const ExecutionRelay&) = delete;
  ExecutionRelay& operator=(const ExecutionRelay&) = delete;

  void start();
  void stop();
  void wake();

 private:
  void run();
  // One batch; rows published, or -1 after a failure.
  int relayBatch();
  // The round's read, marking the previous round's published rows in the same statement.
  [[nodiscard]] Result<std::vector<StoredExecution>> readRound(FillsStore& store);
  // What one batch's script did (execution_relay.cpp draws it).
  struct Published {
    int64_t in_stream = 0;     // rows in the stream now: a prefix of the batch
    int64_t already = 0;       // of them, found there (published before a crash)
    int64_t out_of_order = 0;  // of them, added after the stream's last entry
    std::string refusal;       // why the prefix ends before the batch does ("" if it does not)
  };
  [[nodiscard]] std::vector<std::string> publishCommand(
      const std::vector<StoredExecution>& rows) const;
  [[nodiscard]] static std::optional<Published> publishedOf(const RedisReply& reply,
                                                            std::size_t batch_size);
  void noteAnomalies(const Published& published, const std::vector<StoredExecution>& rows);

  RelaySettings settings_;
  PgPool& pool_;
  RedisPool& redis_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool woken_ = false;
  // Published by the last round and not yet marked (first, last seq); relay thread only.
  std::optional<std::pair<int64_t, int64_t>> unmarked_;
  std::atomic<bool> stopping_{false};
  Counter& rounds_;
  Counter& published_;
  Counter& already_present_;
  Counter& stream_ahead_;
  Gauge& backlog_;
};

}  // namespace fbg::fills
