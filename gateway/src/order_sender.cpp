#include "order_sender.h"

#include <spdlog/spdlog.h>

#include "common/time_text.h"

namespace fbg::gateway {
namespace {

fix::Message encode(const SendItem& item) {
  switch (item.kind) {
    case SendItem::Kind::New:
      return encodeNewOrder(item.order, false);
    case SendItem::Kind::Resend:
      return encodeNewOrder(item.order, true);
    case SendItem::Kind::Status:
      return encodeStatusRequest(item.order);
    case SendItem::Kind::Cancel:
      return encodeCancel(item.order, item.cancel_request, false);
    case SendItem::Kind::CancelResend:
      return encodeCancel(item.order, item.cancel_request, true);
  }
  return encodeNewOrder(item.order, true);
}

}  // namespace

OrderSender::OrderSender(SenderSettings settings, GatewayStore& store,
                         const BrokerProgress& progress, fix::Engine& engine,
                         MetricsRegistry& metrics, std::function<void()> on_events)
    : settings_(std::move(settings)),
      store_(store),
      progress_(progress),
      engine_(engine),
      on_events_(std::move(on_events)),
      rounds_(metrics.counter("gateway_sender_rounds_total",
                              "Claim rounds of the sender (each one claim statement, and one "
                              "transaction more when retries or cancels are due).")),
      orders_sent_(metrics.counter("gateway_orders_sent_total",
                                   "NewOrderSingle messages sent for the first time.")),
      status_requests_(metrics.counter("gateway_retries_total",
                                       "Retries after a reply timeout, by kind.",
                                       "kind=\"status_request\"")),
      resends_(metrics.counter("gateway_retries_total", "Retries after a reply timeout, by kind.",
                               "kind=\"poss_resend\"")),
      timeouts_(metrics.counter("gateway_ack_timeouts_total",
                                "Replies overdue (each leads to a retry or to UNCONFIRMED).")),
      unconfirmed_(metrics.counter("gateway_orders_unconfirmed_total",
                                   "ALERT: orders reported UNCONFIRMED after every retry.")),
      cancels_sent_(metrics.counter("gateway_cancels_sent_total",
                                    "OrderCancelRequest messages sent (retries included).")),
      send_refused_(metrics.counter("gateway_send_refused_total",
                                    "Claimed messages the session refused (it dropped); their "
                                    "reply timeout retries them.")),
      send_latency_(metrics.histogram("gateway_send_latency_seconds",
                                      "From recording the stream entry to the NewOrderSingle "
                                      "handed to the FIX session.")) {}

OrderSender::~OrderSender() {
  stop();
}

void OrderSender::start() {
  thread_ = std::thread([this] { run(); });
}

void OrderSender::stop() {
  stopping_ = true;
  wake();
  if (thread_.joinable()) thread_.join();
}

void OrderSender::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_one();
}

bool OrderSender::loggedOn() const {
  for (const auto& session : engine_.sessions()) {
    if (session.session_id == settings_.session_id) return session.logged_on;
  }
  return false;
}

void OrderSender::run() {
  while (!stopping_) {
    int sent = 0;
    if (loggedOn()) {
      try {
        sent = round();
      } catch (const std::exception& failure) {  // an SQL error: nothing was committed
        spdlog::error("sender round failed: {}", failure.what());
        sent = -1;
      }
    }
    if (sent < 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(settings_.retry_interval_ms));
      continue;
    }
    if (sent >= settings_.batch_size_max) continue;  // more may be waiting
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, std::chrono::milliseconds(waitMs()),
                   [this] { return woken_ || stopping_.load(); });
    woken_ = false;
  }
}

int OrderSender::waitMs() const {
  // Logged off, nothing was claimed and the database was not asked: the logon wakes the
  // sender, and the short poll keeps the in-memory check as it was.
  if (!loggedOn()) return settings_.poll_interval_ms;
  return senderWaitMs(outlook_, {settings_.poll_interval_ms, settings_.idle_wait_ms_max});
}

int OrderSender::round() {
  RetryCounts counts;
  rounds_.add();
  outlook_ = SenderOutlook{};
  auto items = store_.claimRound(settings_.batch_size_max, settings_.in_flight_orders_max,
                                 progress_.gate(BrokerProgress::Clock::now()), counts, outlook_);
  if (!items) return failed(items.error());
  timeouts_.add(counts.status_requests + counts.resends + counts.unconfirmed);
  status_requests_.add(counts.status_requests);
  resends_.add(counts.resends);
  unconfirmed_.add(counts.unconfirmed);
  if (counts.unconfirmed > 0) spdlog::warn("{} orders UNCONFIRMED", counts.unconfirmed);
  if (counts.events > 0 && on_events_) on_events_();
  return send(*items);
}

int OrderSender::failed(const Error& error) {
  spdlog::warn("sender: database: {}", error.message);
  return -1;
}

int OrderSender::send(const std::vector<SendItem>& items) {
  int sent = 0;
  for (const SendItem& item : items) {
    if (!engine_.send(settings_.session_id, encode(item))) {
      send_refused_.add();
      continue;
    }
    ++sent;
    if (item.kind == SendItem::Kind::New) {
      orders_sent_.add();
      send_latency_.observeMicros((wallClockMs() - item.received_at_ms) * 1000);
    }
    if (item.kind == SendItem::Kind::Cancel || item.kind == SendItem::Kind::CancelResend) {
      cancels_sent_.add();
    }
  }
  return sent;
}

}  // namespace fbg::gateway
