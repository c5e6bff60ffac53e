#include "reply_applier.h"

#include <spdlog/spdlog.h>
#include <chrono>

namespace fbg::gateway {

ReplyApplier::ReplyApplier(ReplyApplierSettings settings, GatewayStore& store,
                           BrokerProgress& progress, MetricsRegistry& metrics,
                           std::function<void()> wake_sender, std::function<void()> wake_relay)
    : settings_(settings),
      store_(store),
      progress_(progress),
      wake_sender_(std::move(wake_sender)),
      wake_relay_(std::move(wake_relay)),
      applied_(metrics.counter("gateway_replies_total",
                               "ExecutionReports and OrderCancelRejects applied.")),
      unknown_(metrics.counter("gateway_replies_unknown_total",
                               "Replies for a ClOrdID this gateway has no order for.")),
      refused_(metrics.counter("gateway_replies_refused_total",
                               "Replies refused because the queue was full (the session drops; "
                               "the broker resends them).")),
      failures_(metrics.counter("gateway_reply_storage_failures_total",
                                "Reply batches not stored (database down), tried again.")),
      queued_(metrics.gauge("gateway_replies_queued", "Replies waiting to be applied.")),
      batch_latency_(metrics.histogram("gateway_reply_apply_seconds",
                                       "Time to apply one batch of replies in the database.")) {}

ReplyApplier::~ReplyApplier() {
  stop();
}

bool ReplyApplier::enqueue(InboundReply reply) {
  {
    std::lock_guard lock(mutex_);
    if (static_cast<int>(queue_.size()) >= settings_.queue_size_max) {
      refused_.add();
      return false;
    }
    queue_.push_back(std::move(reply));
    queued_.set(static_cast<int64_t>(queue_.size()));
    // Under the queue's lock, so the applier cannot note this reply stored before it is noted
    // received.
    progress_.noteReceived(BrokerProgress::Clock::now());
  }
  ready_.notify_one();
  return true;
}

void ReplyApplier::start() {
  thread_ = std::thread([this] { run(); });
}

void ReplyApplier::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_one();
  if (thread_.joinable()) thread_.join();
}

std::vector<InboundReply> ReplyApplier::take() {
  std::unique_lock lock(mutex_);
  ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
  if (settings_.batch_linger_ms > 0) {
    ready_.wait_for(lock, std::chrono::milliseconds(settings_.batch_linger_ms), [this] {
      return stopping_ || static_cast<int>(queue_.size()) >= settings_.batch_size_max;
    });
  }
  std::vector<InboundReply> batch;
  while (!queue_.empty() && static_cast<int>(batch.size()) < settings_.batch_size_max) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  queued_.set(static_cast<int64_t>(queue_.size()));
  return batch;
}

bool ReplyApplier::apply(const std::vector<InboundReply>& batch) {
  const auto started = std::chrono::steady_clock::now();
  Result<ReplyCounts> counts = makeError(ErrorCode::Internal, "not applied");
  try {
    counts = store_.applyReplies(batch);
  } catch (const std::exception& failure) {  // an SQL error: nothing was committed
    counts = makeError(ErrorCode::Internal, failure.what());
  }
  if (!counts) {
    failures_.add();
    spdlog::error("{} replies not stored: {}", batch.size(), counts.error().message);
    return false;
  }
  batch_latency_.observeMicros(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - started)
                                   .count());
  progress_.noteApplied(static_cast<int>(batch.size()), counts->answered_send_seq);
  applied_.add(counts->applied);
  unknown_.add(counts->unknown);
  if (counts->unknown > 0) spdlog::warn("{} replies for unknown ClOrdIDs", counts->unknown);
  // A batch that wrote no event leaves the relay nothing to publish: a read saved.
  if (counts->events > 0) wake_relay_();
  if (counts->resends_due > 0) wake_sender_();
  return true;
}

void ReplyApplier::run() {
  while (true) {
    const std::vector<InboundReply> batch = take();
    if (batch.empty()) return;  // stopping, nothing left
    bool done = apply(batch);
    for (int retry = 0; !done && retry < 1000; ++retry) {
      {
        std::lock_guard lock(mutex_);
        if (stopping_) break;  // the retry path recovers what is left
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(settings_.retry_interval_ms));
      done = apply(batch);
    }
    if (!done) progress_.noteDiscarded(static_cast<int>(batch.size()));
  }
}

}  // namespace fbg::gateway
