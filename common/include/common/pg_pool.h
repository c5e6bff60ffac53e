// A bounded pool of libpqxx connections. Connections are opened lazily up to size_max; a caller
// waits at most acquire_timeout_ms for a free one. A connection that failed is dropped on return
// (markBroken), so a PostgreSQL restart heals without restarting the process: the next acquire
// opens a fresh connection.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/result.h"

namespace fbg {

struct PgPoolConfig {
  std::string uri;
  int size_max = 16;
  int acquire_timeout_ms = 1000;
};

class PgPool {
 public:
  using Prepare = std::function<void(pqxx::connection&)>;

  class Lease {
   public:
    Lease(PgPool* pool, std::unique_ptr<pqxx::connection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    pqxx::connection& connection() { return *connection_; }
    void markBroken() { broken_ = true; }

   private:
    PgPool* pool_;
    std::unique_ptr<pqxx::connection> connection_;
    bool broken_ = false;
  };

  // prepare runs on every new connection (prepared statements).
  PgPool(PgPoolConfig config, Prepare prepare);

  // Unavailable when no connection can be opened or none is free within the timeout.
  [[nodiscard]] Result<Lease> acquire();

 private:
  void giveBack(std::unique_ptr<pqxx::connection> connection, bool broken);

  PgPoolConfig config_;
  Prepare prepare_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  int open_count_ = 0;
};

// Runs body(pqxx::connection&) -> Result<T> on a pooled connection and maps database failures
// onto values: a lost connection or a server that is down -> Unavailable (the connection is
// dropped, so the next caller opens a fresh one). Anything else propagates.
template <typename T, typename Body>
Result<T> withConnection(PgPool& pool, Body&& body);

}  // namespace fbg

#include "common/pg_pool_inl.h"
