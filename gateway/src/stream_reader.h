// Reads orders:{broker} in a consumer group and records each entry in the gateway's database
// before acknowledging it (FLOW.md section 2). Never touches the FIX session: it only wakes the
// sender after a commit.
//
// At start it first re-reads its own pending entries (XREADGROUP ... 0): entries read but not
// acknowledged before a crash. Recording is idempotent (the order id is the primary key), so a
// redelivered entry finds its row and adds nothing.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "common/metrics.h"
#include "common/redis.h"
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
  StreamReader(StreamReaderSettings settings, RedisPool& redis, GatewayStore& store,
               MetricsRegistry& metrics, std::function<void()> on_recorded);
  ~StreamReader();
  StreamReader(const StreamReader&) = delete;
  StreamReader& operator=(const StreamReader&) = delete;

  void start();
  void stop();

 private:
  void run();
  // One XREADGROUP round from `from` (">" new, "0" own pending); returns entries handled, or
  // -1 after a failure.
  int round(const std::string& from);
  bool ensureGroup();

  StreamReaderSettings settings_;
  RedisPool& redis_;
  GatewayStore& store_;
  std::function<void()> on_recorded_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  bool group_ready_ = false;
  bool pending_drained_ = false;
  Counter& entries_;
  Counter& duplicates_;
  Counter& refused_;
  Counter& failures_;
};

}  // namespace fbg::gateway
