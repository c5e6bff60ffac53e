// Applies the broker's replies off the FIX thread, many per transaction (FLOW.md section 2).
//
// The FIX thread only queues a reply; this thread applies up to batch_size_max of them, in
// arrival order, in one transaction. Why this is safe: the gateway's record of a reply is not
// the system's record of what the broker did (the fill receiver keeps that), and a reply lost
// before its commit (a crash, a database outage) leaves its order SENT, which the retry path
// asks the broker about again (status request, or PossResend answered by ExecType=I). Why it
// matters: one transaction per reply on the FIX thread capped the session at a few hundred
// replies per second.
//
// Bounds: at most queue_size_max replies wait; past that the FIX thread refuses the message
// (the session drops without counting it, and the broker resends it).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "domain/broker_progress.h"
#include "gateway_store.h"

namespace fbg::gateway {

struct ReplyApplierSettings {
  int queue_size_max = 20000;
  int batch_size_max = 500;
  // After the first reply of a batch, how long to wait for more before applying: a transaction
  // costs about as much for one reply as for fifty, and the broker's ack is not late by it.
  int batch_linger_ms = 2;
  int retry_interval_ms = 500;  // after the database failed
};

class ReplyApplier {
 public:
  // progress: told of every reply queued and of every batch stored (broker_progress.h).
  ReplyApplier(ReplyApplierSettings settings, GatewayStore& store, BrokerProgress& progress,
               MetricsRegistry& metrics, std::function<void()> wake_sender,
               std::function<void()> wake_relay);
  ~ReplyApplier();
  ReplyApplier(const ReplyApplier&) = delete;
  ReplyApplier& operator=(const ReplyApplier&) = delete;

  // FIX thread. False when the queue is full.
  [[nodiscard]] bool enqueue(InboundReply reply);
  void start();
  // Applies what is queued (bounded by one retry), then stops.
  void stop();

 private:
  void run();
  std::vector<InboundReply> take();
  bool apply(const std::vector<InboundReply>& batch);

  ReplyApplierSettings settings_;
  GatewayStore& store_;
  BrokerProgress& progress_;
  std::function<void()> wake_sender_;
  std::function<void()> wake_relay_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<InboundReply> queue_;
  bool stopping_ = false;
  std::thread thread_;
  Counter& applied_;
  Counter& unknown_;
  Counter& refused_;
  Counter& failures_;
  Gauge& queued_;
  Histogram& batch_latency_;
};

}  // namespace fbg::gateway
