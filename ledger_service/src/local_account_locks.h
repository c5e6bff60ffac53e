// The accounts this process holds, in front of the Redis account lock (account_lock.h).
//
// Why: every writer of an account in one ledger (request threads, stream readers) used to poll
// Redis with SET NX and sleep a jittered backoff (1 to 20 ms) between tries. A waiter slept on
// past the release, the lock then went to whoever tried first, and each try was a Redis round
// trip: at 150 orders/s 16 clients on 8 accounts waited 136 s in 30 s for locks, 250 waits above
// 100 ms (docs/performance.md, "Account locks handed over in the process"). Here a waiter sleeps
// on a condition that the release signals, so it takes the account as soon as it is free in this
// process; only then does it ask Redis, where another ledger process may still hold it.
//
// Bounded without a setting: an account has an entry only while it is held or waited for, so
// there are at most as many entries as threads that take locks (HTTP threads and stream
// readers), each waiter registered once per account it asks for.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace fbg::ledger {

class LocalAccountLocks {
 public:
  using Clock = std::chrono::steady_clock;

  // Of `account_ids` (distinct), every one free now, taken; while none is, waits for a release of
  // one of them until `deadline` (none: a deadline already passed). Empty when none came free in
  // time.
  [[nodiscard]] std::vector<std::string> takeAny(const std::vector<std::string>& account_ids,
                                                 Clock::time_point deadline);
  // Gives back accounts taken by takeAny and wakes their waiters.
  void release(const std::vector<std::string>& account_ids);

  // Accounts held or waited for now (for tests: back to 0 when nothing is).
  [[nodiscard]] std::size_t entries() const;
  // Threads waiting for `account_id` now (for tests).
  [[nodiscard]] std::size_t waiting(const std::string& account_id) const;

 private:
  struct Waiter {
    std::condition_variable released;
    bool woken = false;
  };
  struct Entry {
    bool held = false;
    std::vector<Waiter*> waiters;
  };

  // Under mutex_: takes every free account of the list.
  std::vector<std::string> takeFree(const std::vector<std::string>& account_ids);
  // Under mutex_: drops the entry when nothing holds or waits for it.
  void forgetIfUnused(const std::string& account_id);

  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace fbg::ledger
