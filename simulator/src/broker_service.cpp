#include "broker_service.h"

#include <spdlog/spdlog.h>
#include <chrono>
#include <set>
#include <thread>

#include "fix_codec.h"

namespace fbg::simulator {

BrokerService::BrokerService(BrokerSettings settings, SimStore& store, MetricsRegistry& metrics)
    : settings_(std::move(settings)),
      store_(store),
      book_(1),
      drop_copy_feed_(settings_.drop_copy_feed_reports_max),
      orders_(metrics.counter("sim_orders_total", "NewOrderSingle messages received.")),
      reports_(metrics.counter("sim_reports_total", "Execution reports issued.")),
      dropped_acks_(
          metrics.counter("sim_dropped_acks_total", "Replies withheld by drop_ack_rate.")),
      fault_disconnects_(metrics.counter("sim_fault_disconnects_total",
                                         "Order sessions dropped by disconnect_every_messages.")) {
  store_.load(book_);
  prices_ = store_.prices();
  drop_copy_sent_seq_ = store_.dropCopySentSeq(settings_.drop_copy_session_id);
  drop_copy_sent_seq_written_ = drop_copy_sent_seq_;
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
  std::vector<StoredExecution> stored;
  try {
    stored = store_.record(changed, reports);
  } catch (...) {
    drop_copy_feed_.recordFailed();  // committed or not: the drop copy reads the store again
    throw;
  }
  drop_copy_feed_.recorded(stored);
  reports_.add(static_cast<int64_t>(reports.size()));
  ++records_generation_;
  recorded_.notify_all();
}

void BrokerService::waitForReports(std::chrono::milliseconds wait_max) {
  std::unique_lock lock(mutex_);
  recorded_.wait_for(lock, wait_max,
                     [this] { return records_generation_ != drop_copy_read_generation_; });
}

bool BrokerService::disconnectDue() {
  std::lock_guard lock(mutex_);
  if (faults_.disconnect_every_messages == 0) return false;
  if (++messages_since_disconnect_ < faults_.disconnect_every_messages) return false;
  messages_since_disconnect_ = 0;
  return true;
}

fix::Delivery BrokerService::onOrderEntry(const std::string& session_id,
                                          const fix::Message& message) {
  {
    std::lock_guard lock(mutex_);  // the market tick reads it from its own thread
    last_order_session_ = session_id;
  }
  fix::Delivery delivery = fix::Delivery::UnsupportedMessageType;
  if (message.msg_type == "D") {
    delivery = onNewOrder(session_id, message);
  } else if (message.msg_type == "F") {
    delivery = onCancel(session_id, message);
  } else if (message.msg_type == "H") {
    delivery = onStatusRequest(session_id, message);
  }
  // Only now: the order is booked and its replies went out (or at least into the session's
  // store, where the peer's ResendRequest after the reconnect finds them). QuickFIX still counts
  // this message as received, so the peer does not send it again. An answer QuickFIX writes
  // itself after we return (BusinessMessageReject) is stored the same way.
  if (disconnectDue()) {
    fault_disconnects_.add();
    spdlog::info("{}: dropping {} (disconnect_every_messages)", settings_.profile, session_id);
    order_entry_->disconnect(session_id);
  }
  return delivery;
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

Money BrokerService::priceLocked(const std::string& symbol) const {
  const auto known = prices_.find(symbol);
  return known == prices_.end() ? settings_.default_price : known->second;
}

void BrokerService::walkPricesLocked() {
  if (settings_.price_walk_step_bps == 0) return;
  std::set<std::string> symbols;
  for (const auto& [symbol, price] : prices_) symbols.insert(symbol);
  for (const auto& symbol : book_.symbolsWithOpenOrders()) symbols.insert(symbol);
  for (const auto& symbol : symbols) {
    // The current price is the start: a price just set through the API wins over the walk.
    const Money current = priceLocked(symbol);
    const auto state = walk_states_.find(symbol);
    const PriceWalk walk = stepPriceWalk(
        state == walk_states_.end() ? startPriceWalk(settings_.price_walk_seed, symbol, current)
                                    : PriceWalk{current, state->second},
        settings_.price_walk_step_bps);
    prices_[symbol] = walk.price;
    walk_states_[symbol] = walk.random_state;
  }
}

void BrokerService::marketTick() {
  std::vector<ExecutionReport> fills;
  std::string session;
  {
    std::lock_guard lock(mutex_);
    book_.setFillSlices(static_cast<int>(faults_.fill_slices));
    walkPricesLocked();
    for (const auto& symbol : book_.symbolsWithOpenOrders()) {
      auto moved = book_.priceMoved(symbol, priceLocked(symbol));
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
    drop_copy_read_generation_ = records_generation_;
    if (!faults_.drop_copy_paused) {
      duplicate_rate = faults_.duplicate_report_rate;
      pending = pendingLocked();
    }
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
  {
    std::lock_guard lock(mutex_);
    drop_copy_feed_.carried(drop_copy_sent_seq_);
  }
  writeDropCopySentSeq(sent == 0);
  return sent;
}

// The reports after the carried position: from memory, which holds each report as it was
// recorded, and from the store only when memory may miss some (domain/drop_copy_feed.h).
std::vector<StoredExecution> BrokerService::pendingLocked() {
  const int limit = settings_.drop_copy_batch_size_max;
  if (drop_copy_feed_.needsLoad()) {
    auto rows = store_.executionsAfter(drop_copy_sent_seq_, limit);
    const bool to_end = rows.size() < static_cast<std::size_t>(limit);
    drop_copy_feed_.loaded(std::move(rows), to_end);
  }
  return drop_copy_feed_.pending(static_cast<std::size_t>(limit));
}

// The carried position is written at most once per drop_copy_sent_seq_write_interval_ms, and
// after a round that carried nothing (the drop copy is idle or down): one write per round was
// a transaction per report or two. Behind after a crash, the drop copy carries those reports
// again, and the fill receiver keeps each ExecID once.
void BrokerService::writeDropCopySentSeq(bool now) {
  if (drop_copy_sent_seq_ <= drop_copy_sent_seq_written_) return;
  const auto clock = std::chrono::steady_clock::now();
  const auto interval = std::chrono::milliseconds(settings_.drop_copy_sent_seq_write_interval_ms);
  if (!now && clock - drop_copy_sent_seq_written_at_ < interval) return;
  std::lock_guard lock(mutex_);
  store_.setDropCopySentSeq(settings_.drop_copy_session_id, drop_copy_sent_seq_);
  drop_copy_sent_seq_written_ = drop_copy_sent_seq_;
  drop_copy_sent_seq_written_at_ = clock;
}

Faults BrokerService::faults() {
  std::lock_guard lock(mutex_);
  return faults_;
}

Status BrokerService::setFaults(const std::string& body) {
  std::lock_guard lock(mutex_);
  auto next = applyFaults(faults_, body);
  if (!next) return next.error();
  // A new disconnect_every_messages counts from now, so a test knows which message drops.
  if (next->disconnect_every_messages != faults_.disconnect_every_messages) {
    messages_since_disconnect_ = 0;
  }
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
  return priceLocked(symbol);
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
