// The per-account lock of FLOW.md section 1, step 2, in two layers:
//   - in this process (local_account_locks.h): a waiter sleeps until a release of its account
//     here wakes it, so the threads of one ledger hand an account over without polling;
//   - in Redis, for every ledger process: SET lock:account:{id} <random token> NX PX <ttl>,
//     asked once the account is free here; while another process holds it, retried with
//     jittered backoff up to wait_ms_max, then ACCOUNT_BUSY; released only by a
//     compare-and-delete script on the token, then in this process.
// When Redis cannot be reached the Redis lock is skipped (an empty token in Held): the threads of
// this process still take turns, the version check in the store keeps writes of several
// processes safe on its own, and /readyz reports degraded.
#pragma once

#include <string>
#include <vector>

#include "common/metrics.h"
#include "common/redis.h"
#include "local_account_locks.h"

namespace fbg::ledger {

struct AccountLockSettings {
  int ttl_ms = 5000;
  int wait_ms_max = 2000;
  int backoff_ms_min = 1;
  int backoff_ms_max = 20;
};

class AccountLocks {
 public:
  // Locks held until destruction, then released together. One account for a request; several
  // for a stream read's batch, taken by one pipelined round trip and released by another
  // (round trips cost the machine more than the commands; docs/performance.md). Each lock is its
  // own key and command, so a cluster client may split the pipeline by slot.
  class Held {
   public:
    Held() = default;
    Held(Held&& other) noexcept
        : redis_(other.redis_),
          local_(other.local_),
          account_ids_(std::move(other.account_ids_)),
          tokens_(std::move(other.tokens_)) {
      other.redis_ = nullptr;
      other.local_ = nullptr;
    }
    Held& operator=(Held&&) = delete;
    ~Held();
    // The accounts held, in the order asked; a degraded lock (Redis down) counts as held.
    [[nodiscard]] const std::vector<std::string>& accountIds() const { return account_ids_; }

   private:
    friend class AccountLocks;
    RedisPool* redis_ = nullptr;
    LocalAccountLocks* local_ = nullptr;  // every account of account_ids_ is held there
    std::vector<std::string> account_ids_;
    std::vector<std::string> tokens_;  // per account; empty: taken without Redis
  };

  AccountLocks(RedisPool& redis, AccountLockSettings settings, MetricsRegistry& metrics);

  // The account's lock, waited for up to wait_ms_max, else ACCOUNT_BUSY.
  [[nodiscard]] Result<Held> acquire(const std::string& account_id);
  // The locks of `account_ids` that are free now (one round trip to Redis; with Redis down, each
  // one degraded); while none is, waits for a release in this process, or (held by another
  // process) tries again with jittered backoff, up to wait_ms_max. Empty when none came free in
  // time.
  [[nodiscard]] Held acquireAny(const std::vector<std::string>& account_ids);
  // Threads of this process waiting for the account now (for tests).
  [[nodiscard]] std::size_t waitingHere(const std::string& account_id) const {
    return local_.waiting(account_id);
  }

 private:
  // Of `account_ids`, taken in this process: each one's Redis lock, one try each, one round trip;
  // those another process holds are given back here.
  [[nodiscard]] Held takeInRedis(std::vector<std::string> account_ids);

  RedisPool& redis_;
  AccountLockSettings settings_;
  LocalAccountLocks local_;
  Histogram& wait_seconds_;
  Counter& acquired_;
  Counter& busy_;
  Counter& skipped_;
};

}  // namespace fbg::ledger
