// GroupCommit (ledger_service/src/group_commit.h): requests that arrive while batches run go
// together, never two of one key in a batch, never more than the bounds, and every caller gets
// its own request's outcome.
#include "group_commit.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace fbg::ledger {
namespace {

struct Request {
  std::string key;
  int value = 0;
};

// Records every batch; each outcome is the request's value times ten.
struct Recorder {
  std::mutex mutex;
  std::vector<std::vector<Request>> batches;
  std::atomic<int> in_flight{0};
  std::atomic<int> in_flight_seen_max{0};

  std::vector<int> run(const std::vector<const Request*>& batch) {
    const int now = ++in_flight;
    for (int seen = in_flight_seen_max.load(); now > seen;) {
      if (in_flight_seen_max.compare_exchange_weak(seen, now)) break;
    }
    std::vector<int> outcomes;
    std::vector<Request> copy;
    for (const Request* request : batch) {
      outcomes.push_back(request->value * 10);
      copy.push_back(*request);
    }
    {
      std::lock_guard lock(mutex);
      batches.push_back(std::move(copy));
    }
    --in_flight;
    return outcomes;
  }
};

using Commit = GroupCommit<Request, int>;

Commit::KeyOf byKey() {
  return [](const Request& request) { return request.key; };
}

TEST(GroupCommit, ARequestAloneRunsAloneAtOnce) {
  Recorder recorder;
  Commit commit(8, 1, byKey(), [&](const auto& batch) { return recorder.run(batch); });
  EXPECT_EQ(commit.submit({"A", 4}), 40);
  EXPECT_EQ(commit.submit({"A", 5}), 50);
  ASSERT_EQ(recorder.batches.size(), 2u);
  EXPECT_EQ(recorder.batches[0].size(), 1u);
}

// While the first batch is held, eleven more requests queue: the next batches take them in
// order, at most four each, and a key already in a batch waits for the next one.
TEST(GroupCommit, RequestsQueuedMeanwhileShareTheNextBatches) {
  std::mutex gate_mutex;
  std::condition_variable gate;
  bool open = false;
  std::atomic<int> batches_started{0};
  Recorder recorder;
  Commit commit(4, 1, byKey(), [&](const std::vector<const Request*>& batch) {
    if (batches_started++ == 0) {
      std::unique_lock lock(gate_mutex);
      gate.wait(lock, [&] { return open; });
    }
    return recorder.run(batch);
  });
  std::vector<std::thread> callers;
  std::vector<int> outcomes(12, -1);
  callers.emplace_back([&] { outcomes[0] = commit.submit({"K0", 0}); });
  while (batches_started.load() == 0) std::this_thread::yield();
  for (int i = 1; i < 12; ++i) {
    // Keys K0 to K4, three of K1 and two of each other.
    callers.emplace_back([&, i] { outcomes[i] = commit.submit({"K" + std::to_string(i % 5), i}); });
  }
  // One batch in flight at most: the other eleven wait until the first is let go.
  while (commit.waitingCount() < 11) std::this_thread::yield();
  {
    std::lock_guard lock(gate_mutex);
    open = true;
  }
  gate.notify_all();
  for (auto& caller : callers) caller.join();
  for (int i = 0; i < 12; ++i) EXPECT_EQ(outcomes[i], i * 10);
  ASSERT_GE(recorder.batches.size(), 4u);
  EXPECT_EQ(recorder.batches[0].size(), 1u);
  EXPECT_EQ(recorder.batches[1].size(), 4u);  // four keys of the five, the oldest first
  std::size_t requests = 0;
  for (const auto& batch : recorder.batches) {
    EXPECT_LE(batch.size(), 4u);
    std::set<std::string> keys;
    for (const auto& request : batch) EXPECT_TRUE(keys.insert(request.key).second);
    requests += batch.size();
  }
  EXPECT_EQ(requests, 12u);
  EXPECT_EQ(recorder.in_flight_seen_max.load(), 1);
}

RC_GTEST_PROP(GroupCommit, EveryCallerGetsItsOwnOutcomeWithinTheBounds, ()) {
  const int batch_max = *rc::gen::inRange(1, 6);
  const int in_flight_max = *rc::gen::inRange(1, 4);
  const int callers_count = *rc::gen::inRange(1, 24);
  const int keys_count = *rc::gen::inRange(1, 6);
  Recorder recorder;
  Commit commit(batch_max, in_flight_max, byKey(),
                [&](const auto& batch) { return recorder.run(batch); });
  std::vector<int> outcomes(static_cast<std::size_t>(callers_count), -1);
  std::vector<std::thread> callers;
  for (int i = 0; i < callers_count; ++i) {
    callers.emplace_back([&, i] {
      for (int round = 0; round < 5; ++round) {
        const int value = i * 100 + round;
        const int outcome = commit.submit({"K" + std::to_string(i % keys_count), value});
        if (outcome != value * 10) outcomes[static_cast<std::size_t>(i)] = outcome;
      }
      if (outcomes[static_cast<std::size_t>(i)] == -1) outcomes[static_cast<std::size_t>(i)] = 0;
    });
  }
  for (auto& caller : callers) caller.join();
  for (int outcome : outcomes) RC_ASSERT(outcome == 0);
  std::size_t requests = 0;
  for (const auto& batch : recorder.batches) {
    RC_ASSERT(batch.size() <= static_cast<std::size_t>(batch_max));
    std::set<std::string> keys;
    for (const auto& request : batch) RC_ASSERT(keys.insert(request.key).second);
    requests += batch.size();
  }
  RC_ASSERT(requests == static_cast<std::size_t>(callers_count) * 5);
  RC_ASSERT(recorder.in_flight_seen_max.load() <= in_flight_max);
}

}  // namespace
}  // namespace fbg::ledger
