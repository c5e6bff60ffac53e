#include "common/pg_pool.h"

#include <spdlog/spdlog.h>

namespace fbg {

PgPool::PgPool(PgPoolConfig config, Prepare prepare)
    : config_(std::move(config)),
      prepare_(std::move(prepare)),
      pool_(
          "database", config_.size_max, config_.acquire_timeout_ms, [this] { return open(); },
          [](pqxx::connection& connection) { return connection.is_open(); }) {}

Result<std::unique_ptr<pqxx::connection>> PgPool::open() const {
  try {
    auto connection = std::make_unique<pqxx::connection>(config_.uri);
    // Our prepared statements look rows up by key or by arrays of keys, where one plan suits
    // every parameter; left to choose, PostgreSQL kept planning some of them anew on every call
    // (custom plans: 0.78 ms of planning per call of the ledger's apply read, 0.2 ms of the
    // gateway's reply statements, more than they took to run; docs/performance.md).
    pqxx::nontransaction(*connection).exec("SET plan_cache_mode = force_generic_plan");
    if (prepare_) prepare_(*connection);
    return connection;
  } catch (const std::exception& failure) {
    spdlog::warn("cannot open database connection: {}", failure.what());
    return makeError(ErrorCode::Unavailable, "database unavailable");
  }
}

std::string withoutSynchronousCommit(const std::string& uri) {
  const char* joiner = uri.find('?') == std::string::npos ? "?" : "&";
  return uri + joiner + "options=-c%20synchronous_commit%3Doff";
}

std::string pgArrayLiteral(const std::vector<std::string>& elements) {
  std::string out = "{";
  for (std::size_t i = 0; i < elements.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (const char c : elements[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace fbg
