// Applies one broker event to the ledger (FLOW.md section 4): under the account's lock and the
// version rules of intake (guarded_write.h), deduplicated in the same transaction that applies
// it, so at-least-once delivery counts each event exactly once.
//
// Transaction of one event:
//   1. dedup: INSERT executions (fills, key broker + exec_id) or applied_events (the rest, key
//      event_id); nothing inserted -> already applied, roll back, Duplicate
//   2. read order, account, position with their versions
//   3. domain/order_apply.h decides
//   4. UPDATE ... WHERE version = read version (0 rows -> conflict: roll back, re-read, retry),
//      position upserted, journal entry + lines, revisions (actor "broker:{broker}")
//   5. executions cursor (polling path) moved to this report's seq when it is further (not by
//      reconcile)
//   6. COMMIT
#pragma once

#include <pqxx/pqxx>
#include <string>

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

  [[nodiscard]] Result<ApplyOutcome> apply(const IncomingEvent& event);
  // The last fill receiver seq applied (the polling path's cursor).
  [[nodiscard]] Result<int64_t> executionsCursor();
  [[nodiscard]] Status advanceExecutionsCursor(int64_t seq);

 private:
  Attempt<ApplyOutcome> tryApply(const IncomingEvent& event);

  PgPool& pool_;
  GuardedWriter& writer_;
  bool moves_executions_cursor_;
  Counter& applied_;
  Counter& duplicates_;
  Counter& unknown_;
  Counter& overfills_;
};

}  // namespace fbg::ledger
