// Publishes committed order_events rows to the order-events stream and marks them with the
// entry id Redis gave them (FLOW.md section 2). Entries get Redis-assigned ids: several gateways
// write the same stream, and a row published twice (a crash between XADD and marking it)
// carries the same event_id, which the ledger deduplicates on.
//
// Stream entry layout (XADD order-events MAXLEN ~ stream_length_max * ...):
//   event_id  {order_id}:{kind}[:{cancel_request}]
//   kind      ACKED | REJECTED | CANCELED | CANCEL_REJECTED | EXPIRED | UNCONFIRMED
//   order_id  the ledger's order id (= ClOrdID)
//   payload   JSON, see gateway_rows.h (EventRow)
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "common/pg_pool.h"
#include "common/redis.h"

namespace fbg::gateway {

struct EventRelaySettings {
  std::string stream = "order-events";
  int batch_size_max = 256;
  int poll_interval_ms = 100;  // wait after a round that published something (to mark it)
  // Wait after a round that found nothing to publish: every writer of order_events in this
  // process wakes the relay, so this only bounds how late an event nobody announced goes out.
  int idle_wait_ms_max = 1000;
  // After a wake-up, how long to let more events commit before a round: fewer, fuller rounds.
  int batch_linger_ms = 2;
  int64_t stream_length_max = 1'000'000;
};

class EventRelay {
 public:
  EventRelay(EventRelaySettings settings, PgPool& pool, RedisPool& redis, MetricsRegistry& metrics);
  ~EventRelay();
  EventRelay(const EventRelay&) = delete;
  EventRelay& operator=(const EventRelay&) = delete;

  void start();
  void stop();
  void wake();

 private:
  void run();
  // Publishes one batch; returns the rows published (0: none was waiting), or -1 after a
  // failure (the database, or Redis refusing every row waiting).
  int relayBatch();

  EventRelaySettings settings_;
  PgPool& pool_;
  RedisPool& redis_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool woken_ = false;
  // Published by the last round, marked by the next one's read (relay thread only), with the
  // entry ids Redis gave them (the event sweep asks the stream for them).
  struct Unmarked {
    std::vector<std::string> relay_seqs;
    std::vector<std::string> entry_ids;
  };
  Unmarked unmarked_;
  std::atomic<bool> stopping_{false};
  Counter& rounds_;
  Counter& published_;
  Gauge& backlog_;
};

}  // namespace fbg::gateway
