// The simulated broker: the book and its ground truth behind one mutex, fed by the order-entry
// FIX session, the market tick and the admin API, and read by the drop copy.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <string>

#include "common/metrics.h"
#include "domain/broker_book.h"
#include "domain/price_walk.h"
#include "faults.h"
#include "fix_engine.h"
#include "sim_store.h"

namespace fbg::simulator {

struct BrokerSettings {
  std::string profile;                  // SIM-A or SIM-B
  bool answers_status_requests = true;  // SIM-A yes, SIM-B answers BusinessMessageReject
  Money default_price;                  // price of a symbol nobody has set
  std::string drop_copy_session_id;     // e.g. FIX.4.4:SIM-A->FILLS
  int drop_copy_batch_size_max = 256;
  // Seeded random walk of every symbol with a set price or an open order, one step per market
  // tick (domain/price_walk.h); step 0: prices move only when set through the API.
  uint64_t price_walk_seed = 0;
  int64_t price_walk_step_bps = 0;
  int drop_copy_sent_seq_write_interval_ms = 1000;  // see writeDropCopySentSeq
  // Reports the drop copy holds in memory at most; further behind, it reads them from the store.
  std::size_t drop_copy_feed_reports_max = 4096;
};

class BrokerService {
 public:
  BrokerService(BrokerSettings settings, SimStore& store, MetricsRegistry& metrics);

  void attach(fix::Engine* order_entry, fix::Engine* drop_copy);
  // Order-entry session callback (QuickFIX thread). Drops the session after every
  // disconnect_every_messages application messages (the fault), once this one is answered.
  fix::Delivery onOrderEntry(const std::string& session_id, const fix::Message& message);
  // One fill slice for every open order whose price crosses (market tick thread).
  void marketTick();
  // Sends stored reports the drop copy has not carried yet; returns how many it sent.
  int dropCopyRound();
  [[nodiscard]] int dropCopyBatchSizeMax() const { return settings_.drop_copy_batch_size_max; }
  // After a round that sent nothing: until reports are recorded after that round's read, at most
  // wait_max (a fault change or a session coming back is picked up by then).
  void waitForReports(std::chrono::milliseconds wait_max);

  [[nodiscard]] Faults faults();
  [[nodiscard]] Status setFaults(const std::string& body);
  void setPrice(const std::string& symbol, Money price);
  [[nodiscard]] Money price(const std::string& symbol);
  [[nodiscard]] std::string ordersJson(const std::string& cl_ord_id);
  [[nodiscard]] std::vector<StoredExecution> executionsAfter(int64_t after, int limit);

 private:
  fix::Delivery onNewOrder(const std::string& session_id, const fix::Message& message);
  void writeDropCopySentSeq(bool now);
  fix::Delivery onCancel(const std::string& session_id, const fix::Message& message);
  fix::Delivery onStatusRequest(const std::string& session_id, const fix::Message& message);
  void recordLocked(const std::vector<ExecutionReport>& reports);
  std::vector<StoredExecution> pendingLocked();
  bool chance(double rate);
  bool disconnectDue();
  void walkPricesLocked();
  [[nodiscard]] Money priceLocked(const std::string& symbol) const;

  BrokerSettings settings_;
  SimStore& store_;
  // Guards book_, drop_copy_feed_, store_, prices_, walk_states_, faults_, random_,
  // last_order_session_ and messages_since_disconnect_ (not the engines, which lock themselves).
  std::mutex mutex_;
  std::condition_variable recorded_;        // notified by recordLocked()
  uint64_t records_generation_ = 0;         // recordLocked() calls so far
  uint64_t drop_copy_read_generation_ = 0;  // records_generation_ at the last drop-copy read
  BrokerBook book_;
  DropCopyFeed drop_copy_feed_;  // what the drop copy has yet to carry
  // The current price per symbol, so ticks read no database: a price set through the API is
  // written through to sim_prices; a walked one stays in memory (a restart resumes from the
  // last price set). walk_states_: each walking symbol's generator state.
  std::map<std::string, Money> prices_;
  std::map<std::string, uint64_t> walk_states_;
  Faults faults_;
  std::mt19937_64 random_{20261125};
  fix::Engine* order_entry_ = nullptr;
  fix::Engine* drop_copy_ = nullptr;
  int64_t drop_copy_sent_seq_ = 0;
  // The drop-copy thread's own: what the store holds, and when it was written.
  int64_t drop_copy_sent_seq_written_ = 0;
  std::chrono::steady_clock::time_point drop_copy_sent_seq_written_at_{};
  std::string last_order_session_;
  int64_t messages_since_disconnect_ = 0;  // counted while disconnect_every_messages > 0
  Counter& orders_;
  Counter& reports_;
  Counter& dropped_acks_;
  Counter& fault_disconnects_;
};

}  // namespace fbg::simulator
