// AccountLocks against a real Redis: the one-round-trip group of a stream read's batch
// (tryAcquire of several accounts, released together) takes only what is free, releases only its
// own, and degrades like a single lock when Redis is gone.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "account_lock.h"
#include "support/redis_instance.h"

namespace fbg::test {
namespace {

using ledger::AccountLocks;

struct Locks {
  explicit Locks(int port) : pool(RedisConfig{"127.0.0.1", port}), locks(pool, {}, metrics) {}
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

}  // namespace
}  // namespace fbg::test
