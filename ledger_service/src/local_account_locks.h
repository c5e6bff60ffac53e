// The process's own table of the account locks its threads hold, in front of the Redis locks
// (account_lock.h).
//
// Why: the intake's request threads and the event readers of one ledger process contend for the
// same accounts. Through Redis alone, a thread that found an account taken slept a jittered
// backoff (1 to 20 ms) and asked again, whether the holder was next door or in another process:
// at 100 orders/s that was about four refused SET NX per order and a waiter that woke late. Here
// a thread waits on a condition variable that every release here signals, so the next thread
// goes as soon as the lock is free, and only one thread of this process at a time asks Redis for
// an account. Redis still decides between processes.
//
// Bound: an account is in the table only while a thread holds it, so the table holds at most as
// many accounts as the threads that take locks hold together (request threads and readers, each
// bounded by its own config).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

namespace fbg::ledger {

class LocalAccountLocks {
 public:
  using Clock = std::chrono::steady_clock;

  // Of `account_ids` (no duplicates), those no thread of this process holds, now held by the
  // caller, in the order asked. Never waits.
  [[nodiscard]] std::vector<std::string> tryTake(const std::vector<std::string>& account_ids);

  // Gives back accounts taken by tryTake (each exactly once) and wakes every waiter.
  void release(const std::vector<std::string>& account_ids);

  // The count of releases so far; waitForRelease() returns once it moves past `seen`.
  [[nodiscard]] uint64_t releases();

  // Waits until a release after `seen` or until `until`, whichever comes first.
  void waitForRelease(uint64_t seen, Clock::time_point until);

  // Whether every one of `account_ids` is held by a thread of this process: then only a release
  // here can free one, and the caller waits for it instead of asking again after a backoff.
  [[nodiscard]] bool allHeld(const std::vector<std::string>& account_ids);

  [[nodiscard]] std::size_t heldCount();

 private:
  std::mutex mutex_;
  std::condition_variable released_;
  std::unordered_set<std::string> held_;
  uint64_t releases_ = 0;
};

}  // namespace fbg::ledger
