// The rows of consumer_cursors (migrations 003, 005, 006): one position per reader of the
// fill receiver's reports or of the outbox, that only moves up.
//   executions        the highest fill receiver seq the consumers applied (polling path)
//   executions_swept  the executions sweep's mark
//   outbox_swept      the outbox sweep's mark
#pragma once

#include <cstdint>
#include <pqxx/pqxx>
#include <string>

#include "common/pg_pool.h"

namespace fbg::ledger {

void prepareConsumerCursors(pqxx::connection& connection);
[[nodiscard]] Result<int64_t> readConsumerCursor(PgPool& pool, const std::string& name);
// Moves the row up to `position` (never down).
[[nodiscard]] Status advanceConsumerCursor(PgPool& pool, const std::string& name, int64_t position);

}  // namespace fbg::ledger
