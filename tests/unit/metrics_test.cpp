// Metrics registry: counters, gauges, histograms, Prometheus text, and the series bound.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"

namespace fbg {
namespace {

// Sample lines of a rendering: "series value" -> value text, comments skipped.
std::map<std::string, std::string> samples(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    out[line.substr(0, space)] = line.substr(space + 1);
  }
  return out;
}

std::string sample(const std::string& text, const std::string& series) {
  const auto all = samples(text);
  auto it = all.find(series);
  return it == all.end() ? "<absent>" : it->second;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---------------------------------------------------------------- counters and gauges

TEST(Counter, AddsAndReads) {
  Counter counter;
  EXPECT_EQ(counter.value(), 0);
  counter.add();
  counter.add(41);
  EXPECT_EQ(counter.value(), 42);
}

TEST(Gauge, SetsAndMovesBothWays) {
  Gauge gauge;
  gauge.set(10);
  gauge.add(-15);
  EXPECT_EQ(gauge.value(), -5);
  gauge.set(3);
  EXPECT_EQ(gauge.value(), 3);
}

TEST(MetricsRegistry, SameNameAndLabelsIsTheSameSeries) {
  MetricsRegistry registry;
  Counter& a = registry.counter("requests_total", "Requests.", R"(route="/a")");
  Counter& again = registry.counter("requests_total", "Requests.", R"(route="/a")");
  Counter& b = registry.counter("requests_total", "Requests.", R"(route="/b")");
  EXPECT_EQ(&a, &again);
  EXPECT_NE(&a, &b);
  a.add(2);
  again.add();
  b.add(5);
  EXPECT_EQ(a.value(), 3);
  EXPECT_EQ(b.value(), 5);
}

TEST(MetricsRegistry, RendersCountersAndGaugesInExpositionFormat) {
  MetricsRegistry registry;
  registry.counter("orders_total", "Orders accepted.", R"(side="BUY")").add(3);
  registry.counter("orders_total", "Orders accepted.", R"(side="SELL")").add(1);
  registry.gauge("outbox_backlog", "Rows waiting in the outbox.").set(-7);
  const std::string text = registry.render();
  EXPECT_TRUE(contains(text, "# HELP orders_total Orders accepted.\n# TYPE orders_total counter\n"))
      << text;
  EXPECT_TRUE(contains(text,
                       "# HELP outbox_backlog Rows waiting in the outbox.\n"
                       "# TYPE outbox_backlog gauge\n"))
      << text;
  EXPECT_EQ(sample(text, R"(orders_total{side="BUY"})"), "3");
  EXPECT_EQ(sample(text, R"(orders_total{side="SELL"})"), "1");
  EXPECT_EQ(sample(text, "outbox_backlog"), "-7");
  EXPECT_EQ(sample(text, "metrics_series_dropped_total"), "0");
  // One HELP and one TYPE per family, even with several series.
  EXPECT_EQ(std::count(text.begin(), text.end(), '#'), 6) << text;
}

TEST(MetricsRegistry, EveryLineIsACommentOrASampleAndEndsWithNewline) {
  MetricsRegistry registry;
  registry.counter("a_total", "A.", R"(x="1",y="2")").add();
  registry.gauge("b", "B.").set(1);
  registry.histogram("c_seconds", "C.", R"(route="/r")").observeSeconds(0.003);
  const std::string text = registry.render();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  static const std::regex kComment(R"(# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+)");
  static const std::regex kSample(
      R"([a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? -?[0-9]+(\.[0-9]+)?)");
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    EXPECT_TRUE(std::regex_match(line, kComment) || std::regex_match(line, kSample)) << line;
  }
}

// ---------------------------------------------------------------- histograms

TEST(Histogram, LatencyBucketsRunFrom100MicrosTo10Seconds) {
  const auto bounds = latencyBucketsSeconds();
  ASSERT_FALSE(bounds.empty());
  EXPECT_DOUBLE_EQ(bounds.front(), 0.0001);
  EXPECT_DOUBLE_EQ(bounds.back(), 10.0);
  EXPECT_TRUE(std::is_sorted(bounds.begin(), bounds.end()));
  EXPECT_EQ(std::adjacent_find(bounds.begin(), bounds.end()), bounds.end());
}

TEST(Histogram, BucketsAreCumulativeAndUpperBoundInclusive) {
  Histogram histogram({0.1, 0.5, 1.0});
  histogram.observeSeconds(0.05);
  histogram.observeSeconds(0.1);  // on a bound: counts in le="0.1"
  histogram.observeSeconds(0.3);
  histogram.observeSeconds(2.0);  // above every bound: only +Inf
  histogram.observeMicros(1'000'000);
  std::string text;
  histogram.render(text, "lat_seconds", R"(route="/x")");
  EXPECT_EQ(sample(text, R"(lat_seconds_bucket{route="/x",le="0.1"})"), "2") << text;
  EXPECT_EQ(sample(text, R"(lat_seconds_bucket{route="/x",le="0.5"})"), "3");
  EXPECT_EQ(sample(text, R"(lat_seconds_bucket{route="/x",le="1"})"), "4");
  EXPECT_EQ(sample(text, R"(lat_seconds_bucket{route="/x",le="+Inf"})"), "5");
  EXPECT_EQ(sample(text, R"(lat_seconds_count{route="/x"})"), "5");
  EXPECT_EQ(sample(text, R"(lat_seconds_sum{route="/x"})"), "3.450000");
}

TEST(Histogram, RendersWithoutLabels) {
  Histogram histogram({0.001});
  histogram.observeMicros(250);
  std::string text;
  histogram.render(text, "h", "");
  EXPECT_EQ(sample(text, R"(h_bucket{le="0.001"})"), "1") << text;
  EXPECT_EQ(sample(text, R"(h_bucket{le="+Inf"})"), "1");
  EXPECT_EQ(sample(text, "h_sum"), "0.000250");
  EXPECT_EQ(sample(text, "h_count"), "1");
}

TEST(MetricsRegistry, HistogramsUseTheLatencyBuckets) {
  MetricsRegistry registry;
  Histogram& histogram =
      registry.histogram("http_request_duration_seconds", "Latency.", R"(route="/v1/orders")");
  EXPECT_EQ(&histogram, &registry.histogram("http_request_duration_seconds", "Latency.",
                                            R"(route="/v1/orders")"));
  histogram.observeSeconds(0.0002);
  const std::string text = registry.render();
  EXPECT_TRUE(contains(text, "# TYPE http_request_duration_seconds histogram\n")) << text;
  const std::string prefix = R"(http_request_duration_seconds_bucket{route="/v1/orders",le=)";
  EXPECT_EQ(sample(text, prefix + R"("0.0001"})"), "0") << text;
  EXPECT_EQ(sample(text, prefix + R"("0.00025"})"), "1");
  EXPECT_EQ(sample(text, prefix + R"("10"})"), "1");
  EXPECT_EQ(sample(text, prefix + R"("+Inf"})"), "1");
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'),
            2 + static_cast<long>(latencyBucketsSeconds().size()) + 3 + 3);
}

