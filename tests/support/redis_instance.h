#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "support/process.h"

namespace fbg::test {

// One Redis reply, decoded from hiredis. Arrays nest (XRANGE returns [[id, [field, value, ...]]]).
struct RedisReply {
  enum class Kind { Nil, Status, Error, String, Integer, Array };

  Kind kind = Kind::Nil;
  std::string text;                  // Status, Error and String replies
  long long integer = 0;             // Integer replies
  std::vector<RedisReply> elements;  // Array replies

  [[nodiscard]] bool isNil() const { return kind == Kind::Nil; }
  [[nodiscard]] bool isError() const { return kind == Kind::Error; }
  // The texts of a flat array's elements (integers as decimal text, nil as "").
  [[nodiscard]] std::vector<std::string> strings() const;
};

// A throwaway Redis 7 server for one test: a child process (not daemonized) on a free port of
// 127.0.0.1, with its own folder under $FBG_TEST_TMP (or /tmp), appendonly yes, appendfsync
// everysec, no RDB snapshots. Its output goes to folder()/redis.log.
class RedisInstance {
 public:
  RedisInstance() = default;
  ~RedisInstance();  // kills the server and removes the folder
  RedisInstance(const RedisInstance&) = delete;
  RedisInstance& operator=(const RedisInstance&) = delete;

  // The first call creates the folder, picks the port and starts the server; later calls restart
  // it on the same port and folder (the append-only file is replayed). Returns once it answers
  // PING. Throws std::runtime_error with the log's tail if it does not within its bound.
  void start();

  // Graceful shutdown (SIGTERM: the append-only file is flushed); SIGKILL if it does not exit in
  // time. No-op if not running.
  void stop();

  // SIGKILL, as in a crash: writes of the last second may be lost (appendfsync everysec).
  void kill9();

  bool isRunning() { return server_.isRunning(); }
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] const std::filesystem::path& folder() const { return folder_; }
  [[nodiscard]] std::filesystem::path logPath() const { return folder_ / "redis.log"; }

  // Runs one command on a new connection, e.g. command({"XLEN", "orders:SIM-A"}). A Redis error is
  // returned as a RedisReply of Kind::Error; a failed connection or I/O throws std::runtime_error.
  // NOLINTNEXTLINE(modernize-use-nodiscard): setup commands may ignore their reply
  RedisReply command(const std::vector<std::string>& args) const;

 private:
  void create();
  [[nodiscard]] bool answersPing() const;

  std::filesystem::path folder_;
  int port_ = 0;
  ChildProcess server_;
};

}  // namespace fbg::test
