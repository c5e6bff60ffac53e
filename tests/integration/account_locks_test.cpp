// AccountLocks against a real Redis: the one-round-trip group of a stream read's batch
// (tryAcquire of several accounts, released together) takes only what is free, releases only its
// own, and degrades like a single lock when Redis is gone. A thread waiting for a lock another
// thread of its process holds is woken by the release and asks Redis once; two processes (two
// AccountLocks) still exclude each other through Redis.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "account_lock.h"
#include "support/redis_instance.h"

namespace fbg::test {
namespace {

using ledger::AccountLocks;

struct Locks {
  explicit Locks(int port, ledger::AccountLockSettings settings = {})
      : pool(RedisConfig{"127.0.0.1", port}), locks(pool, settings, metrics) {}
  MetricsRegistry metrics;
  RedisPool pool;
  AccountLocks locks;
};

bool exists(const RedisInstance& redis, const std::string& account_id) {
  return redis.command({"EXISTS", "lock:account:" + account_id}).integer == 1;
}

// Calls of `command` Redis has run since its last CONFIG RESETSTAT.
long long commandCalls(const RedisInstance& redis, const std::string& command) {
  const std::string stats = redis.command({"INFO", "commandstats"}).text;
  const std::string key = "cmdstat_" + command + ":calls=";
  const auto at = stats.find(key);
  return at == std::string::npos ? 0 : std::stoll(stats.substr(at + key.size()));
}

// A long wait limit and a short backoff: a waiter that polled Redis would ask it many times.
constexpr ledger::AccountLockSettings kPatient{5000, 10000, 1, 2};

TEST(AccountLocks, AGroupTakesTheFreeLocksInOneGoAndReleasesOnlyItsOwn) {
  RedisInstance redis;
  redis.start();
  Locks a(redis.port());
  const auto held_elsewhere = a.locks.tryAcquire({"B"});
  ASSERT_EQ(held_elsewhere.accountIds(), std::vector<std::string>{"B"});
  ASSERT_TRUE(exists(redis, "B"));
  {
    const auto group = a.locks.tryAcquire({"A", "B", "C"});
    EXPECT_EQ(group.accountIds(), (std::vector<std::string>{"A", "C"}));
    EXPECT_TRUE(exists(redis, "A"));
    EXPECT_TRUE(exists(redis, "C"));
    // Someone took A over after its lock expired: the group's release leaves that one alone.
    redis.command({"SET", "lock:account:A", "another-holder"});
  }
  EXPECT_EQ(redis.command({"GET", "lock:account:A"}).text, "another-holder");
  EXPECT_FALSE(exists(redis, "C"));
  EXPECT_TRUE(exists(redis, "B"));  // not the group's
  EXPECT_EQ(a.metrics.counter("ledger_lock_total", "", "outcome=\"acquired\"").value(), 3);
}

TEST(AccountLocks, AGroupWithRedisGoneHoldsEveryAccountDegraded) {
  RedisInstance redis;
  redis.start();
  Locks a(redis.port());
  redis.stop();
  const auto group = a.locks.tryAcquire({"A", "B"});
  EXPECT_EQ(group.accountIds(), (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(a.metrics.counter("ledger_lock_total", "", "outcome=\"skipped_redis_down\"").value(),
            2);
}

TEST(AccountLocks, AWaiterForALockHeldInThisProcessGetsItAtTheReleaseAskingRedisOnce) {
  RedisInstance redis;
  redis.start();
  Locks a(redis.port(), kPatient);
  std::optional<AccountLocks::Held> held;
  held.emplace(a.locks.tryAcquire({"A"}));
  ASSERT_EQ(held->accountIds(), std::vector<std::string>{"A"});
  redis.command({"CONFIG", "RESETSTAT"});
  auto waiter = std::async(std::launch::async, [&] { return a.locks.acquire("A"); });
  Counter& local_waits = a.metrics.counter("ledger_lock_local_waits_total", "");
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (local_waits.value() == 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::yield();
  }
  ASSERT_EQ(local_waits.value(), 1);
  held.reset();
  ASSERT_EQ(waiter.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const auto got = waiter.get();
  ASSERT_TRUE(got.has_value()) << got.error().message;
  EXPECT_EQ(got->accountIds(), std::vector<std::string>{"A"});
  EXPECT_EQ(commandCalls(redis, "set"), 1);  // the waiter's one SET NX, after the release
}

TEST(AccountLocks, TwoProcessesExcludeEachOtherThroughRedis) {
  RedisInstance redis;
  redis.start();
  Locks a(redis.port(), kPatient);
  Locks b(redis.port(), kPatient);
  std::optional<AccountLocks::Held> held;
  held.emplace(a.locks.tryAcquire({"A"}));
  ASSERT_EQ(held->accountIds(), std::vector<std::string>{"A"});
  {
    const auto group = b.locks.tryAcquire({"A", "B"});
    EXPECT_EQ(group.accountIds(), std::vector<std::string>{"B"});
  }
  auto waiter = std::async(std::launch::async, [&] { return b.locks.acquire("A"); });
  // b backs off and asks Redis again until a releases.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (commandCalls(redis, "set") < 5 && std::chrono::steady_clock::now() < until) {
    std::this_thread::yield();
  }
  EXPECT_EQ(waiter.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  held.reset();
  ASSERT_EQ(waiter.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const auto got = waiter.get();
  ASSERT_TRUE(got.has_value()) << got.error().message;
  EXPECT_EQ(got->accountIds(), std::vector<std::string>{"A"});
  EXPECT_EQ(b.metrics.counter("ledger_lock_local_waits_total", "").value(), 0);
}

}  // namespace
}  // namespace fbg::test
