// A bounded pool (common/bounded_pool.h) of synchronous hiredis connections with a fail-fast
// window: after a connection attempt fails, callers get Unavailable at once for
// down_retry_interval_ms instead of each paying the connect timeout. Request threads therefore
// never wait on a dead Redis for longer than one connect timeout per interval.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/bounded_pool.h"
#include "common/result.h"

struct redisContext;

namespace fbg {

struct RedisReply {
  enum class Kind { Nil, Integer, String, Status, Array, Error };
  Kind kind = Kind::Nil;
  int64_t integer = 0;
  std::string text;  // String, Status, Error
  std::vector<RedisReply> elements;
};

struct RedisConfig {
  std::string host = "127.0.0.1";
  int port = 6379;
  int timeout_ms = 200;
  int pool_size_max = 16;
  int acquire_timeout_ms = 200;
  int down_retry_interval_ms = 500;
};

class RedisConnection {
 public:
  RedisConnection(redisContext* context, int timeout_ms)
      : context_(context), timeout_ms_(timeout_ms) {}
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // A transport failure is Unavailable and leaves the connection broken; a Redis error reply is
  // returned as a reply of Kind::Error (the caller decides what it means).
  // extra_timeout_ms: added to the command timeout for this command only (a blocking read).
  [[nodiscard]] Result<RedisReply> command(const std::vector<std::string>& argv,
                                           int extra_timeout_ms = 0);
  // The commands written at once and their replies read after, in order: one round trip for
  // all. A transport failure part-way is Unavailable for the whole (which of them Redis ran is
  // unknown: callers resend, and what they send must be safe to run twice).
  [[nodiscard]] Result<std::vector<RedisReply>> pipeline(
      const std::vector<std::vector<std::string>>& commands);
  [[nodiscard]] bool broken() const { return broken_; }

 private:
  redisContext* context_;
  int timeout_ms_;
  bool broken_ = false;
};

class RedisPool {
 public:
  using Lease = BoundedPool<RedisConnection>::Lease;

  explicit RedisPool(RedisConfig config);

  // Unavailable at once inside the fail-fast window after a failure.
  [[nodiscard]] Result<Lease> acquire();
  // One command on a pooled connection.
  [[nodiscard]] Result<RedisReply> command(const std::vector<std::string>& argv,
                                           int extra_timeout_ms = 0);
  // RedisConnection::pipeline on a pooled connection.
  [[nodiscard]] Result<std::vector<RedisReply>> pipeline(
      const std::vector<std::vector<std::string>>& commands);
  // True when the last attempt to reach Redis succeeded.
  [[nodiscard]] bool up() const { return up_.load(); }

 private:
  Result<std::unique_ptr<RedisConnection>> open();  // marks Redis down when it fails
  void markDown();

  RedisConfig config_;
  BoundedPool<RedisConnection> pool_;
  std::atomic<int64_t> down_until_ms_{0};  // steady clock, ms
  std::atomic<bool> up_{true};
};

}  // namespace fbg
