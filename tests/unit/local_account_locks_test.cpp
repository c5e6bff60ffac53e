// The process's table of held account locks (local_account_locks.h): a thread takes only what no
// other thread here holds, and a waiter is woken by a release, not by a timer.
#include "local_account_locks.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

namespace fbg::ledger {
namespace {

using Clock = LocalAccountLocks::Clock;
using Ids = std::vector<std::string>;

TEST(LocalAccountLocks, TakesOnlyWhatNoOtherThreadHoldsAndGivesItBack) {
  LocalAccountLocks locks;
  EXPECT_EQ(locks.tryTake({"B"}), Ids{"B"});
  EXPECT_EQ(locks.tryTake({"A", "B", "C"}), (Ids{"A", "C"}));
  EXPECT_TRUE(locks.tryTake({"A", "B", "C"}).empty());
  EXPECT_TRUE(locks.allHeld({"A", "B"}));
  EXPECT_FALSE(locks.allHeld({"A", "D"}));
  EXPECT_EQ(locks.heldCount(), 3u);
  locks.release({"A", "C"});
  EXPECT_EQ(locks.tryTake({"A", "B", "C"}), (Ids{"A", "C"}));
  locks.release({"A", "B", "C"});
  EXPECT_EQ(locks.heldCount(), 0u);  // nothing stays in the table once released
}

TEST(LocalAccountLocks, AReleaseWakesAWaiterLongBeforeItsDeadline) {
  LocalAccountLocks locks;
  ASSERT_EQ(locks.tryTake({"A"}), Ids{"A"});
  std::atomic<bool> waiting{false};
  auto waiter = std::async(std::launch::async, [&] {
    const uint64_t seen = locks.releases();
    waiting = true;
    // The deadline is far beyond the test's own: only the release can end this wait in time.
    locks.waitForRelease(seen, Clock::now() + std::chrono::hours(1));
    return locks.tryTake({"A"});
  });
  const auto until = Clock::now() + std::chrono::seconds(10);
  while (!waiting && Clock::now() < until) std::this_thread::yield();
  ASSERT_TRUE(waiting);
  locks.release({"A"});
  ASSERT_EQ(waiter.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(waiter.get(), Ids{"A"});
}

TEST(LocalAccountLocks, AReleaseBeforeTheWaitEndsItAtOnce) {
  LocalAccountLocks locks;
  ASSERT_EQ(locks.tryTake({"A"}), Ids{"A"});
  const uint64_t seen = locks.releases();
  locks.release({"A"});  // between a failed try and the wait: the wait must not miss it
  auto waiter = std::async(std::launch::async, [&] {
    locks.waitForRelease(seen, Clock::now() + std::chrono::hours(1));
  });
  EXPECT_EQ(waiter.wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST(LocalAccountLocks, AWaitWithNoReleaseEndsAtItsDeadline) {
  LocalAccountLocks locks;
  ASSERT_EQ(locks.tryTake({"A"}), Ids{"A"});
  const auto until = Clock::now() + std::chrono::milliseconds(20);
  locks.waitForRelease(locks.releases(), until);
  EXPECT_GE(Clock::now(), until);
  EXPECT_TRUE(locks.tryTake({"A"}).empty());
}

TEST(LocalAccountLocks, ManyThreadsOnFewAccountsNeverHoldOneAccountTwice) {
  LocalAccountLocks locks;
  const Ids accounts = {"A", "B", "C"};
  std::vector<std::atomic<int>> holders(accounts.size());
  std::atomic<bool> overlap{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < 500; ++round) {
        const uint64_t seen = locks.releases();
        const Ids taken = locks.tryTake(accounts);
        if (taken.empty()) {
          locks.waitForRelease(seen, Clock::now() + std::chrono::seconds(5));
          continue;
        }
        for (const auto& id : taken) {
          if (holders[static_cast<std::size_t>(id[0] - 'A')].fetch_add(1) != 0) overlap = true;
        }
        for (const auto& id : taken) holders[static_cast<std::size_t>(id[0] - 'A')].fetch_sub(1);
        locks.release(taken);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_FALSE(overlap);
  EXPECT_EQ(locks.heldCount(), 0u);
}

}  // namespace
}  // namespace fbg::ledger
