// The loop shared by the sweeps that find stream entries Redis lost after acknowledging them
// (the ledger's outbox sweep, the gateway's event sweep). Every interval_ms: the rows due past
// the mark, in batches of batch_size_max (at most batches_per_round_max a round); one pipelined
// XRANGE asks the stream for each row's entry; the owner settles each row in order (publishing
// it again when it must), and the mark moves over the leading settled rows and is stored. A row
// the owner cannot settle now holds the mark, and the rest of its batch waits for a later round.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "common/periodic_task.h"
#include "common/redis.h"
#include "common/result.h"

namespace fbg {

// One row of a batch as the sweep asks its stream about it.
struct SweptEntry {
  int64_t seq = 0;  // the row's place: rows come in seq order, each past the mark
  std::string stream;
  std::string entry_id;      // "": nothing to ask; the row is settled as it is
  std::string field, value;  // the entry is the row's when it holds this field with this value
};

struct StreamSweepSettings {
  std::string name;           // in the log lines
  std::string metric_prefix;  // {prefix}_failures_total, {prefix}_mark
  int interval_ms = 5000;
  int batch_size_max = 500;
  int batches_per_round_max = 20;
};

class StreamSweep {
 public:
  struct Hooks {
    std::function<Result<int64_t>()> read_mark;  // once, before the first batch
    std::function<Status(int64_t)> store_mark;
    // The next rows past `mark` that are due, at most `limit`, in seq order.
    std::function<Result<std::vector<SweptEntry>>(int64_t mark, int limit)> due;
    // Row `index` of the batch `due` returned last, and whether its stream holds its entry:
    // true once settled (in the stream, not needed, or published again).
    std::function<bool(std::size_t index, bool in_stream)> settle;
  };

  StreamSweep(StreamSweepSettings settings, RedisPool& redis, Hooks hooks,
              MetricsRegistry& metrics);

  void start() { task_.start(); }
  void stop() { task_.stop(); }

 private:
  [[nodiscard]] Status round();
  // One batch; true when a full batch was settled whole (more may be due).
  [[nodiscard]] Result<bool> sweepBatch();
  [[nodiscard]] Result<std::vector<bool>> inStream(const std::vector<SweptEntry>& rows);

  StreamSweepSettings settings_;
  RedisPool& redis_;
  Hooks hooks_;
  int64_t mark_ = -1;  // -1: not read yet
  Gauge& mark_gauge_;
  PeriodicTask task_;  // last: its thread stops before the members it uses go
};

}  // namespace fbg
