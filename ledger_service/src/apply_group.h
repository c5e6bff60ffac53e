// The writes of a batch of broker events, of one account or of several with all their locks
// held (event_applier.h draws the whole path): two statements, whatever the batch's size, and
// no BEGIN/COMMIT (each statement is atomic):
//
//   read   1  the dedup ids already applied (executions by broker + exec_id, applied_events by
//             id) and the group's orders joined with their account and positions, with versions
//   write  2  (only if something changed) apply_row_writes (migration 004): per event that
//             changes rows, UPDATE order / account, upsert position, each WHERE version = the
//             version the group holds (+1 per earlier write of the group), each with its
//             revision row; then journal entries and lines, executions rows (fills, with booked /
//             alarm), applied_events rows (the other events), from arrays in event order
//
// Between the two, the group is applied in memory in stream order (domain/order_apply.h). A row
// that another writer changed since the read makes the write raise serialization_failure
// (40001): nothing of the group is written and GuardedWriter reads again and retries, as after a
// deadlock. Duplicates inside the group are found in memory (the ids seen so far), so a report
// repeated within one stream read is applied once.
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <vector>

#include "domain/broker_event_parse.h"

namespace fbg::ledger {

enum class ApplyOutcome { Applied, Unchanged, Duplicate, UnknownOrder, Alarmed };

void prepareApplyGroup(pqxx::connection& connection);

// Applies the group with the two statements above on `tx` (a pqxx::nontransaction: each
// statement commits by itself); one outcome per event, in its order. Throws
// pqxx::serialization_failure when a row's version was not the one read (written by someone
// without the account lock), pqxx::unique_violation when another source recorded one of the
// events in between.
[[nodiscard]] std::vector<ApplyOutcome> applyGroupAsTwoStatements(
    pqxx::transaction_base& tx, const std::vector<const IncomingEvent*>& group);

}  // namespace fbg::ledger
