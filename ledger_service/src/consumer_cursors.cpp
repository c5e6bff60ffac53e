#include "consumer_cursors.h"

namespace fbg::ledger {

void prepareConsumerCursors(pqxx::connection& c) {
  c.prepare("cursor_read", "SELECT position FROM consumer_cursors WHERE name = $1");
  c.prepare("cursor_advance",
            "UPDATE consumer_cursors SET position = greatest(position, $2) WHERE name = $1");
}

Result<int64_t> readConsumerCursor(PgPool& pool, const std::string& name) {
  return withConnection<int64_t>(pool, [&name](pqxx::connection& c) -> Result<int64_t> {
    pqxx::nontransaction work(c);
    const auto rows = work.exec_prepared("cursor_read", name);
    if (rows.empty()) return makeError(ErrorCode::Internal, "no consumer_cursors row " + name);
    return rows[0][0].as<int64_t>();
  });
}

Status advanceConsumerCursor(PgPool& pool, const std::string& name, int64_t position) {
  return withConnection<Ok>(pool, [&name, position](pqxx::connection& c) -> Status {
    pqxx::nontransaction work(c);
    work.exec_prepared("cursor_advance", name, position);
    return Ok{};
  });
}

}  // namespace fbg::ledger
