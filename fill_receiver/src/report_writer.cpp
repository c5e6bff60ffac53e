#include "report_writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace fbg::fills {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

ReportWriter::ReportWriter(WriterSettings settings, FillsStore& store, ExecutionRelay& relay,
                           MetricsRegistry& metrics)
    : settings_(settings),
      store_(store),
      relay_(relay),
      stored_(metrics.counter("fills_reports_stored_total", "Execution reports stored.")),
      duplicates_(metrics.counter("fills_reports_duplicate_total",
                                  "Reports whose (broker, ExecID) was already stored.")),
      failures_(metrics.counter("fills_store_failures_total",
                                "Batch commits that failed (database down); the batch is "
                                "retried until it commits.")),
      refused_(metrics.counter("fills_reports_refused_total",
                               "Reports refused in fromApp (the last commit failed, or the "
                               "queue stayed full): the session drops and the broker resends "
                               "them.")),
      batches_(metrics.counter("fills_store_batches_total",
                               "Committed batches (reports stored + duplicates over this is "
                               "the mean batch size).")),
      queued_reports_(metrics.gauge("fills_store_queue_reports",
                                    "Reports handed over by fromApp and waiting for a batch.")),
      store_latency_(metrics.histogram("fills_store_seconds",
                                       "Time from a report's handover in fromApp to the commit "
                                       "of its batch (queue wait included).")) {}

ReportWriter::~ReportWriter() {
  stop();
}

void ReportWriter::start() {
  thread_ = std::thread([this] { run(); });
}

void ReportWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      stopping_ = true;
      stop_deadline_ = Clock::now() + milliseconds(settings_.stop_wait_ms);
    }
  }
  queued_.notify_all();
  settled_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Handover ReportWriter::handOver(PendingReport report) {
  std::unique_lock lock(mutex_);
  const auto max = static_cast<std::size_t>(settings_.queue_reports_max);
  if (!storage_down_ && queue_.size() >= max) {
    // Bounded: this blocks the session's QuickFIX thread (heartbeats included).
    settled_.wait_for(lock, milliseconds(settings_.queue_full_wait_ms),
                      [&] { return queue_.size() < max || storage_down_; });
  }
  if (storage_down_ || queue_.size() >= max) {
    const Handover refusal = storage_down_ ? Handover::StorageDown : Handover::QueueFull;
    lock.unlock();
    refused_.add();
    return refusal;
  }
  horizon_.add(report.session_id, report.msg_seq_num);
  queue_.push_back(std::move(report));
  queued_reports_.set(static_cast<int64_t>(queue_.size()));
  lock.unlock();
  queued_.notify_one();
  return Handover::Queued;
}

int ReportWriter::limit(const std::string& session_id, int next_target_seq) const {
  std::lock_guard lock(mutex_);
  return horizon_.limit(session_id, next_target_seq);
}

bool ReportWriter::drain(const std::string& session_id) {
  std::unique_lock lock(mutex_);
  return settled_.wait_for(lock, milliseconds(settings_.drain_wait_ms),
                           [&] { return horizon_.pending(session_id) == 0; });
}

void ReportWriter::run() {
  const auto batch_max = static_cast<std::size_t>(settings_.batch_reports_max);
  std::vector<PendingReport> batch;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      queued_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) break;  // stopping, everything committed
      if (settings_.batch_linger_ms > 0 && !stopping_ && queue_.size() < batch_max) {
        // A fuller batch for the price of a short wait, when reports trickle in.
        queued_.wait_for(lock, milliseconds(settings_.batch_linger_ms),
                         [&] { return queue_.size() >= batch_max || stopping_; });
      }
      const std::size_t take = std::min(queue_.size(), batch_max);
      batch.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(take)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(take));
      queued_reports_.set(static_cast<int64_t>(queue_.size()));
    }
    settled_.notify_all();  // room in the queue
    if (!commit(batch)) break;
    batch.clear();
  }
  std::lock_guard lock(mutex_);
  if (horizon_.pendingTotal() > 0) {
    // Still held back in the FIX store (the horizon keeps them): the broker resends them.
    spdlog::warn(
        "report writer stopped with {} reports not committed; the broker will resend "
        "them",
        horizon_.pendingTotal());
  }
}

bool ReportWriter::commit(const std::vector<PendingReport>& batch) {
  while (true) {
    auto outcome = store_.storeBatch(batch);
    if (outcome) {
      settle(batch, std::move(*outcome));
      return true;
    }
    failures_.add();
    spdlog::error("{} reports not stored yet, retrying in {} ms: {}", batch.size(),
                  settings_.retry_interval_ms, outcome.error().message);
    std::unique_lock lock(mutex_);
    storage_down_ = true;
    settled_.notify_all();  // a handover waiting for room is refused now
    if (stopping_ && Clock::now() >= stop_deadline_) return false;
    queued_.wait_for(lock, milliseconds(settings_.retry_interval_ms));
  }
}

void ReportWriter::settle(const std::vector<PendingReport>& batch, BatchOutcome outcome) {
  {
    std::lock_guard lock(mutex_);
    for (const auto& report : batch) horizon_.remove(report.session_id, report.msg_seq_num);
    storage_down_ = false;
  }
  settled_.notify_all();
  stored_.add(outcome.stored);
  duplicates_.add(outcome.duplicates);
  batches_.add();
  const auto now = Clock::now();
  for (const auto& report : batch) {
    store_latency_.observeMicros(
        std::chrono::duration_cast<std::chrono::microseconds>(now - report.handed_over).count());
  }
  relay_.offer(std::move(outcome.rows));  // wakes it when there are rows
}

}  // namespace fbg::fills
