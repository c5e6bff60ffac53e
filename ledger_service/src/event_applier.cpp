#include "event_applier.h"

#include "consumer_cursors.h"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cassert>
#include <map>
#include <set>

namespace fbg::ledger {
namespace {

void prepareStatements(pqxx::connection& c) {
  c.prepare("apply_accounts",
            "SELECT order_id, account_id FROM orders WHERE order_id = ANY($1::text[])");
}

}  // namespace

EventApplier::EventApplier(PgPool& pool, GuardedWriter& writer, MetricsRegistry& metrics,
                           int cursor_write_interval_ms,
                           std::size_t order_account_cache_entries_max)
    : pool_(pool),
      writer_(writer),
      accounts_(order_account_cache_entries_max),
      cursor_write_interval_ms_(cursor_write_interval_ms),
      across_accounts_(metrics.counter("ledger_event_batches_across_accounts_total",
                                       "Rounds of a stream read that applied the events of "
                                       "several accounts with one read and one write, all their "
                                       "locks held.")),
      applied_(
          metrics.counter("ledger_events_applied_total", "Order events and executions applied.")),
      duplicates_(metrics.counter("ledger_events_duplicate_total",
                                  "Events found already applied (redelivered, or seen through "
                                  "the other source).")),
      unknown_(metrics.counter("ledger_events_unknown_order_total",
                               "Events for an order this ledger does not hold.")),
      overfills_(metrics.counter("ledger_fill_alarms_total",
                                 "ALERT: fills recorded but not booked (overfill, or a late fill "
                                 "the account cannot pay).")) {}

void EventApplier::prepareStatements(pqxx::connection& connection) {
  ledger::prepareStatements(connection);
  prepareConsumerCursors(connection);
  prepareApplyGroup(connection);
}

Attempt<std::vector<ApplyOutcome>> EventApplier::tryApplyGroup(const Group& group) {
  using Outcomes = std::vector<ApplyOutcome>;
  return withConnection<std::optional<Outcomes>>(
      pool_, [&](pqxx::connection& connection) -> Attempt<Outcomes> {
        // A version conflict arrives as serialization_failure, a retry for GuardedWriter.
        pqxx::nontransaction statements(connection);
        return std::optional(applyGroupAsTwoStatements(statements, group));
      });
}

Result<std::vector<ApplyOutcome>> EventApplier::applyGroup(const std::string& account_id,
                                                           const Group& group) {
  try {
    return writer_.write<std::vector<ApplyOutcome>>(account_id,
                                                    [&] { return tryApplyGroup(group); });
  } catch (const pqxx::unique_violation&) {
    // The other source applied one of them between its check and this insert: the whole group
    // rolled back. One at a time, each such event is then a Duplicate.
  }
  std::vector<ApplyOutcome> outcomes;
  for (const IncomingEvent* e : group) {
    try {
      auto one =
          writer_.write<std::vector<ApplyOutcome>>(account_id, [&] { return tryApplyGroup({e}); });
      if (!one) return one.error();
      outcomes.push_back(one->front());
    } catch (const pqxx::unique_violation&) {
      outcomes.push_back(ApplyOutcome::Duplicate);
    }
  }
  return outcomes;
}

std::optional<std::vector<ApplyOutcome>> EventApplier::applyAcrossAccounts(
    const std::vector<std::string>& account_ids, const Group& events) {
  try {
    auto applied = writer_.writeHeld<std::vector<ApplyOutcome>>(
        account_ids, [&] { return tryApplyGroup(events); });
    if (applied) return std::move(*applied);
    spdlog::info("batch of {} accounts applied account by account: {}", account_ids.size(),
                 applied.error().message);
  } catch (const pqxx::unique_violation&) {
    // The other source applied one of the events in between: nothing of the batch stayed.
  }
  return std::nullopt;
}

Result<std::vector<std::string>> EventApplier::accountsOf(
    const std::vector<IncomingEvent>& events) {
  std::vector<std::string> accounts;
  accounts.reserve(events.size());
  std::vector<std::string> unknown;  // order ids to ask the database
  for (const auto& e : events) {
    auto known = accounts_.find(e.order_id);
    if (!known) unknown.push_back(e.order_id);
    accounts.push_back(known ? std::move(*known) : std::string());
  }
  if (unknown.empty()) return accounts;
  auto found = withConnection<std::map<std::string, std::string>>(
      pool_, [&](pqxx::connection& c) -> Result<std::map<std::string, std::string>> {
        pqxx::nontransaction work(c);
        std::map<std::string, std::string> account_of;
        for (const auto& row : work.exec_prepared("apply_accounts", pgArrayLiteral(unknown)))
          account_of[row[0].as<std::string>()] = row[1].as<std::string>();
        return account_of;
      });
  if (!found) return found.error();
  for (const auto& [order_id, account_id] : *found) accounts_.remember(order_id, account_id);
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (!accounts[i].empty()) continue;
    const auto hit = found->find(events[i].order_id);
    if (hit != found->end()) accounts[i] = hit->second;
  }
  return accounts;
}

void EventApplier::count(const IncomingEvent& e, ApplyOutcome outcome) {
  switch (outcome) {
    case ApplyOutcome::Duplicate:
      duplicates_.add();
      break;
    case ApplyOutcome::UnknownOrder:
      unknown_.add();
      break;
    case ApplyOutcome::Alarmed:
      overfills_.add();
      spdlog::error("fill {} of order {} recorded but not booked", e.dedup_id, e.order_id);
      break;
    case ApplyOutcome::Applied:
    case ApplyOutcome::Unchanged:
      applied_.add();
      break;
  }
}

