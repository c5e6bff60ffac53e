// The fill receiver's relay handoff (fill_receiver/src/domain/relay_handoff.h): when the relay
// publishes rows from memory and when it must read the executions table.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <numeric>

#include "domain/relay_handoff.h"

namespace fbg::fills {
namespace {

std::vector<StoredExecution> rowsFrom(int64_t first_seq, int count) {
  std::vector<StoredExecution> rows;
  for (int i = 0; i < count; ++i) {
    StoredExecution row;
    row.seq = first_seq + i;
    row.record.exec_id = "E" + std::to_string(row.seq);
    rows.push_back(row);
  }
  return rows;
}

std::vector<int64_t> seqsOf(const RelayRound& round) {
  std::vector<int64_t> seqs;
  for (const auto& row : round.rows) seqs.push_back(row.seq);
  return seqs;
}

TEST(RelayHandoff, TheFirstRoundReadsTheTableThenHandedRowsComeFromMemoryInSeqOrder) {
  RelayHandoff handoff(100);
  handoff.offer(rowsFrom(1, 3));
  EXPECT_EQ(handoff.next(10, 0, false).source, RelaySource::Table);
  handoff.offer(rowsFrom(4, 2));
  const RelayRound round = handoff.next(10, 0, false);
  EXPECT_EQ(round.source, RelaySource::Memory);
  EXPECT_EQ(seqsOf(round), (std::vector<int64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(handoff.next(10, 5, false).source, RelaySource::Nothing);
}

TEST(RelayHandoff, RowsTheTableReadPublishedAreDroppedFromMemory) {
  RelayHandoff handoff(100);
  (void)handoff.next(10, 0, false);  // the start's table read
  handoff.offer(rowsFrom(1, 6));
  // A due table read published 1..4 before these were taken.
  EXPECT_EQ(handoff.next(10, 0, true).source, RelaySource::Table);
  EXPECT_EQ(seqsOf(handoff.next(10, 4, false)), (std::vector<int64_t>{5, 6}));
}

TEST(RelayHandoff, ARoundTakesAtMostItsLimitAndTheNextTheRest) {
  RelayHandoff handoff(100);
  (void)handoff.next(10, 0, false);
  handoff.offer(rowsFrom(1, 5));
  EXPECT_EQ(seqsOf(handoff.next(3, 0, false)), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(handoff.held(), 2u);
  EXPECT_EQ(seqsOf(handoff.next(3, 3, false)), (std::vector<int64_t>{4, 5}));
}

TEST(RelayHandoff, AnOverflowDropsWhatIsHeldAndRequiresATableRead) {
  RelayHandoff handoff(4);
  (void)handoff.next(10, 0, false);
  handoff.offer(rowsFrom(1, 3));
  handoff.offer(rowsFrom(4, 2));  // 5 > 4
  EXPECT_EQ(handoff.held(), 0u);
  EXPECT_EQ(handoff.next(10, 0, false).source, RelaySource::Table);
  // A batch offered after the overflow is kept, but the table read comes first: it holds the
  // dropped rows, which are older.
  handoff.offer(rowsFrom(6, 1));
  handoff.requireTableRead();
  EXPECT_EQ(handoff.next(10, 0, false).source, RelaySource::Table);
  EXPECT_EQ(seqsOf(handoff.next(10, 5, false)), (std::vector<int64_t>{6}));
}

TEST(RelayHandoff, WithNoRoomEveryRoundReadsTheTable) {
  RelayHandoff handoff(0);
  for (int i = 0; i < 3; ++i) {
    handoff.offer(rowsFrom(1 + i, 1));
    EXPECT_EQ(handoff.next(10, 0, false).source, RelaySource::Table);
    EXPECT_EQ(handoff.held(), 0u);
  }
}

// Whatever the writer offers, overflows, failures and due reads: every committed row is
// published, by memory or by a table read, and memory never publishes a row twice or out of
// seq order. The model table holds every committed row; a table read publishes every row above
// the last published (as the relay's read of unpublished rows does, after its marks).
RC_GTEST_PROP(RelayHandoff, EveryCommittedRowIsPublishedOnceInSeqOrder, ()) {
  const auto rows_max = *rc::gen::inRange<std::size_t>(0, 12);
  const auto limit = *rc::gen::inRange<std::size_t>(1, 6);
  RelayHandoff handoff(rows_max);
  int64_t committed_through = 0;
  int64_t published_through = 0;
  std::vector<int64_t> published;
  const auto steps = *rc::gen::inRange(1, 60);
  for (int step = 0; step < steps; ++step) {
    switch (*rc::gen::inRange(0, 4)) {
      case 0: {  // the writer commits a batch
        const int count = *rc::gen::inRange(1, 5);
        handoff.offer(rowsFrom(committed_through + 1, count));
        committed_through += count;
        break;
      }
      case 1:
        handoff.requireTableRead();  // a publication failed
        break;
      default: {
        const RelayRound round =
            handoff.next(limit, published_through, *rc::gen::arbitrary<bool>());
        if (round.source == RelaySource::Table) {
          for (int64_t seq = published_through + 1; seq <= committed_through; ++seq) {
            published.push_back(seq);
          }
          published_through = committed_through;
        } else if (round.source == RelaySource::Memory) {
          RC_ASSERT(round.rows.size() <= limit);
          for (const auto& row : round.rows) {
            RC_ASSERT(row.seq == published_through + 1);
            published.push_back(row.seq);
            published_through = row.seq;
          }
        }
      }
    }
  }
  // Drain: rounds until nothing is left, then one due table read.
  for (int i = 0; i < 100 && handoff.held() > 0; ++i) {
    const RelayRound round = handoff.next(limit, published_through, false);
    if (round.source == RelaySource::Table) {
      for (int64_t seq = published_through + 1; seq <= committed_through; ++seq) {
        published.push_back(seq);
      }
      published_through = committed_through;
    }
    for (const auto& row : round.rows) {
      RC_ASSERT(row.seq == published_through + 1);
      published.push_back(row.seq);
      published_through = row.seq;
    }
  }
  RC_ASSERT(handoff.held() == 0u);
  if (published_through < committed_through) {
    RC_ASSERT(handoff.next(limit, published_through, true).source == RelaySource::Table);
    for (int64_t seq = published_through + 1; seq <= committed_through; ++seq) {
      published.push_back(seq);
    }
  }
  std::vector<int64_t> expected(static_cast<std::size_t>(committed_through));
  std::iota(expected.begin(), expected.end(), int64_t{1});
  RC_ASSERT(published == expected);
}

}  // namespace
}  // namespace fbg::fills
