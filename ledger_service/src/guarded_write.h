// FLOW.md section 1 steps 2-4 as one mechanism for every write to an account: take the account
// lock, try the version-guarded write, and on a version conflict re-read and try again, at most
// version_retry_count_max times; then ACCOUNT_BUSY (safe to retry). The lock is released when
// the write is done, whatever its outcome. A deadlock or serialization failure the server rolled
// back counts as a conflict too (tryOnce).
#pragma once

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <functional>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "account_lock.h"
#include "common/metrics.h"
#include "ledger_store.h"

namespace fbg::ledger {

class GuardedWriter {
 public:
  GuardedWriter(AccountLocks& locks, int version_retry_count_max, MetricsRegistry& metrics)
      : locks_(locks),
        version_retry_count_max_(version_retry_count_max),
        conflicts_(metrics.counter("ledger_version_conflicts_total",
                                   "Guarded writes that found the row changed since it was read "
                                   "(optimistic-lock conflicts).")),
        exhausted_(metrics.counter("ledger_version_retries_exhausted_total",
                                   "Writes refused ACCOUNT_BUSY after every retry conflicted.")) {}

  template <typename T>
  [[nodiscard]] Result<T> write(const std::string& account_id,
                                const std::function<Attempt<T>()>& attempt) {
    auto lock = locks_.acquire(account_id);
    if (!lock) return lock.error();
    return writeHeld<T>({account_id}, attempt);
  }

  // Of `account_ids`, the locks that are free now (one try each, one round trip), in account id
  // order; while none is, waits for one (the backoff of write(), up to lock_wait_ms_max). Empty
  // when none came free in time. The caller writes the accounts held together (writeHeld) and
  // asks again for the others: a writer that held some locks while it waited for more would hold
  // up every request of those accounts meanwhile.
  [[nodiscard]] AccountLocks::Held takeAny(std::vector<std::string> account_ids) {
    std::sort(account_ids.begin(), account_ids.end());
    account_ids.erase(std::unique(account_ids.begin(), account_ids.end()), account_ids.end());
    return locks_.acquireAny(account_ids);
  }

  // The version-guarded write of `account_ids`, whose locks the caller holds.
  template <typename T>
  [[nodiscard]] Result<T> writeHeld(const std::vector<std::string>& account_ids,
                                    const std::function<Attempt<T>()>& attempt) {
    assert(!account_ids.empty());
    for (int tries = 0; tries <= version_retry_count_max_; ++tries) {
      std::optional<Attempt<T>> outcome = tryOnce(attempt);
      if (outcome && !*outcome) return outcome->error();
      if (outcome && (*outcome)->has_value()) return std::move(***outcome);
      conflicts_.add();
    }
    exhausted_.add();
    std::string accounts;
    for (const auto& account_id : account_ids)
      accounts += (accounts.empty() ? "" : ", ") + account_id;
    return makeError(ErrorCode::AccountBusy,
                     "account " + accounts + " kept changing under this request; retry it");
  }

 private:
  // One attempt; nullopt when PostgreSQL rolled it back for a deadlock or a serialization
  // failure. Without the account lock (Redis down: AccountLocks skips it) two writers of one
  // account can lock its rows in opposite orders; the server then aborts one of them, which is
  // a conflict like a changed version: nothing was written, read again and retry. Uncaught, it
  // ended the ledger (chaos run, a deadlock on `orders` right after Redis was killed).
  template <typename T>
  std::optional<Attempt<T>> tryOnce(const std::function<Attempt<T>()>& attempt) {
    try {
      return attempt();
    } catch (const pqxx::deadlock_detected& failure) {
      spdlog::warn("write rolled back by the server, retried: {}", failure.what());
    } catch (const pqxx::serialization_failure& failure) {
      spdlog::warn("write rolled back by the server, retried: {}", failure.what());
    }
    return std::nullopt;
  }

  AccountLocks& locks_;
  int version_retry_count_max_;
  Counter& conflicts_;
  Counter& exhausted_;
};

}  // namespace fbg::ledger
