// The event sweep (FLOW.md section 2: each broker event reaches the ledger). The relay marks an
// order_events row published once Redis accepted its XADD, with the entry id Redis gave it.
// Redis can still lose that entry (a crash of its host within its fsync window, appendfsync
// everysec), and then the ledger never hears of it. The drop copy carries acknowledgements,
// cancels, rejects and expiries again, but not UNCONFIRMED or CANCEL_REJECTED: an order would
// stay PENDING_NEW, or PENDING_CANCEL while the broker holds it.
//
// Every event_sweep_interval_ms, the rows published more than event_sweep_grace_ms ago (well
// past any fsync window), in relay_seq order from the mark (event_sweep_mark); one pipelined
// XRANGE asks the stream for each row's entry; a row whose entry is gone is published again
// (XADD ... *, the same fields), counted in gateway_events_republished_total and logged. The
// ledger takes an event once per event_id, so publishing one it did read changes nothing.
//
// relay_seq is taken at INSERT, and rows commit in about that order: a row whose transaction
// stayed open longer than the grace could be passed unseen. The gateway's transactions are
// short (a batch of replies).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "common/pg_pool.h"
#include "common/stream_sweep.h"

namespace fbg::gateway {

struct EventSweeperSettings {
  std::string stream = "order-events";
  int interval_ms = 5000;
  int grace_ms = 30000;
  int batch_size_max = 500;  // rows looked at per batch
  int64_t stream_length_max = 1'000'000;
};

class EventSweeper {
 public:
  EventSweeper(EventSweeperSettings settings, PgPool& pool, RedisPool& redis,
               MetricsRegistry& metrics);

  void start() { sweep_.start(); }
  void stop() { sweep_.stop(); }

 private:
  struct Row {
    int64_t relay_seq = 0;
    // entry_id "": published before the ids were kept (nothing to ask).
    std::string event_id, kind, order_id, payload, entry_id;
  };

  // The next rows past the mark, up to the first not yet published or published less than the
  // grace ago; kept in batch_ for settle().
  [[nodiscard]] Result<std::vector<SweptEntry>> due(int64_t mark, int limit);
  [[nodiscard]] bool settle(std::size_t index, bool in_stream);

  EventSweeperSettings settings_;
  PgPool& pool_;
  RedisPool& redis_;
  std::vector<Row> batch_;  // the sweep's thread only
  Counter& republished_;
  StreamSweep sweep_;  // last: its thread stops before the members it uses go
};

}  // namespace fbg::gateway
