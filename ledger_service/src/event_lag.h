// Fills first: how far the ledger's stream readers are behind, and the intake's wait on it.
//
// Under more orders than the machine can carry, every stage shared the CPU and the last one, the
// readers applying broker events (a few threads against the intake's many), fell behind: new
// orders were accepted at 300 a second while their fills waited in the stream for 10 to 20 s
// (bench/e2e.sh with 128 clients on 64 accounts; docs/performance.md, "Fills first"). The queue
// that grew was the executions stream, which has no bound. So a new order waits, before it takes
// its account's lock, while the oldest event a reader is applying has waited longer than
// intake_events_lag_ms_max since Redis took it (the milliseconds of its entry id): the intake
// slows to what the rest of the path applies. The wait is bounded (intake_events_lag_wait_ms_max);
// past it the order is placed anyway, and the HTTP server's thread and queue bounds hold the rest.
// Cancels, transfers and reads never wait. Lag is this process's readers only.
//
// Only a queue holds orders back, not one slow event. While every reader of a stream is applying,
// the stream's lag is as above. While one of its readers is free, that reader takes each new entry
// as it comes, so what the applying ones show of a queue is how long their reads' oldest entries
// had waited when they were read, not how long they have been applying since: one event that
// takes long (its account's lock held by the intake, a retried write) delays itself alone. Under
// more load than the readers carry, their reads start behind too, and a reader between two reads
// does not release the waiting orders. (Before, one slow event held back every new order of
// every account for up to intake_events_lag_wait_ms_max; docs/performance.md, "Fills first: a
// queue, not one slow event".)
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "common/time_text.h"

namespace fbg::ledger {

// The Unix milliseconds of a stream entry id ("1732700000000-3"); 0 when it is not one.
[[nodiscard]] int64_t entryUnixMs(const std::string& entry_id);

class EventLag {
 public:
  // The readers that report: ids 0 .. streams * readers_per_stream - 1; reader r reads stream
  // r % streams.
  EventLag(int streams, int readers_per_stream, MetricsRegistry& metrics);

  // Reader `reader` applies, from `now_unix_ms` until done(reader), a read whose oldest entry
  // Redis took at `oldest_unix_ms` (0: unknown, counts as no lag).
  void working(int reader, int64_t oldest_unix_ms, int64_t now_unix_ms = wallClockMs());
  void done(int reader);
  // How long the oldest entry being applied has waited at `now_unix_ms`; 0 when none is.
  [[nodiscard]] int64_t lagMs(int64_t now_unix_ms) const;
  // The lag that holds new orders back: per stream, lagMs() of its readers while all of them
  // are applying, else how long the oldest entry of an applying reader's read had waited when
  // it was read; the largest over the streams.
  [[nodiscard]] int64_t queuedLagMs(int64_t now_unix_ms) const;
  // Waits while queuedLagMs() is above `lag_ms_max`, at most `wait_ms_max` (0: returns at
  // once). Returns the milliseconds waited.
  int64_t waitWhileBehind(int64_t lag_ms_max, int64_t wait_ms_max);

 private:
  int64_t lagMsLocked(int64_t now_unix_ms) const;
  int64_t queuedLagMsLocked(int64_t now_unix_ms) const;

  int streams_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;      // a reader moved on: the lag may have dropped
  std::vector<int64_t> oldest_unix_ms_;  // per reader; 0: not applying, or its age unknown
  std::vector<int64_t> read_unix_ms_;    // per reader: when its read began
  std::vector<bool> applying_;           // per reader
  Counter& waits_;
  Histogram& wait_seconds_;
  Gauge& lag_ms_;
};

}  // namespace fbg::ledger
