// Applies one broker event to the ledger (FLOW.md section 4): under the account's lock and the
// version rules of intake (guarded_write.h), deduplicated in the same transaction that applies
// it, so at-least-once delivery counts each event exactly once.
//
// A batch (one stream read) is grouped by account: one lookup of the orders' accounts, then per
// account one lock and one transaction for its events in stream order. Per event, inside it:
//   1. dedup: seen in executions (fills, key broker + exec_id) or applied_events (the rest, key
//      event_id) -> Duplicate
//   2. read order, account, position with their versions (seeing the group's earlier writes)
//   3. domain/order_apply.h decides
//   4. UPDATE ... WHERE version = read version (0 rows -> conflict: the group rolls back,
//      re-reads, retries), position upserted, journal entry + lines, revisions
//      (actor "broker:{broker}"), the dedup row inserted
// then COMMIT. A unique violation (the other source applied an event between check and insert)
// rolls the group back; its events are then applied one transaction each. After the commits the
// executions cursor (polling path) moves to the highest seq applied (not by reconcile): outside
// the transactions, so fills of different accounts do not queue on its row.
#pragma once

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "common/pg_pool.h"
#include "domain/broker_event_parse.h"
#include "guarded_write.h"

namespace fbg::ledger {

enum class ApplyOutcome { Applied, Unchanged, Duplicate, UnknownOrder, Alarmed };

class EventApplier {
 public:
  // moves_executions_cursor: false for `reconcile`, which applies reports out of seq order (only
  // an UNCONFIRMED order's); moving the polling cursor past reports not yet applied would make
  // the polling path skip them.
  EventApplier(PgPool& pool, GuardedWriter& writer, MetricsRegistry& metrics,
               bool moves_executions_cursor = true);

  static void prepareStatements(pqxx::connection& connection);

  // One outcome per event, in its order; an error leaves that event to be tried again.
  [[nodiscard]] std::vector<Result<ApplyOutcome>> applyBatch(
      const std::vector<IncomingEvent>& events);
  [[nodiscard]] Result<ApplyOutcome> apply(const IncomingEvent& event);
  // The last fill receiver seq applied (the polling path's cursor).
  [[nodiscard]] Result<int64_t> executionsCursor();
  [[nodiscard]] Status advanceExecutionsCursor(int64_t seq);

 private:
  using Group = std::vector<const IncomingEvent*>;  // one account's events, in stream order

  // The account of each event's order ("" when the ledger does not hold it).
  Result<std::vector<std::string>> accountsOf(const std::vector<IncomingEvent>& events);
  Result<std::vector<ApplyOutcome>> applyGroup(const std::string& account_id, const Group& group);
  Attempt<std::vector<ApplyOutcome>> tryApplyGroup(const Group& group);
  void count(const IncomingEvent& event, ApplyOutcome outcome);

  PgPool& pool_;
  GuardedWriter& writer_;
  bool moves_executions_cursor_;
  Counter& applied_;
  Counter& duplicates_;
  Counter& unknown_;
  Counter& overfills_;
};

}  // namespace fbg::ledger
