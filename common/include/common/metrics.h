// Prometheus text exposition (format 0.0.4) for counters, gauges and fixed-bucket histograms.
// Series are created on first use and live as long as the registry; the number of series is
// bounded by series_count_max so a label built from outside input can never grow it forever:
// past the bound, updates go to a shared overflow series and metrics_series_dropped_total rises.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace fbg {

class Counter {
 public:
  void add(int64_t amount = 1) { value_.fetch_add(amount, std::memory_order_relaxed); }
  [[nodiscard]] int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

class Gauge {
 public:
  void set(int64_t value) { value_.store(value, std::memory_order_relaxed); }
  void add(int64_t amount) { value_.fetch_add(amount, std::memory_order_relaxed); }
  [[nodiscard]] int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds_seconds);
  void observeSeconds(double seconds);
  void observeMicros(int64_t micros) { observeSeconds(static_cast<double>(micros) / 1e6); }
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> upper_bounds_seconds_;
  std::unique_ptr<std::atomic<int64_t>[]> bucket_counts_;  // one per bound, plus +Inf
  std::atomic<int64_t> count_{0};
  std::atomic<int64_t> sum_micros_{0};
};

// Latency buckets from 100 us to 10 s.
[[nodiscard]] std::vector<double> latencyBucketsSeconds();

class MetricsRegistry {
 public:
  explicit MetricsRegistry(std::size_t series_count_max = 4096)
      : series_count_max_(series_count_max) {}

  // labels: already-formatted Prometheus label pairs, e.g. route="/v1/orders",status="202".
  Counter& counter(const std::string& name, const std::string& help,
                   const std::string& labels = "");
  Gauge& gauge(const std::string& name, const std::string& help, const std::string& labels = "");
  Histogram& histogram(const std::string& name, const std::string& help,
                       const std::string& labels = "");

  [[nodiscard]] std::string render() const;

 private:
  struct Family {
    std::string help;
    std::string type;
    std::map<std::string, std::unique_ptr<Counter>> counters;
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
  };
  Family& family(const std::string& name, const std::string& help, const char* type);
  bool roomForSeries();

  std::size_t series_count_max_;
  std::size_t series_count_ = 0;
  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
  Counter dropped_;
};

}  // namespace fbg
