// The outbox sweep's process side (domain/outbox_sweep.h decides): every
// outbox_sweep_interval_ms, the sent outbox rows older than outbox_sweep_grace_ms, in relay_seq
// order from its mark (consumer_cursors 'outbox_swept'); one pipelined XRANGE tells which of
// their entries the stream holds; a lost one is published again with one script, after
// everything the stream held (outbox_relay.h's ids stay above it), counted in
// ledger_outbox_republished_total and logged. The gateway takes a NEW once per order_id and a
// CANCEL once per cancel number, so publishing again a row it did read changes nothing.
//
// Entry published again (script kRepublishBody, one round trip, atomic):
//   id        {relay_seq}-0 when the stream lost every later entry too (it is then above its
//             last-generated-id); else {ms}-* with ms the last-generated-id's. Either way after
//             everything the stream ever held, and below the relay's next {relay_seq}-0.
//   kind, order_id, payload   as the relay wrote them
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "common/pg_pool.h"
#include "common/stream_sweep.h"

namespace fbg::ledger {

struct OutboxSweeperSettings {
  int interval_ms = 5000;
  int grace_ms = 30000;
  int batch_size_max = 500;  // rows looked at per batch
  int64_t stream_length_max = 1'000'000;
};

class OutboxSweeper {
 public:
  OutboxSweeper(OutboxSweeperSettings settings, PgPool& pool, RedisPool& redis,
                MetricsRegistry& metrics);

  static void prepareStatements(pqxx::connection& connection);
  void start() { sweep_.start(); }
  void stop() { sweep_.stop(); }

 private:
  struct Row {
    int64_t relay_seq = 0;
    std::string broker, kind, order_id, payload, order_status;
  };

  // The next rows past the mark that are sent and older than the grace; kept in batch_ for
  // settle().
  [[nodiscard]] Result<std::vector<SweptEntry>> due(int64_t mark, int limit);
  [[nodiscard]] bool settle(std::size_t index, bool in_stream);
  [[nodiscard]] bool republish(const Row& row);
  // A NEW, then the order's CANCEL rows sent after it: a gateway without the order refused them.
  [[nodiscard]] bool republishWithCancels(const Row& row);

  OutboxSweeperSettings settings_;
  PgPool& pool_;
  RedisPool& redis_;
  std::vector<Row> batch_;  // the sweep's thread only
  // CANCEL rows published again with their NEW: their own "<relay_seq>-0" is absent, and they
  // need no second copy (after a restart they get one; the gateway takes a cancel number once).
  // Forgotten once the mark passes them.
  std::set<int64_t> republished_cancels_;
  Counter& republished_;
  StreamSweep sweep_;  // last: its thread stops before the members it uses go
};

}  // namespace fbg::ledger
