// Reads orders:{broker} in a consumer group and records each entry in the gateway's database
// before acknowledging it (FLOW.md section 2). Never touches the FIX session: it only wakes the
// sender after a commit.
//
// At start it first re-reads its own pending entries (XREADGROUP ... 0): entries read but not
// acknowledged before a crash. Recording is idempotent (the order id is the primary key), so a
// redelivered entry finds its row and adds nothing.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "common/redis.h"
#include "common/stream_consumer.h"
#include "gateway_store.h"

namespace fbg::gateway {

struct StreamReaderSettings {
  std::string stream;           // orders:{broker}
  std::string group;            // consumer group
  std::string consumer;         // this process's name in the group
  int batch_size_max = 256;     // entries per XREADGROUP
  int block_ms = 200;           // XREADGROUP BLOCK; must stay under the Redis command timeout
  int retry_interval_ms = 500;  // after Redis or PostgreSQL failed
};

class StreamReader {
 public:
  StreamReader(const StreamReaderSettings& settings, RedisPool& redis, GatewayStore& store,
               MetricsRegistry& metrics, std::function<void(const IntakeCounts&)> on_recorded);

  void start() { consumer_.start(); }
  void stop() { consumer_.stop(); }

 private:
  // One read's entries in one transaction: all done, or none (left pending, read again).
  std::vector<bool> record(const std::vector<StreamMessage>& messages);

  GatewayStore& store_;
  std::function<void(const IntakeCounts&)> on_recorded_;
  Counter& entries_;
  Counter& duplicates_;
  Counter& refused_;
  Counter& failures_;
  StreamConsumer consumer_;  // last: its thread calls record()
};

}  // namespace fbg::gateway
