// The executions sweep's decisions (ledger_service/src/domain/executions_sweep.h): what it
// applies, when, and how far its mark moves.
#include "domain/executions_sweep.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <limits>
#include <map>
#include <set>

namespace fbg::ledger {
namespace {

using std::chrono::milliseconds;
using Clock = ExecutionsSweep::Clock;

constexpr milliseconds kGrace{1000};

std::vector<SweepItem> page(std::initializer_list<std::pair<int64_t, bool>> items) {
  std::vector<SweepItem> out;
  for (const auto& [seq, held] : items) out.push_back({seq, held});
  return out;
}

TEST(ExecutionsSweep, HeldReportsMoveTheMarkAndNothingIsApplied) {
  ExecutionsSweep sweep(kGrace, 100);
  const auto now = Clock::now();
  const auto items = page({{1, true}, {2, true}, {3, true}});
  EXPECT_TRUE(sweep.due(items, now).empty());
  EXPECT_EQ(sweep.advance(items, {true, true, true}), 3);
  EXPECT_EQ(sweep.suspects(), 0u);
}

TEST(ExecutionsSweep, AMissingReportIsAppliedOnlyAfterTheGraceAndHoldsTheMarkUntilThen) {
  ExecutionsSweep sweep(kGrace, 100);
  const auto start = Clock::now();
  const auto items = page({{1, true}, {2, false}, {3, true}});
  EXPECT_TRUE(sweep.due(items, start).empty());
  EXPECT_EQ(sweep.advance(items, {true, false, true}), 1);  // 2 may still be on its way
  EXPECT_EQ(sweep.suspects(), 1u);

  const auto later_page = page({{2, false}, {3, true}});
  EXPECT_TRUE(sweep.due(later_page, start + kGrace - milliseconds(1)).empty());
  const auto due = sweep.due(later_page, start + kGrace);
  ASSERT_EQ(due, (std::vector<std::size_t>{0}));
  EXPECT_EQ(sweep.advance(later_page, {true, true}), 3);
  EXPECT_EQ(sweep.suspects(), 0u);
}

TEST(ExecutionsSweep, AReportDeliveredWithinTheGraceIsNeverApplied) {
  ExecutionsSweep sweep(kGrace, 100);
  const auto start = Clock::now();
  EXPECT_TRUE(sweep.due(page({{5, false}}), start).empty());
  // The stream delivered it meanwhile: seen held, forgotten.
  EXPECT_TRUE(sweep.due(page({{5, true}}), start + milliseconds(500)).empty());
  EXPECT_EQ(sweep.suspects(), 0u);
  EXPECT_EQ(sweep.advance(page({{5, true}}), {true}), 5);
}

TEST(ExecutionsSweep, AReportThatCouldNotBeAppliedHoldsTheMark) {
  ExecutionsSweep sweep(kGrace, 100);
  const auto start = Clock::now();
  const auto items = page({{1, false}, {2, true}});
  (void)sweep.due(items, start);
  ASSERT_EQ(sweep.due(items, start + kGrace).size(), 1u);
  EXPECT_EQ(sweep.advance(items, {false, true}), 0);  // the apply failed: tried again next round
  EXPECT_EQ(sweep.suspects(), 1u);
}

TEST(ExecutionsSweep, LooksPastTheCursorOnlyOnceItStoodStillForTheGrace) {
  ExecutionsSweep sweep(kGrace, 100);
  const auto start = Clock::now();
  EXPECT_EQ(sweep.lookBound(10, start), 10);
  EXPECT_EQ(sweep.lookBound(10, start + kGrace - milliseconds(1)), 10);
  EXPECT_EQ(sweep.lookBound(10, start + kGrace), std::numeric_limits<int64_t>::max());
  // It moves: bounded again, and the grace counts from the move.
  EXPECT_EQ(sweep.lookBound(12, start + 2 * kGrace), 12);
  EXPECT_EQ(sweep.lookBound(12, start + 3 * kGrace - milliseconds(1)), 12);
}

TEST(ExecutionsSweep, SuspectsStayWithinTheirBound) {
  ExecutionsSweep sweep(kGrace, 2);
  const auto start = Clock::now();
  const auto items = page({{1, false}, {2, false}, {3, false}});
  (void)sweep.due(items, start);
  EXPECT_EQ(sweep.suspects(), 2u);
  // The third is remembered in a later round, and its grace counts from then.
  EXPECT_EQ(sweep.due(items, start + kGrace), (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(sweep.advance(items, {true, true, false}), 2);
  EXPECT_TRUE(sweep.due(page({{3, false}}), start + kGrace).empty());
  EXPECT_EQ(sweep.due(page({{3, false}}), start + 2 * kGrace), (std::vector<std::size_t>{0}));
}

TEST(ExecutionsSweep, ResumesFromTheStoredMarkAndNeverMovesDown) {
  ExecutionsSweep sweep(kGrace, 100);
  sweep.resumeFrom(40);
  EXPECT_EQ(sweep.mark(), 40);
  sweep.resumeFrom(30);
  EXPECT_EQ(sweep.mark(), 40);
}

// A model of the two delivery paths: each stored report is delivered by the stream after some
// delay, or never (lost). Rounds run every 100 ms, for 100 s. Whatever the delays: a report
// delivered within the grace of being first seen missing is never applied by the sweep, every lost
// report is applied once, and the mark never passes a report that is not in.
RC_GTEST_PROP(ExecutionsSweep, AppliesExactlyTheLostReports, ()) {
  const int count = *rc::gen::inRange(1, 60);
  // Delivery delay per report in ms; -1: lost.
  const auto delays = *rc::gen::container<std::vector<int>>(count, rc::gen::inRange(-1, 3000));
  ExecutionsSweep sweep(kGrace, static_cast<std::size_t>(*rc::gen::inRange(1, 80)));
  const auto start = Clock::now();
  std::set<int64_t> applied_by_sweep;
  std::map<int64_t, int> first_missing_ms;  // by seq: the first round that found it missing
  for (int round = 0; round < 1000; ++round) {
    const auto now = start + milliseconds(100 * round);
    const auto elapsed_ms = 100 * round;
    std::vector<SweepItem> items;
    for (int64_t seq = sweep.mark() + 1; seq <= count; ++seq) {
      const int delay = delays[seq - 1];
      const bool delivered = delay >= 0 && delay <= elapsed_ms;
      items.push_back({seq, delivered || applied_by_sweep.count(seq) != 0});
      if (!items.back().held) first_missing_ms.emplace(seq, elapsed_ms);
    }
    const auto due = sweep.due(items, now);
    std::vector<bool> done(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) done[i] = items[i].held;
    for (const auto index : due) {
      const int64_t seq = items[index].seq;
      RC_ASSERT(applied_by_sweep.insert(seq).second);
      // Seen missing for at least the grace: only a report that slow is raced.
      RC_ASSERT(elapsed_ms - first_missing_ms.at(seq) >= kGrace.count());
      done[index] = true;
    }
    const int64_t mark = sweep.advance(items, done);
    for (int64_t seq = 1; seq <= mark; ++seq) {
      const int delay = delays[seq - 1];
      RC_ASSERT((delay >= 0 && delay <= elapsed_ms) || applied_by_sweep.count(seq) != 0);
    }
  }
  RC_ASSERT(sweep.mark() == count);
  for (int64_t seq = 1; seq <= count; ++seq) {
    if (delays[seq - 1] < 0) RC_ASSERT(applied_by_sweep.count(seq) == 1u);
  }
}

}  // namespace
}  // namespace fbg::ledger
