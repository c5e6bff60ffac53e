// A bounded pool of libpqxx connections (common/bounded_pool.h): a connection that failed is
// dropped on return (markBroken), so a PostgreSQL restart heals without restarting the process.
#pragma once

#include <functional>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/bounded_pool.h"
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
  using Lease = BoundedPool<pqxx::connection>::Lease;

  // prepare runs on every new connection (prepared statements). Every connection plans its
  // prepared statements once (plan_cache_mode = force_generic_plan): pg_pool.cpp says why.
  PgPool(PgPoolConfig config, Prepare prepare);

  // Unavailable when no connection can be opened or none is free within the timeout.
  [[nodiscard]] Result<Lease> acquire() { return pool_.acquire(); }

 private:
  Result<std::unique_ptr<pqxx::connection>> open() const;

  PgPoolConfig config_;
  Prepare prepare_;
  BoundedPool<pqxx::connection> pool_;
};

// Runs body(pqxx::connection&) -> Result<T> on a pooled connection and maps database failures
// onto values: a lost connection or a server that is down -> Unavailable (the connection is
// dropped, so the next caller opens a fresh one). Anything else propagates.
template <typename T, typename Body>
Result<T> withConnection(PgPool& pool, Body&& body);

// PostgreSQL array literal of text elements, each quoted ("\\" and "\"" escaped), for a
// $n::text[] (or ::bigint[], ::numeric[], ::boolean[]) parameter: one statement for a set of
// rows. Arrays rather than JSON where a statement joins on them: the planner expects few
// elements and looks each up by its index.
[[nodiscard]] std::string pgArrayLiteral(const std::vector<std::string>& elements);

// The same libpq URI with synchronous_commit off for every transaction of its connections:
// commits survive a crash of our process (the server has them), not a crash of the server.
[[nodiscard]] std::string withoutSynchronousCommit(const std::string& uri);

}  // namespace fbg

#include "common/pg_pool_inl.h"
