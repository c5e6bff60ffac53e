// Moves committed outbox rows to the Redis stream orders:{broker}, each row exactly once and in
// id order per broker (FLOW.md section 1, step 4).
//
// Stream entry layout (XADD orders:{broker} MAXLEN ~ stream_length_max {relay_seq}-0 ...):
//   id        {relay_seq}-0   explicit, so a re-send after a crash between XADD and marking the
//                             row sent is refused by Redis ("ID equal or smaller") instead of
//                             creating a second entry. relay_seq, not outbox.id: ids are taken
//                             at INSERT and commit out of order (migration 002 says more).
//   kind      NEW | CANCEL
//   order_id  the order's id (= FIX ClOrdID of the NEW order)
//   payload   the JSON written by the intake statement (see store_sql.h)
//
// One relay at a time per database: it holds a session advisory lock while it works. When Redis
// is down rows stay unsent and are delivered, in order, once it is back.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "common/redis.h"

namespace fbg::ledger {

struct OutboxRelaySettings {
  std::string postgres_uri;
  int batch_size_max = 256;
  int poll_interval_ms = 100;
  int64_t stream_length_max = 1'000'000;
};

class OutboxRelay {
 public:
  OutboxRelay(OutboxRelaySettings settings, RedisPool& redis, MetricsRegistry& metrics);
  ~OutboxRelay();
  OutboxRelay(const OutboxRelay&) = delete;
  OutboxRelay& operator=(const OutboxRelay&) = delete;

  void start();
  void stop();
  // Called after a commit that wrote outbox rows: relay now rather than at the next poll.
  void wake();

 private:
  void run();
  // Relays one batch; returns the number of rows marked sent.
  int relayBatch();
  bool ensureConnection();
  void markDelivered();
  bool deliver(const std::string& stream, const std::string& id, const std::string& kind,
               const std::string& order_id, const std::string& payload);

  OutboxRelaySettings settings_;
  RedisPool& redis_;
  std::unique_ptr<pqxx::connection> connection_;
  // Delivered by the last round, marked sent by the next one's claim (relay thread only).
  struct Unmarked {
    std::vector<std::string> relay_seqs;
    std::vector<std::string> sent_at_us;  // when each went into the stream
  };
  Unmarked unmarked_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool woken_ = false;
  std::atomic<bool> stopping_{false};
  Counter& relayed_;
  Counter& already_present_;
  Counter& stream_ahead_;
  Gauge& backlog_;
  std::chrono::steady_clock::time_point last_alarm_logged_{};
};

}  // namespace fbg::ledger
