#include "broker_service.h"

#include <spdlog/spdlog.h>
#include <chrono>
#include <thread>

#include "fix_codec.h"

namespace fbg::simulator {

BrokerService::BrokerService(BrokerSettings settings, SimStore& store, MetricsRegistry& metrics)
    : settings_(std::move(settings)),
      store_(store),
      book_(1),
      orders_(metrics.counter("sim_orders_total", "NewOrderSingle messages received.")),
      reports_(metrics.counter("sim_reports_total", "Execution reports issued.")),
      dropped_acks_(
          metrics.counter("sim_dropped_acks_total", "Replies withheld by drop_ack_rate.")) {
  store_.load(book_);
  prices_ = store_.prices();
  drop_copy_sent_seq_ = store_.dropCopySentSeq(settings_.drop_copy_session_id);
}

void BrokerService::attach(fix::Engine* order_entry, fix::Engine* drop_copy) {
  order_entry_ = order_entry;
  drop_copy_ = drop_copy;
}

bool BrokerService::chance(double rate) {
  return std::uniform_real_distribution<double>(0.0, 1.0)(random_) < rate;
}

void BrokerService::recordLocked(const std::vector<ExecutionReport>& reports) {
  std::vector<const BrokerOrder*> changed;
  for (const auto& report : reports) {
    const std::string& id =
        report.orig_cl_ord_id.empty() ? report.cl_ord_id : report.orig_cl_ord_id;
    if (const BrokerOrder* order = book_.find(id)) changed.push_back(order);
  }
  store_.record(changed, reports);
  reports_.add(static_cast<int64_t>(reports.size()));
}

fix::Delivery BrokerService::onOrderEntry(const std::string& session_id,
                                          const fix::Message& message) {
  last_order_session_ = session_id;
  if (message.msg_type == "D") return onNewOrder(session_id, message);
  if (message.msg_type == "F") return onCancel(session_id, message);
  if (message.msg_type == "H") return onStatusRequest(session_id, message);
  return fix::Delivery::UnsupportedMessageType;
}

fix::Delivery BrokerService::onNewOrder(const std::string& session_id,
                                        const fix::Message& message) {
  orders_.add();
  auto order = decodeNewOrder(message);
  if (!order) {
    spdlog::warn("{}: NewOrderSingle refused: {}", settings_.profile, order.error().message);
    return fix::Delivery::Accepted;  // the dictionary let it through; nothing to book
  }
  std::vector<ExecutionReport> reports;
  bool drop = false;
  int64_t delay_ms = 0;
  {
    std::lock_guard lock(mutex_);
    reports = book_.newOrder(*order, chance(faults_.reject_rate));
    recordLocked(reports);  // before any reply: ground truth first
    drop = chance(faults_.drop_ack_rate);
    delay_ms = faults_.ack_delay_ms;
  }
  if (drop) {
    dropped_acks_.add();
    return fix::Delivery::Accepted;
  }
  if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  for (const auto& report : reports) order_entry_->send(session_id, encodeExecutionReport(report));
  return fix::Delivery::Accepted;
}

fix::Delivery BrokerService::onCancel(const std::string& session_id, const fix::Message& message) {
  const std::string* orig = message.find(41);
  const std::string* cl_ord_id = message.find(11);
  if (!orig || !cl_ord_id) return fix::Delivery::Accepted;
  BrokerBook::CancelOutcome outcome;
  {
    std::lock_guard lock(mutex_);
    outcome = book_.cancel(*orig, *cl_ord_id);
    if (!outcome.reports.empty()) recordLocked(outcome.reports);
  }
  if (outcome.reject) order_entry_->send(session_id, encodeCancelReject(*outcome.reject));
  for (const auto& report : outcome.reports)
    order_entry_->send(session_id, encodeExecutionReport(report));
  return fix::Delivery::Accepted;
}

fix::Delivery BrokerService::onStatusRequest(const std::string& session_id,
                                             const fix::Message& message) {
  if (!settings_.answers_status_requests) return fix::Delivery::UnsupportedMessageType;
  const std::string* cl_ord_id = message.find(11);
  const std::string* symbol = message.find(55);
  const std::string* side = message.find(54);
  if (!cl_ord_id || !symbol || !side) return fix::Delivery::Accepted;  // the dictionary checks
  ExecutionReport status;
  {
    std::lock_guard lock(mutex_);
    // A silent broker is silent to status requests too: drop_ack_rate covers every reply.
    if (chance(faults_.drop_ack_rate)) {
      dropped_acks_.add();
      return fix::Delivery::Accepted;
    }
    status = book_.statusRequest(*cl_ord_id, *symbol, *side == "2" ? Side::Sell : Side::Buy);
  }
  order_entry_->send(session_id, encodeExecutionReport(status));
  return fix::Delivery::Accepted;
}

void BrokerService::marketTick() {
  std::vector<ExecutionReport> fills;
  std::string session;
  {
    std::lock_guard lock(mutex_);
    book_.setFillSlices(static_cast<int>(faults_.fill_slices));
    for (const auto& symbol : book_.symbolsWithOpenOrders()) {
      const auto known = prices_.find(symbol);
      const Money price = known == prices_.end() ? settings_.default_price : known->second;
      auto moved = book_.priceMoved(symbol, price);
      fills.insert(fills.end(), moved.begin(), moved.end());
    }
    if (!fills.empty()) recordLocked(fills);
    session = last_order_session_;
  }
  if (session.empty() || order_entry_ == nullptr) return;
  for (const auto& fill : fills) order_entry_->send(session, encodeExecutionReport(fill));
}

int BrokerService::dropCopyRound() {
  if (drop_copy_ == nullptr) return 0;
  double duplicate_rate = 0;
  std::vector<StoredExecution> pending;
  {
    std::lock_guard lock(mutex_);  // the store's connection is not shared across threads
    if (faults_.drop_copy_paused) return 0;
    duplicate_rate = faults_.duplicate_report_rate;
    pending = store_.executionsAfter(drop_copy_sent_seq_, settings_.drop_copy_batch_size_max);
  }
  int sent = 0;
  for (const auto& stored : pending) {
    const fix::Message message = encodeExecutionReport(stored.report);
    if (!drop_copy_->send(settings_.drop_copy_session_id, message)) break;
    bool duplicate = false;
    {
      std::lock_guard lock(mutex_);
      duplicate = chance(duplicate_rate);
    }
    if (duplicate) drop_copy_->send(settings_.drop_copy_session_id, message);
    drop_copy_sent_seq_ = stored.seq;
    ++sent;
  }
  if (sent > 0) {
    std::lock_guard lock(mutex_);
    store_.setDropCopySentSeq(settings_.drop_copy_session_id, drop_copy_sent_seq_);
  }
  return sent;
}

Faults BrokerService::faults() {
  std::lock_guard lock(mutex_);
  return faults_;
}

Status BrokerService::setFaults(const std::string& body) {
  std::lock_guard lock(mutex_);
  auto next = applyFaults(faults_, body);
  if (!next) return next.error();
  faults_ = *next;
  return Ok{};
}

void BrokerService::setPrice(const std::string& symbol, Money price) {
  std::lock_guard lock(mutex_);
  store_.setPrice(symbol, price);
  prices_[symbol] = price;
}

Money BrokerService::price(const std::string& symbol) {
  std::lock_guard lock(mutex_);
  const auto known = prices_.find(symbol);
  return known == prices_.end() ? settings_.default_price : known->second;
}

std::string BrokerService::ordersJson(const std::string& cl_ord_id) {
  std::lock_guard lock(mutex_);
  return store_.ordersJson(cl_ord_id);
}

std::vector<StoredExecution> BrokerService::executionsAfter(int64_t after, int limit) {
  std::lock_guard lock(mutex_);
  return store_.executionsAfter(after, limit);
}

}  // namespace fbg::simulator
