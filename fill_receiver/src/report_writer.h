// Group commit for the fill receiver (FLOW.md section 3). fromApp hands each valid report to a
// bounded queue; one writer thread commits whatever has queued, up to batch_reports_max, in one
// synchronously committed statement (FillsStore::storeBatch), so one WAL flush covers many
// reports and the QuickFIX thread never waits for a commit.
//
// "Persist before acknowledge" still holds because the acknowledgement that matters in FIX is
// the persisted next target sequence number, not fromApp returning: the FIX store asks
// limit() before it persists one (target_seq_hold.h) and never goes past a report that is still
// queued or in flight, and each batch raises the persisted number past its own reports in the
// same statement. A kill -9 loses the queue from memory only: the persisted number is below
// every lost report, so the broker resends them; what was committed is deduplicated on ExecID.
//
// One writer, batches committed one after the other: seq order stays commit order, which
// GET /v1/executions?after= and the relay need (migrations/001_executions.sql).
//
// A failed commit (database down) keeps its batch and retries it every retry_interval_ms until
// it commits, stop or not: QuickFIX has counted those reports in memory, a reconnect inside this
// process would not bring them back. While the last attempt failed, handovers are refused
// (Handover::StorageDown), so the session drops as it did when each report committed inline.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "domain/durable_horizon.h"
#include "execution_relay.h"
#include "fills_store.h"

namespace fbg::fills {

struct WriterSettings {
  int queue_reports_max = 4096;
  int queue_full_wait_ms = 1000;
  int batch_reports_max = 512;
  int batch_linger_ms = 0;
  int retry_interval_ms = 200;
  int drain_wait_ms = 5000;
  int stop_wait_ms = 5000;
};

// Expected outcomes of a handover, as values.
enum class Handover {
  Queued,
  QueueFull,    // still full after queue_full_wait_ms
  StorageDown,  // the last commit attempt failed
};

class ReportWriter {
 public:
  ReportWriter(WriterSettings settings, FillsStore& store, ExecutionRelay& relay,
               MetricsRegistry& metrics);
  ~ReportWriter();
  ReportWriter(const ReportWriter&) = delete;
  ReportWriter& operator=(const ReportWriter&) = delete;

  void start();
  // Commits what is queued (retrying a failed commit at most stop_wait_ms), then ends the thread.
  // What is left is only in memory, below the persisted number: the broker resends it.
  void stop();

  // On the session's QuickFIX thread, before QuickFIX counts the report.
  [[nodiscard]] Handover handOver(PendingReport report);
  // TargetSeqHold::limit: thread-safe.
  [[nodiscard]] int limit(const std::string& session_id, int next_target_seq) const;
  // TargetSeqHold::drain: waits at most drain_wait_ms until nothing of the session is pending.
  [[nodiscard]] bool drain(const std::string& session_id);

 private:
  void run();
  // Commits the batch, retrying until it commits or (stopping) the stop deadline passes.
  bool commit(const std::vector<PendingReport>& batch);
  void settle(const std::vector<PendingReport>& batch, BatchOutcome outcome);

  WriterSettings settings_;
  FillsStore& store_;
  ExecutionRelay& relay_;
  mutable std::mutex mutex_;
  std::condition_variable queued_;   // writer: something to write, or stop
  std::condition_variable settled_;  // handOver / drain: room in the queue, a batch committed
  std::deque<PendingReport> queue_;
  DurableHorizon horizon_;  // queued and in flight
  bool storage_down_ = false;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point stop_deadline_;
  std::thread thread_;
  Counter& stored_;
  Counter& duplicates_;
  Counter& failures_;
  Counter& refused_;
  Counter& batches_;
  Gauge& queued_reports_;
  Histogram& store_latency_;
};

}  // namespace fbg::fills
