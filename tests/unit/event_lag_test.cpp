// Fills first (ledger_service/src/event_lag.h): the readers' lag from their reads' oldest entry
// ids, and a new order's bounded wait on it.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "common/time_text.h"
#include "domain/broker_event_parse.h"
#include "event_lag.h"

namespace fbg::ledger {
namespace {

// A new order (lag bound 100 ms, wait bound 60 s, beyond the tests' deadlines) on its own
// thread, once it is counted as waiting; an invalid future if it was not within 10 s, or if it
// had already returned.
std::future<int64_t> orderWaiting(EventLag& lag, MetricsRegistry& metrics) {
  auto order = std::async(std::launch::async, [&lag] { return lag.waitWhileBehind(100, 60'000); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  Counter& waits = metrics.counter("ledger_intake_event_lag_waits_total", "");
  while (waits.value() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  if (waits.value() != 1 ||
      order.wait_for(std::chrono::seconds(0)) != std::future_status::timeout) {
    order.wait();
    return {};
  }
  return order;
}

TEST(EventLag, ReadsTheMillisecondsOfAStreamEntryId) {
  EXPECT_EQ(entryUnixMs("1732700000000-3"), 1732700000000);
  EXPECT_EQ(entryUnixMs("5-0"), 5);
  EXPECT_EQ(entryUnixMs(""), 0);
  EXPECT_EQ(entryUnixMs("-3"), 0);
  EXPECT_EQ(entryUnixMs("1732700000000"), 0);
  EXPECT_EQ(entryUnixMs("17327x0000000-3"), 0);
}

// Executions' entry ids are seqs, not times: a report's age comes from its received_at.
TEST(EventLag, AReportsTimeIsItsReceivedAt) {
  EXPECT_EQ(parseRfc3339Ms("2026-11-25T10:00:00.123456Z"), 1795600800123);
  EXPECT_EQ(parseRfc3339Ms("2026-11-25T10:00:00.123Z"), 1795600800123);
  EXPECT_EQ(parseRfc3339Ms("2026-11-25T10:00:00Z"), 1795600800000);
  for (const char* bad : {"", "2026-11-25T10:00:00", "2026-11-25T10:00:00.12Z",
                          "2026-11-25 10:00:00Z", "2026-11-25T10:00:00.123+01:00", "now"}) {
    EXPECT_EQ(parseRfc3339Ms(bad), -1) << bad;
  }
  const auto report = parseExecution(
      R"({"seq":7,"broker":"SIM-A","exec_id":"E7","order_id":"O1","exec_type":"0",)"
      R"("ord_status":"0","cum_qty":0,"received_at":"2026-11-25T10:00:00.500000Z"})");
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->received_unix_ms, 1795600800500);
  const auto undated =
      parseExecution(R"({"seq":8,"broker":"SIM-A","exec_id":"E8","order_id":"O1","exec_type":"0",)"
                     R"("ord_status":"0","cum_qty":0})");
  ASSERT_TRUE(undated) << undated.error().message;
  EXPECT_EQ(undated->received_unix_ms, 0);
}

TEST(EventLag, IsTheOldestEntryBeingAppliedAcrossReaders) {
  MetricsRegistry metrics;
  EventLag lag(1, 3, metrics);
  EXPECT_EQ(lag.lagMs(10'000), 0);
  lag.working(0, 9'500);
  lag.working(2, 9'000);
  EXPECT_EQ(lag.lagMs(10'000), 1'000);
  lag.done(2);
  EXPECT_EQ(lag.lagMs(10'000), 500);
  lag.working(0, 0);  // an entry id without time: no lag known
  EXPECT_EQ(lag.lagMs(10'000), 0);
  lag.working(1, 9'990);
  lag.done(1);
  EXPECT_EQ(lag.lagMs(10'000), 0);
}

// The gauge operators watch follows the readers and falls back to 0 when they are done; it does
// not keep the last read's lag once the stream is quiet.
TEST(EventLag, TheGaugeFallsToZeroWhenTheReadersAreDone) {
  MetricsRegistry metrics;
  EventLag lag(2, 1, metrics);
  Gauge& gauge = metrics.gauge("ledger_event_lag_ms", "");
  lag.working(0, wallClockMs() - 60'000);
  EXPECT_GE(gauge.value(), 60'000);
  lag.working(1, wallClockMs());
  lag.done(0);
  EXPECT_LT(gauge.value(), 60'000);
  lag.done(1);
  EXPECT_EQ(gauge.value(), 0);
}

TEST(EventLag, AnOrderDoesNotWaitWhileTheReadersKeepUp) {
  MetricsRegistry metrics;
  EventLag lag(2, 1, metrics);
  lag.working(0, wallClockMs());
  EXPECT_EQ(lag.waitWhileBehind(60'000, 60'000), 0);
  EXPECT_EQ(metrics.counter("ledger_intake_event_lag_waits_total", "").value(), 0);
}

// A reader an hour behind: the order waits until that reader is done, not for its bound (60 s,
// beyond the test's own deadline).
TEST(EventLag, AnOrderWaitsUntilTheReaderBehindIsDone) {
  MetricsRegistry metrics;
  EventLag lag(2, 1, metrics);
  lag.working(1, wallClockMs() - 3'600'000);
  auto order = orderWaiting(lag, metrics);
  ASSERT_TRUE(order.valid());
  lag.done(1);
  ASSERT_EQ(order.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_LT(order.get(), 60'000);
}

// The wait is bounded: a reader stuck behind delays an order by the bound, then lets it go.
TEST(EventLag, AnOrderWaitsAtMostItsBound) {
  MetricsRegistry metrics;
  EventLag lag(1, 1, metrics);
  lag.working(0, wallClockMs() - 3'600'000);
  EXPECT_GE(lag.waitWhileBehind(100, 20), 20);
  EXPECT_EQ(lag.waitWhileBehind(100, 0), 0);  // 0: never waits
  EXPECT_EQ(metrics.counter("ledger_intake_event_lag_waits_total", "").value(), 1);
}

// Two streams, two readers each (readers 0 and 2 read stream 0, 1 and 3 stream 1). A reader that
// took its entry 5 ms after it came and has been applying it for an hour, while the other reader
// of its stream is free: one slow event, not a queue. The operators' lag shows it; new orders do
// not wait for it.
TEST(EventLag, OneSlowEventWhileAReaderOfItsStreamIsFreeHoldsNoOrderBack) {
  MetricsRegistry metrics;
  EventLag lag(2, 2, metrics);
  const int64_t hour_ago = wallClockMs() - 3'600'000;
  lag.working(1, hour_ago, hour_ago + 5);
  lag.working(0, hour_ago, hour_ago + 5);  // the same on the other stream
  EXPECT_GE(lag.lagMs(wallClockMs()), 3'600'000);
  EXPECT_EQ(lag.queuedLagMs(wallClockMs()), 5);
  EXPECT_EQ(lag.waitWhileBehind(100, 60'000), 0);
  EXPECT_EQ(metrics.counter("ledger_intake_event_lag_waits_total", "").value(), 0);
}

// A read whose oldest entry had waited 2 s in the stream when it was read: entries queue even
// though the stream's other reader is free between its reads. New orders wait until that read
// is done.
TEST(EventLag, AReadThatFoundItsEntriesWaitingHoldsOrdersBack) {
  MetricsRegistry metrics;
  EventLag lag(2, 2, metrics);
  const int64_t now = wallClockMs();
  lag.working(1, now - 2'000, now);
  EXPECT_GE(lag.queuedLagMs(wallClockMs()), 2'000);
  auto order = orderWaiting(lag, metrics);
  ASSERT_TRUE(order.valid());
  lag.done(1);
  ASSERT_EQ(order.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_LT(order.get(), 60'000);
}

// Every reader of the stream applying, one of them for an hour: nothing takes the stream's new
// entries, so new orders wait until a reader of that stream is free again.
TEST(EventLag, EveryReaderOfAStreamApplyingIsAQueue) {
  MetricsRegistry metrics;
  EventLag lag(2, 2, metrics);
  const int64_t hour_ago = wallClockMs() - 3'600'000;
  lag.working(1, hour_ago, hour_ago + 5);
  lag.working(3, wallClockMs());
  EXPECT_GE(lag.queuedLagMs(wallClockMs()), 3'600'000);
  auto order = orderWaiting(lag, metrics);
  ASSERT_TRUE(order.valid());
  lag.done(3);  // the fresh read ends: a reader is free, the slow one no longer holds orders back
  ASSERT_EQ(order.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_LT(order.get(), 60'000);
  EXPECT_EQ(lag.queuedLagMs(wallClockMs()), 5);
  EXPECT_GE(lag.lagMs(wallClockMs()), 3'600'000);
}

// Over any sequence of reads (each read at or after its oldest entry, none after `now`): the lag
// that holds orders back follows the rule of queuedLagMs(), is never above the operators' lag,
// and with one reader per stream (nothing else takes the stream's entries) it is the same.
RC_GTEST_PROP(EventLagProperty, QueuedLagCountsAStreamWithAFreeReaderByItsReadsOnly, ()) {
  const int streams = *rc::gen::inRange(1, 4);
  const int readers_per_stream = *rc::gen::inRange(1, 4);
  const int readers = streams * readers_per_stream;
  MetricsRegistry metrics;
  EventLag lag(streams, readers_per_stream, metrics);
  constexpr int64_t now = 1'000'000;
  struct Read {
    int64_t oldest = -1;  // -1: not applying
    int64_t at = 0;
  };
  std::vector<Read> model(static_cast<std::size_t>(readers));
  const auto steps = *rc::gen::container<std::vector<std::tuple<int, int64_t, int64_t>>>(
      rc::gen::tuple(rc::gen::inRange(0, readers), rc::gen::inRange<int64_t>(-1, now),
                     rc::gen::inRange<int64_t>(0, now)));
  for (const auto& [reader, oldest, after] : steps) {
    Read& read = model[static_cast<std::size_t>(reader)];
    if (oldest < 0) {
      lag.done(reader);
      read = Read{};
    } else {
      read = {oldest, std::min(now, oldest + after)};
      lag.working(reader, read.oldest, read.at);
    }
    int64_t expected = 0;
    for (int s = 0; s < streams; ++s) {
      bool all_applying = true;
      int64_t applying_for = 0;
      int64_t read_after = 0;
      for (int r = s; r < readers; r += streams) {
        const Read& m = model[static_cast<std::size_t>(r)];
        if (m.oldest < 0) {
          all_applying = false;
        } else if (m.oldest > 0) {
          applying_for = std::max(applying_for, now - m.oldest);
          read_after = std::max(read_after, m.at - m.oldest);
        }
      }
      expected = std::max(expected, all_applying ? applying_for : read_after);
    }
    RC_ASSERT(lag.queuedLagMs(now) == expected);
    RC_ASSERT(lag.queuedLagMs(now) <= lag.lagMs(now));
    if (readers_per_stream == 1) RC_ASSERT(lag.queuedLagMs(now) == lag.lagMs(now));
  }
}

}  // namespace
}  // namespace fbg::ledger
