// Publishes stored reports to the executions stream in seq order and marks them (FLOW.md
// section 3). While Redis is down rows wait; consumers poll GET /v1/executions meanwhile.
//
// The report writer hands each committed batch's rows over (offer); a round publishes them from
// memory and costs no statement. A round that reads the table (after a start, a failure, an
// overflow, and at least every table_read_interval_ms: domain/relay_handoff.h) also marks every
// row published since the last one (published_at, each with its own publication time). A crash
// before the mark offers those rows again, which the stream refuses by id.
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
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/metrics.h"
#include "common/redis.h"
#include "domain/relay_handoff.h"
#include "fills_store.h"

namespace fbg::fills {

struct RelaySettings {
  std::string stream = "executions";
  int batch_size_max = 256;
  int poll_interval_ms = 100;  // wait after a failed round
  // Wait after a round that found nothing to publish: the report writer, the only writer of
  // executions, hands the relay each batch it stores; this only bounds the fallback.
  int idle_wait_ms_max = 1000;
  // Rows held in memory between the writer and the relay, and rows published but not marked
  // yet; past it the relay reads the table. 0: every round reads the table (no handoff).
  int handoff_rows_max = 4096;
  // A table read (marking what was published) at least this often while rows flow.
  int table_read_interval_ms = 500;
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
  // The rows of a batch the writer committed, in seq order; wakes the relay.
  void offer(std::vector<StoredExecution> rows);

 private:
  void wake();
  void run();
  // One batch; rows published, or -1 after a failure.
  int relayBatch();
  // What this round publishes: from memory, or from the table (marking what is unmarked).
  [[nodiscard]] Result<std::vector<StoredExecution>> roundRows(FillsStore& store, bool& from_table);
  [[nodiscard]] Result<std::vector<StoredExecution>> readTable(FillsStore& store);
  void requireTableRead();
  [[nodiscard]] int waitMs(int relayed) const;
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
  void noteBacklog(FillsStore& store, std::size_t left_in_round, bool full_table_read);

  RelaySettings settings_;
  PgPool& pool_;
  RedisPool& redis_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool woken_ = false;
  RelayHandoff handoff_;  // under mutex_
  // Relay thread only: published and not yet marked; the highest seq published; when the
  // table was last read.
  std::vector<PublishedRow> unmarked_;
  int64_t published_through_seq_ = 0;
  std::chrono::steady_clock::time_point last_table_read_;
  std::atomic<bool> stopping_{false};
  Counter& rounds_;
  Counter& table_reads_;
  Counter& published_;
  Counter& already_present_;
  Counter& stream_ahead_;
  Gauge& backlog_;
};

}  // namespace fbg::fills
