// The transaction of one account's broker events (event_applier.h draws the whole path). The
// group is read once, applied in memory in stream order (domain/order_apply.h), and written with
// few statements whatever its size:
//
//   reads   1  dedup ids already applied (executions by broker + exec_id, applied_events by id)
//           2  the group's orders joined with their account and positions, with versions
//   writes  per event that changes rows: UPDATE order / account, upsert position, each
//           WHERE version = the version the group holds, each with its revision row, each
//           returning the new version (0 rows: a version conflict, the caller rolls back)
//   group   3  journal entries and their lines, one statement (arrays)
//           4  executions rows (fills, with booked / alarm), one statement
//           5  applied_events rows (the other events), one statement
//
// Duplicates inside the group are found in memory (the ids seen so far), so a report repeated
// within one stream read is applied once.
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <vector>

#include "domain/broker_event_parse.h"

namespace fbg::ledger {

enum class ApplyOutcome { Applied, Unchanged, Duplicate, UnknownOrder, Alarmed };

void prepareApplyGroup(pqxx::connection& connection);

// Applies the group inside `work` (not committed here); one outcome per event, in its order.
// nullopt: a row's version was not the one read (written by someone without the account lock).
[[nodiscard]] std::optional<std::vector<ApplyOutcome>> applyGroupInTransaction(
    pqxx::work& work, const std::vector<const IncomingEvent*>& group);

}  // namespace fbg::ledger
