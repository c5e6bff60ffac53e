// The drop copy's memory of recorded reports: it carries every stored report once, in seq
// order, whether a report comes from memory or from the store, across overflow and failures.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>

#include "domain/drop_copy_feed.h"

namespace fbg::simulator {
namespace {

StoredExecution stored(int64_t seq) {
  StoredExecution out;
  out.seq = seq;
  out.report.exec_id = "E" + std::to_string(seq);
  return out;
}

// The store: committed reports by seq, and executionsAfter.
struct Store {
  std::map<int64_t, StoredExecution> rows;
  int reads = 0;
  std::vector<StoredExecution> after(int64_t seq, std::size_t limit) {
    ++reads;
    std::vector<StoredExecution> out;
    for (auto it = rows.upper_bound(seq); it != rows.end() && out.size() < limit; ++it)
      out.push_back(it->second);
    return out;
  }
};

// One drop-copy round as BrokerService runs it: load when told, then carry up to `limit`
// (`sendable` of them before the session fails).
std::vector<int64_t> round(DropCopyFeed& feed, Store& store, int64_t& carried, std::size_t limit,
                           std::size_t sendable) {
  if (feed.needsLoad()) {
    auto rows = store.after(carried, limit);
    const bool to_end = rows.size() < limit;
    feed.loaded(std::move(rows), to_end);
  }
  std::vector<int64_t> sent;
  for (const auto& report : feed.pending(limit)) {
    if (sent.size() == sendable) break;
    sent.push_back(report.seq);
    carried = report.seq;
  }
  feed.carried(carried);
  return sent;
}

TEST(DropCopyFeed, CarriesRecordedReportsFromMemoryAfterOneReadOfTheStore) {
  Store store;
  DropCopyFeed feed(100);
  int64_t carried = 0;
  store.rows[1] = stored(1);
  EXPECT_EQ(round(feed, store, carried, 10, 10), std::vector<int64_t>{1});
  EXPECT_EQ(store.reads, 1);
  EXPECT_TRUE(feed.complete());
  for (int64_t seq : {2, 3}) {
    store.rows[seq] = stored(seq);
    feed.recorded({stored(seq)});
  }
  EXPECT_EQ(round(feed, store, carried, 10, 10), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(round(feed, store, carried, 10, 10), std::vector<int64_t>{});
  EXPECT_EQ(store.reads, 1);  // nothing more read: memory held every report
}

TEST(DropCopyFeed, AFullReadIsNotTheEndSoTheStoreIsReadAgainAfterIt) {
  Store store;
  DropCopyFeed feed(100);
  int64_t carried = 0;
  for (int64_t seq = 1; seq <= 4; ++seq) store.rows[seq] = stored(seq);
  EXPECT_EQ(round(feed, store, carried, 2, 10), (std::vector<int64_t>{1, 2}));
  EXPECT_FALSE(feed.complete());
  store.rows[5] = stored(5);
  feed.recorded({stored(5)});  // not held: 3 and 4 come first, from the store
  EXPECT_EQ(round(feed, store, carried, 2, 10), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(round(feed, store, carried, 2, 10), std::vector<int64_t>{5});
  EXPECT_TRUE(feed.complete());
}

TEST(DropCopyFeed, OverflowAndAFailedRecordFallBackToTheStore) {
  Store store;
  DropCopyFeed feed(2);
  int64_t carried = 0;
  EXPECT_EQ(round(feed, store, carried, 10, 10), std::vector<int64_t>{});
  for (int64_t seq = 1; seq <= 3; ++seq) {
    store.rows[seq] = stored(seq);
    feed.recorded({stored(seq)});
  }
  EXPECT_FALSE(feed.complete());  // 3 reports > capacity 2
  EXPECT_EQ(round(feed, store, carried, 10, 10), (std::vector<int64_t>{1, 2, 3}));
  store.rows[4] = stored(4);  // committed, but the caller saw an error
  feed.recordFailed();
  EXPECT_EQ(round(feed, store, carried, 10, 10), std::vector<int64_t>{4});
}

// Any mix of records (some failing after or before their commit), session failures, batch
// limits and capacities: what is carried is every committed seq, once, in order.
RC_GTEST_PROP(DropCopyFeed, CarriesEveryCommittedReportOnceInOrder, ()) {
  const auto capacity = *rc::gen::inRange<std::size_t>(1, 8);
  const auto limit = *rc::gen::inRange<std::size_t>(1, 5);
  Store store;
  DropCopyFeed feed(capacity);
  int64_t carried = 0, next_seq = 0;
  std::vector<int64_t> sent;
  const auto steps = *rc::gen::inRange(1, 60);
  for (int step = 0; step < steps; ++step) {
    switch (*rc::gen::inRange(0, 4)) {
      case 0: {  // a record of 1..3 reports; seqs may skip (a failed statement used some)
        next_seq += *rc::gen::inRange(0, 2);
        std::vector<StoredExecution> batch;
        for (int n = *rc::gen::inRange(1, 4); n > 0; --n) batch.push_back(stored(++next_seq));
        for (const auto& row : batch) store.rows[row.seq] = row;
        feed.recorded(batch);
        break;
      }
      case 1: {  // a record that failed; committed or not
        if (*rc::gen::arbitrary<bool>()) {
          ++next_seq;
          store.rows[next_seq] = stored(next_seq);
        }
        feed.recordFailed();
        break;
      }
      default: {
        const auto batch = round(feed, store, carried, limit, *rc::gen::inRange<std::size_t>(0, 6));
        sent.insert(sent.end(), batch.begin(), batch.end());
      }
    }
  }
  for (int spins = 0; spins < 1000 && carried < next_seq; ++spins) {
    const auto batch = round(feed, store, carried, limit, limit);
    sent.insert(sent.end(), batch.begin(), batch.end());
  }
  std::vector<int64_t> committed;
  for (const auto& [seq, row] : store.rows) committed.push_back(seq);
  RC_ASSERT(sent == committed);
}

}  // namespace
}  // namespace fbg::simulator