// Round trips, not rows, cost the server most (docs/performance.md), and a request holding one
// account's lock must not hold up the other accounts' events. Each round takes every lock of the
// remaining accounts that is free (waiting only while none is) and applies those accounts' events
// with one read and one write; their groups leave `groups`. It stops when every group is applied,
// when no lock came free within lock_wait_ms_max, or when a write could not be done (nothing of
// it was written); what is left goes to the caller's per-account path.
void EventApplier::applyAsLocksComeFree(const std::vector<IncomingEvent>& events,
                                        AccountGroups& groups,
                                        std::vector<Result<ApplyOutcome>>& outcomes,
                                        int64_t& applied_seq_max) {
  while (!groups.empty()) {
    std::vector<std::string> account_ids;
    for (const auto& group : groups) account_ids.push_back(group.first);
    const auto held = writer_.takeAny(std::move(account_ids));
    if (held.accountIds().empty()) return;
    if (!applyHeldGroups(events, held.accountIds(), groups, outcomes, applied_seq_max)) return;
  }
}

bool EventApplier::applyHeldGroups(const std::vector<IncomingEvent>& events,
                                   const std::vector<std::string>& held_account_ids,
                                   AccountGroups& groups,
                                   std::vector<Result<ApplyOutcome>>& outcomes,
                                   int64_t& applied_seq_max) {
  const std::set<std::string> locked(held_account_ids.begin(), held_account_ids.end());
  Group together;
  std::vector<std::size_t> index_of;
  for (const auto& [account, indexes] : groups) {
    if (locked.count(account) == 0) continue;
    for (const std::size_t i : indexes) {
      together.push_back(&events[i]);
      index_of.push_back(i);
    }
  }
  assert(!together.empty());  // every lock taken is of a group still here
  const auto applied = applyAcrossAccounts({locked.begin(), locked.end()}, together);
  if (!applied) return false;
  for (std::size_t k = 0; k < index_of.size(); ++k) {
    outcomes[index_of[k]] = (*applied)[k];
    applied_seq_max = std::max(applied_seq_max, events[index_of[k]].fill_receiver_seq);
  }
  std::erase_if(groups, [&](const auto& group) { return locked.count(group.first) > 0; });
  if (locked.size() > 1) across_accounts_.add();
  return true;
}

std::vector<Result<ApplyOutcome>> EventApplier::applyBatch(
    const std::vector<IncomingEvent>& events) {
  std::vector<Result<ApplyOutcome>> outcomes(events.size(),
                                             makeError(ErrorCode::Internal, "not applied"));
  const auto accounts = accountsOf(events);
  if (!accounts) {
    for (auto& outcome : outcomes) outcome = accounts.error();
    return outcomes;
  }
  // Groups by account in order of first appearance, each in stream order.
  AccountGroups groups;
  std::map<std::string, std::size_t> group_of;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const std::string& account = (*accounts)[i];
    if (account.empty()) {
      outcomes[i] = ApplyOutcome::UnknownOrder;
      continue;
    }
    const auto [it, inserted] = group_of.emplace(account, groups.size());
    if (inserted) groups.push_back({account, {}});
    groups[it->second].second.push_back(i);
  }
  int64_t applied_seq_max = 0;
  applyAsLocksComeFree(events, groups, outcomes, applied_seq_max);
  for (const auto& [account, indexes] : groups) {
    Group group;
    for (const std::size_t i : indexes) group.push_back(&events[i]);
    const auto applied = applyGroup(account, group);
    for (std::size_t k = 0; k < indexes.size(); ++k) {
      const std::size_t i = indexes[k];
      if (!applied) {
        outcomes[i] = applied.error();
        continue;
      }
      outcomes[i] = (*applied)[k];
      applied_seq_max = std::max(applied_seq_max, events[i].fill_receiver_seq);
    }
  }
  for (std::size_t i = 0; i < events.size(); ++i)
    if (outcomes[i]) count(events[i], *outcomes[i]);
  if (applied_seq_max > 0) noteApplied(applied_seq_max, false);
  return outcomes;
}

Result<ApplyOutcome> EventApplier::apply(const IncomingEvent& e) {
  return std::move(applyBatch({e}).front());
}

// The polling cursor moves after the commits, outside them, and at most once per interval: it
// is one row, written by every reader thread, and one transaction per stream read cost the
// server more than the read's own fills. Behind after a crash (by the interval at most, or by
// what was applied since the stream went quiet), it only makes an outage poll those reports
// again, and they are deduplicated. Inside the fill transactions, all of them would queue on it.
void EventApplier::noteApplied(int64_t seq, bool now) {
  if (cursor_write_interval_ms_ <= 0) return;
  std::lock_guard lock(cursor_mutex_);
  cursor_applied_ = std::max(cursor_applied_, seq);
  if (cursor_applied_ <= cursor_written_) return;
  const auto clock = std::chrono::steady_clock::now();
  if (!now && clock - cursor_written_at_ < std::chrono::milliseconds(cursor_write_interval_ms_)) {
    return;
  }
  if (const auto moved = advanceExecutionsCursor(cursor_applied_); !moved) {
    spdlog::warn("executions cursor not moved to {}: {}", cursor_applied_, moved.error().message);
    return;
  }
  cursor_written_ = cursor_applied_;
  cursor_written_at_ = clock;
}

void EventApplier::flushExecutionsCursor() {
  noteApplied(0, true);
}

Result<int64_t> EventApplier::executionsCursor() {
  return readConsumerCursor(pool_, "executions");
}

Status EventApplier::advanceExecutionsCursor(int64_t seq) {
  return advanceConsumerCursor(pool_, "executions", seq);
}

}  // namespace fbg::ledger
