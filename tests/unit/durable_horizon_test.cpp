// The fill receiver's durable horizon (fill_receiver/src/domain/durable_horizon.h): how far the
// FIX store may acknowledge a session's messages while some of its reports are not committed.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <set>

#include "domain/durable_horizon.h"

namespace fbg::fills {
namespace {

const std::string kA = "FIX.4.4:FILLS->SIM-A";
const std::string kB = "FIX.4.4:FILLS->SIM-B";

TEST(DurableHorizon, NothingPendingIsTheSessionsOwnNumber) {
  DurableHorizon horizon;
  EXPECT_EQ(horizon.limit(kA, 42), 42);
  EXPECT_EQ(horizon.pending(kA), 0u);
}

TEST(DurableHorizon, TheLowestPendingNumberHoldsItBackPerSession) {
  DurableHorizon horizon;
  horizon.add(kA, 10);
  horizon.add(kA, 11);
  horizon.add(kB, 3);
  EXPECT_EQ(horizon.limit(kA, 12), 10);
  EXPECT_EQ(horizon.limit(kB, 4), 3);
  horizon.remove(kA, 10);
  EXPECT_EQ(horizon.limit(kA, 12), 11);
  horizon.remove(kA, 11);
  EXPECT_EQ(horizon.limit(kA, 12), 12);
  EXPECT_EQ(horizon.limit(kB, 4), 3);
  EXPECT_EQ(horizon.pendingTotal(), 1u);
}

TEST(DurableHorizon, ANumberPendingTwiceHoldsUntilBothCopiesCommit) {
  // Handed over, the session dropped before QuickFIX counted it, the broker resent it.
  DurableHorizon horizon;
  horizon.add(kA, 7);
  horizon.add(kA, 7);
  horizon.remove(kA, 7);
  EXPECT_EQ(horizon.limit(kA, 8), 7);
  EXPECT_EQ(horizon.pending(kA), 1u);
  horizon.remove(kA, 7);
  EXPECT_EQ(horizon.limit(kA, 8), 8);
  horizon.remove(kA, 7);  // not pending: ignored
  EXPECT_EQ(horizon.pendingTotal(), 0u);
}

TEST(DurableHorizon, ABatchAcknowledgesPastItsHighestNumberPerSession) {
  const auto next = acknowledgedAfter({{kA, 5}, {kB, 9}, {kA, 6}, {kA, 8}});
  EXPECT_EQ(next, (std::map<std::string, int>{{kA, 9}, {kB, 10}}));
  EXPECT_TRUE(acknowledgedAfter({}).empty());
}

// Reports handed over in MsgSeqNum order and committed in batches in that order: neither the
// store's number (limit) nor a batch's acknowledgement ever passes an uncommitted report.
RC_GTEST_PROP(DurableHorizon, NeverAcknowledgesAnUncommittedReport, ()) {
  const int count = *rc::gen::inRange(1, 60);
  const auto batch_sizes = *rc::gen::container<std::vector<int>>(static_cast<std::size_t>(count),
                                                                 rc::gen::inRange(1, 8));
  DurableHorizon horizon;
  std::vector<SessionSeq> handed;
  int next_target = 1;
  for (int i = 0; i < count; ++i) {
    next_target += *rc::gen::inRange(0, 3);  // heartbeats QuickFIX counted in between
    handed.push_back({kA, next_target});
    horizon.add(kA, next_target);
    ++next_target;
  }
  std::set<int> uncommitted;
  for (const auto& report : handed) uncommitted.insert(report.msg_seq_num);
  std::size_t at = 0;
  for (const int size : batch_sizes) {
    if (at == handed.size()) break;
    const std::size_t end = std::min(handed.size(), at + static_cast<std::size_t>(size));
    const std::vector<SessionSeq> batch(handed.begin() + static_cast<std::ptrdiff_t>(at),
                                        handed.begin() + static_cast<std::ptrdiff_t>(end));
    for (const auto& report : batch) {
      horizon.remove(kA, report.msg_seq_num);
      uncommitted.erase(report.msg_seq_num);
    }
    const int acknowledged = acknowledgedAfter(batch).at(kA);
    const int limit = horizon.limit(kA, next_target);
    if (!uncommitted.empty()) {
      RC_ASSERT(acknowledged <= *uncommitted.begin());
      RC_ASSERT(limit == *uncommitted.begin());
    } else {
      RC_ASSERT(limit == next_target);
    }
    at = end;
  }
}

}  // namespace
}  // namespace fbg::fills
