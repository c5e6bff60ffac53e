#pragma once

#include <spdlog/spdlog.h>

namespace fbg {

template <typename T, typename Body>
Result<T> withConnection(PgPool& pool, Body&& body) {
  auto lease = pool.acquire();
  if (!lease) return lease.error();
  try {
    return body(lease->connection());
  } catch (const pqxx::broken_connection& failure) {
    lease->markBroken();
    return makeError(ErrorCode::Unavailable, "database unavailable");
  } catch (const pqxx::in_doubt_error& failure) {
    lease->markBroken();
    spdlog::error("commit outcome unknown: {}", failure.what());
    return makeError(ErrorCode::Unavailable,
                     "database unavailable; outcome unknown, safe to retry");
  } catch (const pqxx::sql_error& failure) {
    // Admin shutdown (57P01) and friends arrive as sql_error on a connection that is now dead.
    if (!lease->connection().is_open() || failure.sqlstate().rfind("57", 0) == 0 ||
        failure.sqlstate().rfind("08", 0) == 0) {
      lease->markBroken();
      return makeError(ErrorCode::Unavailable, "database unavailable");
    }
    throw;
  }
}

}  // namespace fbg