// ---------------------------------------------------------------- the series bound

TEST(MetricsRegistry, SeriesPastTheBoundGoToOneOverflowSeries) {
  MetricsRegistry registry(3);
  registry.counter("hits_total", "Hits.", R"(user="a")").add(1);
  registry.counter("hits_total", "Hits.", R"(user="b")").add(1);
  registry.gauge("level", "Level.").set(9);  // third series, other family: the bound is global
  Counter& c = registry.counter("hits_total", "Hits.", R"(user="c")");
  Counter& d = registry.counter("hits_total", "Hits.", R"(user="d")");
  EXPECT_EQ(&c, &d);
  c.add(10);
  d.add(5);
  const std::string text = registry.render();
  EXPECT_EQ(sample(text, R"(hits_total{overflow="true"})"), "15") << text;
  EXPECT_EQ(sample(text, R"(hits_total{user="c"})"), "<absent>");
  EXPECT_EQ(sample(text, R"(hits_total{user="d"})"), "<absent>");
  EXPECT_EQ(sample(text, "metrics_series_dropped_total"), "2");
  EXPECT_EQ(sample(text, R"(hits_total{user="a"})"), "1");
  EXPECT_EQ(sample(text, "level"), "9");
}

TEST(MetricsRegistry, ExistingSeriesStayReachableAtTheBound) {
  MetricsRegistry registry(1);
  Counter& only = registry.counter("x_total", "X.", R"(k="1")");
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(&registry.counter("x_total", "X.", R"(k="1")"), &only);
  }
  EXPECT_EQ(sample(registry.render(), "metrics_series_dropped_total"), "0");
}

TEST(MetricsRegistry, UnboundedLabelsNeverGrowPastTheBound) {
  MetricsRegistry registry(10);
  for (int i = 0; i < 5000; ++i) {
    registry.counter("by_key_total", "By key.", "key=\"" + std::to_string(i) + "\"").add();
  }
  const auto all = samples(registry.render());
  // 10 real series, one overflow series, and the dropped counter.
  EXPECT_EQ(all.size(), 12u);
  EXPECT_EQ(all.at(R"(by_key_total{overflow="true"})"), "4990");
  EXPECT_EQ(all.at("metrics_series_dropped_total"), "4990");
}

TEST(MetricsRegistry, ConcurrentUpdatesAreAllCounted) {
  MetricsRegistry registry;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&registry, t] {
      for (int i = 0; i < 10'000; ++i) {
        registry.counter("shared_total", "Shared.").add();
        registry.counter("per_thread_total", "Per thread.", "t=\"" + std::to_string(t % 2) + "\"")
            .add();
        registry.histogram("lat_seconds", "Lat.").observeMicros(100);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const std::string text = registry.render();
  EXPECT_EQ(sample(text, "shared_total"), "80000");
  EXPECT_EQ(sample(text, R"(per_thread_total{t="0"})"), "40000");
  EXPECT_EQ(sample(text, R"(per_thread_total{t="1"})"), "40000");
  EXPECT_EQ(sample(text, "lat_seconds_count"), "80000");
  EXPECT_EQ(sample(text, "lat_seconds_sum"), "8.000000");
}

}  // namespace
}  // namespace fbg
