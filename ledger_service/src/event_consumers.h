// The ledger's two event consumers (FLOW.md section 4): order-events from the gateways and
// executions from the fill receiver, each a consumer group reader that acknowledges an entry
// only after its apply committed (event_applier.h). While Redis is down the executions
// consumer polls the fill receiver's GET /v1/executions from the cursor the applies keep; the
// stream's entries for the same reports are deduplicated when it returns.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "common/stream_consumer.h"
#include "event_applier.h"
#include "event_lag.h"

namespace fbg::ledger {

struct ConsumerSettings {
  std::string group = "ledger";
  std::string consumer = "ledger-1";
  int batch_size_max = 128;
  // Readers per stream, each its own consumer in the group ({consumer}-{i}): applies of
  // different accounts run in parallel and their commits share WAL flushes.
  int threads_per_stream = 4;
  int block_ms = 200;
  std::string fill_receiver_host = "127.0.0.1";
  int fill_receiver_port = 8081;
  int poll_page_size = 500;
  int poll_pages_max = 20;  // per round while Redis is down
  int poll_timeout_ms = 2000;
};

// Where an outage's polling starts. The stored cursor is the highest seq applied, but the stream
// readers apply in parallel: entries below it may have been read and not yet applied when Redis
// went away (at most a batch per reader; doubled for seq gaps, which refused duplicate inserts in
// the fill receiver leave). Those are polled again: the ones already in change nothing (dedup).
[[nodiscard]] int64_t pollingStart(int64_t cursor, const ConsumerSettings& settings);

// The streams the readers read: order-events and executions. Reader 2 i reads order-events,
// 2 i + 1 executions (EventLag's reader r reads stream r % kEventStreams).
inline constexpr int kEventStreams = 2;

class EventConsumers {
 public:
  // lag: told what each reader applies (readers 0 .. kEventStreams x threads_per_stream - 1).
  EventConsumers(ConsumerSettings settings, RedisPool& redis, EventApplier& applier, EventLag& lag,
                 MetricsRegistry& metrics);
  void start();
  void stop();

 private:
  // A stream read at once (EventApplier::applyBatch); one answer per entry: true when done.
  // `reader` reports to lag_ while it applies the read (event_lag.h).
  std::vector<bool> handleOrderEvents(int reader, const std::vector<StreamMessage>& messages);
  std::vector<bool> handleExecutions(int reader, const std::vector<StreamMessage>& messages);
  std::vector<bool> applyRead(int reader, int64_t oldest_unix_ms,
                              const std::vector<Result<IncomingEvent>>& parsed,
                              const std::vector<StreamMessage>& messages, const std::string& what);
  void pollFillReceiver();
  // Applies one page after `after` (the poller's own position); false when it stops the round.
  bool pollPage(int64_t& after);

  ConsumerSettings settings_;
  EventApplier& applier_;
  EventLag& lag_;
  Counter& invalid_;
  Counter& polled_;
  std::vector<std::unique_ptr<StreamConsumer>> consumers_;
  // The poller's position in the current outage (only the poller thread touches these): rounds
  // come every retry interval while Redis is down, so a longer gap starts a new outage.
  int64_t poll_after_ = 0;
  std::chrono::steady_clock::time_point last_poll_{};
};

}  // namespace fbg::ledger
