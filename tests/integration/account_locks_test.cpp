// AccountLocks against a real Redis: the one-round-trip group of a stream read's batch
// (acquireAny of several accounts, released together) takes only what is free, releases only its
// own, and degrades like a single lock when Redis is gone; the threads of one process hand an
// account over in memory, without asking Redis while they wait, and an account held by another
// process is waited for in Redis.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
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

TEST(AccountLocks, AGroupTakesTheFreeLocksInOneGoAndReleasesOnlyItsOwn) {
  RedisInstance redis;
  redis.start();
  Locks a(redis.port());
  const auto held_elsewhere = a.locks.acquireAny({"B"});
  ASSERT_EQ(held_elsewhere.accountIds(), std::vector<std::string>{"B"});
  ASSERT_TRUE(exists(redis, "B"));
  {
    const auto group = a.locks.acquireAny({"A", "B", "C"});
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
  const auto group = a.locks.acquireAny({"A", "B"});
  EXPECT_EQ(group.accountIds(), (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(a.metrics.counter("ledger_lock_total", "", "outcome=\"skipped_redis_down\"").value(),
            2);
}

// Calls of SET (the lock's only command that takes) since the server started.
long long setCalls(const RedisInstance& redis) {
  const std::string stats = redis.command({"INFO", "commandstats"}).text;
  const std::string field = "cmdstat_set:calls=";
  const auto at = stats.find(field);
  return at == std::string::npos ? 0 : std::stoll(stats.substr(at + field.size()));
}

TEST(AccountLocks, WaitersInOneProcessTakeTheAccountInTurnWithoutAskingRedisWhileTheyWait) {
  RedisInstance redis;
  redis.start();
  Locks a(redis.port(), {5000, 20'000, 1, 20});
  const long long sets_before = setCalls(redis);
  auto first = a.locks.acquire("A");
  ASSERT_TRUE(first);
  constexpr int kWaiters = 3;
  std::vector<std::future<bool>> waiters;
  for (int w = 0; w < kWaiters; ++w) {
    waiters.push_back(std::async(std::launch::async, [&] {
      auto held = a.locks.acquire("A");
      return static_cast<bool>(held);  // released at once, to the next waiter
    }));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (a.locks.waitingHere("A") != kWaiters && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  ASSERT_EQ(a.locks.waitingHere("A"), kWaiters);
  { [[maybe_unused]] auto release = std::move(*first); }
  for (auto& waiter : waiters) EXPECT_TRUE(waiter.get());
  // One SET per taking: the waiters slept until the account was free here. (Polling Redis with
  // the backoff, each waiter tried every 1 to 20 ms for as long as it waited.)
  EXPECT_EQ(setCalls(redis) - sets_before, 1 + kWaiters);
  EXPECT_FALSE(exists(redis, "A"));
  EXPECT_EQ(a.locks.waitingHere("A"), 0u);
}

TEST(AccountLocks, AnAccountHeldByAnotherProcessIsWaitedForInRedis) {
  RedisInstance redis;
  redis.start();
  Locks a(redis.port());
  Locks b(redis.port(), {5000, 20'000, 1, 20});
  Locks impatient(redis.port(), {5000, 50, 1, 20});
  auto held_by_a = a.locks.acquire("A");
  ASSERT_TRUE(held_by_a);
  // Free in those processes, held in Redis: refused after the wait.
  const auto refused = impatient.locks.acquire("A");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::AccountBusy);
  auto waiter = std::async(std::launch::async, [&] { return b.locks.acquire("A"); });
  const auto before_release = setCalls(redis);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (setCalls(redis) < before_release + 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  ASSERT_GE(setCalls(redis), before_release + 2);  // b has asked Redis twice: it is waiting there
  { [[maybe_unused]] auto release = std::move(*held_by_a); }
  auto taken = waiter.get();
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->accountIds(), std::vector<std::string>{"A"});
  EXPECT_TRUE(exists(redis, "A"));
}

}  // namespace
}  // namespace fbg::test
