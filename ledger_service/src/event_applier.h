// Applies one broker event to the ledger (FLOW.md section 4): under the account's lock and the
// version rules of intake (guarded_write.h), deduplicated by the same statement that applies
// it, so at-least-once delivery counts each event exactly once.
//
// A batch (one stream read) is grouped by account, after one lookup of the orders' accounts
// (those not remembered from an earlier event: order_account_cache.h). Then in rounds: the
// accounts whose locks are free (one try each, one round trip; waited for only while none is) go
// together in two statements, each account's events in stream order, and the next round asks for
// the locks of the accounts left. So a request holding one account's lock holds up that account's
// events only. What is left when a write cannot be done (a unique violation, conflicts past the
// bound, a database error: nothing was written) or no lock came free in time is applied account
// by account: its lock (waited for) and two statements. The two statements (apply_group.h): one
// read with the dedup ids, the domain's decisions in memory, then one write of the version-guarded
// rows with their revisions, the journal and the dedup rows, atomic by itself; a version conflict,
// a deadlock or a serialization failure writes nothing and the events are read again. A unique
// violation (the other source applied an event between check and insert) writes nothing; the
// account's events are then applied one at a time. After the writes the executions cursor (polling
// path) moves to the highest seq applied (not by reconcile), at most once per
// cursor_write_interval_ms and when the stream is quiet: apart from the group writes, so fills of
// different accounts do not queue on its row.
#pragma once

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include <chrono>
#include <mutex>
#include "apply_group.h"

#include "common/metrics.h"
#include "common/pg_pool.h"
#include "domain/broker_event_parse.h"
#include "guarded_write.h"
#include "order_account_cache.h"

namespace fbg::ledger {

class EventApplier {
 public:
  // cursor_write_interval_ms: the polling cursor (the last fill receiver seq applied) is
  // written at most this often, and by flushExecutionsCursor(). 0: never moved, for `reconcile`,
  // which applies reports out of seq order (only an UNCONFIRMED order's); moving the cursor
  // past reports not yet applied would make the polling path skip them.
  // order_account_cache_entries_max: orders whose account is remembered (order_account_cache.h).
  EventApplier(PgPool& pool, GuardedWriter& writer, MetricsRegistry& metrics,
               int cursor_write_interval_ms, std::size_t order_account_cache_entries_max = 100000);

  static void prepareStatements(pqxx::connection& connection);
  // An order placed by this process: its events find the account without asking the database.
  void rememberOrderAccount(const std::string& order_id, const std::string& account_id) {
    accounts_.remember(order_id, account_id);
  }

  // One outcome per event, in its order; an error leaves that event to be tried again.
  [[nodiscard]] std::vector<Result<ApplyOutcome>> applyBatch(
      const std::vector<IncomingEvent>& events);
  [[nodiscard]] Result<ApplyOutcome> apply(const IncomingEvent& event);
  // The last fill receiver seq applied (the polling path's cursor).
  [[nodiscard]] Result<int64_t> executionsCursor();
  [[nodiscard]] Status advanceExecutionsCursor(int64_t seq);
  // Writes the cursor if an applied seq is newer than the one written (the executions readers
  // call it when the stream is quiet).
  void flushExecutionsCursor();

 private:
  using Group = std::vector<const IncomingEvent*>;  // one account's events, in stream order
  // Per account, in order of first appearance: the indexes of its events in the batch.
  using AccountGroups = std::vector<std::pair<std::string, std::vector<std::size_t>>>;

  // The account of each event's order ("" when the ledger does not hold it).
  Result<std::vector<std::string>> accountsOf(const std::vector<IncomingEvent>& events);
  Result<std::vector<ApplyOutcome>> applyGroup(const std::string& account_id, const Group& group);
  // The batch's groups as their accounts' locks come free, those free together in one read and
  // one write (event_applier.cpp says when it stops); the groups applied leave `groups`.
  void applyAsLocksComeFree(const std::vector<IncomingEvent>& events, AccountGroups& groups,
                            std::vector<Result<ApplyOutcome>>& outcomes, int64_t& applied_seq_max);
  // The groups of `held_account_ids` in one read and one write; false when that could not be
  // done (nothing was written, the groups stay).
  [[nodiscard]] bool applyHeldGroups(const std::vector<IncomingEvent>& events,
                                     const std::vector<std::string>& held_account_ids,
                                     AccountGroups& groups,
                                     std::vector<Result<ApplyOutcome>>& outcomes,
                                     int64_t& applied_seq_max);
  // nullopt when the write could not be done (conflicts past the retry bound, another source's
  // unique violation, a database error): nothing was written, and the caller applies the groups
  // one by one, which deals with each of those for its own account.
  std::optional<std::vector<ApplyOutcome>> applyAcrossAccounts(
      const std::vector<std::string>& account_ids, const Group& events);
  Attempt<std::vector<ApplyOutcome>> tryApplyGroup(const Group& group);
  void count(const IncomingEvent& event, ApplyOutcome outcome);
  // Takes `seq` as applied; writes the cursor when the interval has passed (or `now`).
  void noteApplied(int64_t seq, bool now);

  PgPool& pool_;
  GuardedWriter& writer_;
  OrderAccountCache accounts_;
  int cursor_write_interval_ms_;
  std::mutex cursor_mutex_;     // the readers' threads share the cursor
  int64_t cursor_applied_ = 0;  // the highest seq applied by this process
  int64_t cursor_written_ = 0;  // the highest seq it wrote
  std::chrono::steady_clock::time_point cursor_written_at_{};
  Counter& across_accounts_;  // rounds that applied several accounts with one read and one write
  Counter& applied_;
  Counter& duplicates_;
  Counter& unknown_;
  Counter& overfills_;
};

}  // namespace fbg::ledger
