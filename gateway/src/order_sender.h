// The only thread that writes to the order-entry session. Each round it claims work in the
// database (new orders first, then overdue replies and cancels), commits the decision, and only
// then sends: a crash between the two leaves an order SENT without a message on the wire, which
// its reply timeout turns into a status request or a PossResend, never into a lost order.
//
// While the session is not logged on nothing is claimed: orders wait as RECEIVED, and no retry
// attempt is spent on a broker that cannot hear it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/metrics.h"
#include "domain/broker_progress.h"
#include "domain/sender_wait.h"
#include "fix_engine.h"
#include "gateway_store.h"

namespace fbg::gateway {

struct SenderSettings {
  std::string session_id;           // FIX.4.4:GATEWAY->SIM-A
  int batch_size_max = 256;         // orders claimed per round
  int in_flight_orders_max = 1000;  // SENT and unanswered at most
  int poll_interval_ms = 50;        // wait while work may be right behind (sender_wait.h)
  int idle_wait_ms_max = 1000;      // wait with nothing in flight (sender_wait.h)
  int retry_interval_ms = 500;      // after the database failed
};

class OrderSender {
 public:
  // progress: the gate on due retries (broker_progress.h), read each round.
  // on_events: called after a claim that wrote order_events (UNCONFIRMED, CANCEL_REJECTED).
  OrderSender(SenderSettings settings, GatewayStore& store, const BrokerProgress& progress,
              fix::Engine& engine, MetricsRegistry& metrics, std::function<void()> on_events);
  ~OrderSender();
  OrderSender(const OrderSender&) = delete;
  OrderSender& operator=(const OrderSender&) = delete;

  void start();
  void stop();
  // New work was committed (stream entries, a reply asking for a resend, a logon).
  void wake();
  // Milliseconds since the epoch when the order was recorded, for the send latency.
  [[nodiscard]] bool loggedOn() const;

 private:
  void run();
  // One round; returns the number of messages sent, or -1 after a database failure. Sets
  // outlook_ from what the claim saw.
  int round();
  // How long to wait for a wake-up after a round that sent fewer than a batch.
  [[nodiscard]] int waitMs() const;
  int send(const std::vector<SendItem>& items);
  int failed(const Error& error);  // logs, returns -1

  SenderSettings settings_;
  GatewayStore& store_;
  const BrokerProgress& progress_;
  fix::Engine& engine_;
  std::function<void()> on_events_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool woken_ = false;
  SenderOutlook outlook_;  // the sender thread's
  std::atomic<bool> stopping_{false};
  Counter& rounds_;
  Counter& orders_sent_;
  Counter& status_requests_;
  Counter& resends_;
  Counter& timeouts_;
  Counter& unconfirmed_;
  Counter& cancels_sent_;
  Counter& send_refused_;
  Histogram& send_latency_;
};

}  // namespace fbg::gateway
