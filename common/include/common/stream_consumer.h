// A Redis Streams consumer-group reader (FLOW.md: streams with consumer groups, acknowledged
// reads). Each entry goes to `handle`; an entry is acknowledged (XACK) only when handle says it
// is done, so a crash or a failure leaves it pending, and it is read again: first its own
// pending entries (XREADGROUP ... 0) at start and after any failure, then new ones (>).
//
// While Redis cannot be reached, `while_unavailable` (if set) is called once per retry interval
// instead of reading: the place for a polling path.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/redis.h"

namespace fbg {

struct StreamMessage {
  std::string entry_id;
  std::map<std::string, std::string> fields;
};

struct StreamConsumerSettings {
  std::string stream;
  std::string group;
  std::string consumer;
  int batch_size_max = 256;     // entries per read
  int block_ms = 200;           // XREADGROUP BLOCK; below the Redis command timeout
  int retry_interval_ms = 500;  // after a failure
};

class StreamConsumer {
 public:
  // handle: true when the entry is done (acknowledge it), false to leave it pending.
  using Handler = std::function<bool(const StreamMessage&)>;
  // The same for a whole read at once (one transaction for many entries): one answer each.
  using BatchHandler = std::function<std::vector<bool>(const std::vector<StreamMessage>&)>;

  StreamConsumer(StreamConsumerSettings settings, RedisPool& redis, Handler handle,
                 std::function<void()> while_unavailable = {});
  StreamConsumer(StreamConsumerSettings settings, RedisPool& redis, BatchHandler handle,
                 std::function<void()> while_unavailable = {});
  ~StreamConsumer();
  StreamConsumer(const StreamConsumer&) = delete;
  StreamConsumer& operator=(const StreamConsumer&) = delete;

  // Called on the reader's thread after a read that found nothing new (the stream is quiet).
  // Set before start().
  void setWhileIdle(std::function<void()> while_idle) { while_idle_ = std::move(while_idle); }
  void start();
  void stop();
  [[nodiscard]] bool streamUp() const { return stream_up_.load(); }

 private:
  void run();
  // One read from `from`; entries handled, or -1 when Redis failed.
  int round(const std::string& from);
  bool ensureGroup();

  StreamConsumerSettings settings_;
  RedisPool& redis_;
  BatchHandler handle_;
  std::function<void()> while_unavailable_;
  std::function<void()> while_idle_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stream_up_{true};
  bool group_ready_ = false;
  bool pending_drained_ = false;
};

// XREADGROUP / XRANGE reply -> entries (an entry trimmed away has no fields).
[[nodiscard]] std::vector<StreamMessage> streamMessagesOf(const RedisReply& reply);

}  // namespace fbg
