// LocalAccountLocks (ledger_service/src/local_account_locks.h): an account is held by one taker
// at a time in the process, a waiter takes it when it is released (not at its deadline), and
// nothing is kept for an account nobody holds or waits for.
#include "local_account_locks.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <future>
#include <set>
#include <thread>
#include <vector>

namespace fbg::ledger {
namespace {

using Accounts = std::vector<std::string>;
using Clock = LocalAccountLocks::Clock;

// Far enough that a waiter that returns an account was woken by its release, not its deadline.
Clock::time_point farDeadline() {
  return Clock::now() + std::chrono::seconds(30);
}

// Waits, with a deadline, until `count` threads wait for the account.
bool waitForWaiters(const LocalAccountLocks& locks, const std::string& account, std::size_t count) {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (locks.waiting(account) != count) {
    if (Clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

TEST(LocalAccountLocks, FreeAccountsAreTakenAtOnceAndHeldOnesAreNot) {
  LocalAccountLocks locks;
  EXPECT_EQ(locks.takeAny({"A", "B"}, Clock::now()), (Accounts{"A", "B"}));
  EXPECT_EQ(locks.takeAny({"A", "C"}, Clock::now()), (Accounts{"C"}));
  EXPECT_EQ(locks.takeAny({"A", "B"}, Clock::now()), Accounts{});
  EXPECT_EQ(locks.entries(), 3u);
  locks.release({"A", "B", "C"});
  EXPECT_EQ(locks.entries(), 0u);  // nothing kept for accounts nobody holds
  EXPECT_EQ(locks.takeAny({"B"}, Clock::now()), Accounts{"B"});
  locks.release({"B"});
  EXPECT_EQ(locks.entries(), 0u);
}

TEST(LocalAccountLocks, AWaiterTakesTheAccountWhenItIsReleased) {
  LocalAccountLocks locks;
  ASSERT_EQ(locks.takeAny({"A"}, Clock::now()), Accounts{"A"});
  auto waiter = std::async(std::launch::async, [&] { return locks.takeAny({"A"}, farDeadline()); });
  ASSERT_TRUE(waitForWaiters(locks, "A", 1));
  EXPECT_EQ(waiter.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  locks.release({"A"});
  EXPECT_EQ(waiter.get(), Accounts{"A"});
  EXPECT_EQ(locks.waiting("A"), 0u);
  EXPECT_EQ(locks.takeAny({"A"}, Clock::now()), Accounts{});  // the waiter holds it now
  locks.release({"A"});
  EXPECT_EQ(locks.entries(), 0u);
}

TEST(LocalAccountLocks, AWaiterOfSeveralAccountsTakesTheOneReleased) {
  LocalAccountLocks locks;
  ASSERT_EQ(locks.takeAny({"A", "B"}, Clock::now()), (Accounts{"A", "B"}));
  auto waiter = std::async(std::launch::async, [&] {
    return locks.takeAny({"A", "B"}, farDeadline());
  });
  ASSERT_TRUE(waitForWaiters(locks, "A", 1));
  ASSERT_EQ(locks.waiting("B"), 1u);
  locks.release({"B"});
  EXPECT_EQ(waiter.get(), Accounts{"B"});
  EXPECT_EQ(locks.waiting("A"), 0u);  // no longer registered on the account it did not get
  locks.release({"A", "B"});
  EXPECT_EQ(locks.entries(), 0u);
}

TEST(LocalAccountLocks, AWaiterGivesUpAtItsDeadlineAndLeavesNothingBehind) {
  LocalAccountLocks locks;
  ASSERT_EQ(locks.takeAny({"A"}, Clock::now()), Accounts{"A"});
  EXPECT_EQ(locks.takeAny({"A"}, Clock::now() + std::chrono::milliseconds(20)), Accounts{});
  EXPECT_EQ(locks.waiting("A"), 0u);
  EXPECT_EQ(locks.entries(), 1u);  // A, still held
  locks.release({"A"});
  EXPECT_EQ(locks.entries(), 0u);
}

TEST(LocalAccountLocks, NoTwoThreadsHoldOneAccount) {
  LocalAccountLocks locks;
  const Accounts all = {"A", "B", "C"};
  constexpr int kThreads = 8;
  constexpr int kRoundsPerThread = 2000;
  std::array<std::atomic<int>, 3> inside{};
  std::array<int, 3> rounds_of{};  // written only under the account's lock
  std::atomic<int> overlaps{0};
  std::atomic<int> timeouts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRoundsPerThread; ++round) {
        // Half the threads ask for one account, as a request does; half for all, as a reader.
        const Accounts wanted = t % 2 == 0 ? Accounts{all[(t + round) % 3]} : all;
        const auto taken = locks.takeAny(wanted, farDeadline());
        if (taken.empty()) {
          ++timeouts;
          continue;
        }
        for (const auto& account : taken) {
          const auto i = static_cast<std::size_t>(account[0] - 'A');
          if (inside[i].fetch_add(1) != 0) ++overlaps;
          ++rounds_of[i];
          inside[i].fetch_sub(1);
        }
        locks.release(taken);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(timeouts.load(), 0);
  EXPECT_GE(rounds_of[0] + rounds_of[1] + rounds_of[2], kThreads * kRoundsPerThread);
  EXPECT_EQ(locks.entries(), 0u);
}

// Taking (without waiting) and releasing in any order, one thread: what is taken is exactly what
// a set of held accounts says is free, and the table empties when the set does.
RC_GTEST_PROP(LocalAccountLocks, TakesFollowASetOfHeldAccounts, ()) {
  LocalAccountLocks locks;
  std::set<std::string> held;
  const auto steps = *rc::gen::container<std::vector<std::pair<bool, int>>>(
      rc::gen::pair(rc::gen::arbitrary<bool>(), rc::gen::inRange(1, 16)));
  for (const auto& [take, mask] : steps) {
    Accounts accounts;
    for (int bit = 0; bit < 4; ++bit)
      if (mask & (1 << bit)) accounts.push_back(std::string(1, static_cast<char>('A' + bit)));
    if (take) {
      Accounts expected;
      for (const auto& account : accounts)
        if (held.insert(account).second) expected.push_back(account);
      RC_ASSERT(locks.takeAny(accounts, Clock::now()) == expected);
    } else {
      Accounts releasing;
      for (const auto& account : accounts)
        if (held.erase(account) > 0) releasing.push_back(account);
      locks.release(releasing);
    }
    RC_ASSERT(locks.entries() == held.size());
  }
}

}  // namespace
}  // namespace fbg::ledger
