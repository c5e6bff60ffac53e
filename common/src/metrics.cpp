#include "common/metrics.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>

namespace fbg {
namespace {

std::string seriesName(const std::string& name, const std::string& labels) {
  return labels.empty() ? name : name + "{" + labels + "}";
}

std::string joinLabels(const std::string& labels, const std::string& extra) {
  return labels.empty() ? extra : labels + "," + extra;
}

const std::string kOverflowLabels = "overflow=\"true\"";

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds_seconds)
    : upper_bounds_seconds_(std::move(upper_bounds_seconds)),
      bucket_counts_(new std::atomic<int64_t>[upper_bounds_seconds_.size() + 1]) {
  assert(std::is_sorted(upper_bounds_seconds_.begin(), upper_bounds_seconds_.end()));
  for (std::size_t i = 0; i <= upper_bounds_seconds_.size(); ++i) bucket_counts_[i] = 0;
}

void Histogram::observeSeconds(double seconds) {
  const auto bound =
      std::lower_bound(upper_bounds_seconds_.begin(), upper_bounds_seconds_.end(), seconds);
  bucket_counts_[static_cast<std::size_t>(bound - upper_bounds_seconds_.begin())].fetch_add(
      1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(std::llround(seconds * 1e6), std::memory_order_relaxed);
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  int64_t cumulative = 0;
  char bound_text[32];
  for (std::size_t i = 0; i < upper_bounds_seconds_.size(); ++i) {
    cumulative += bucket_counts_[i].load(std::memory_order_relaxed);
    std::snprintf(bound_text, sizeof bound_text, "%g", upper_bounds_seconds_[i]);
    out +=
        seriesName(name + "_bucket", joinLabels(labels, "le=\"" + std::string(bound_text) + "\"")) +
        " " + std::to_string(cumulative) + "\n";
  }
  cumulative += bucket_counts_[upper_bounds_seconds_.size()].load(std::memory_order_relaxed);
  out += seriesName(name + "_bucket", joinLabels(labels, "le=\"+Inf\"")) + " " +
         std::to_string(cumulative) + "\n";
  char sum_text[48];
  std::snprintf(sum_text, sizeof sum_text, "%.6f",
                static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6);
  out += seriesName(name + "_sum", labels) + " " + sum_text + "\n";
  out += seriesName(name + "_count", labels) + " " +
         std::to_string(count_.load(std::memory_order_relaxed)) + "\n";
}

std::vector<double> latencyBucketsSeconds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0};
}

MetricsRegistry::Family& MetricsRegistry::family(const std::string& name, const std::string& help,
                                                 const char* type) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.help = help;
    it->second.type = type;
  }
  assert(it->second.type == type);
  return it->second;
}

bool MetricsRegistry::roomForSeries() {
  if (series_count_ >= series_count_max_) {
    dropped_.add();
    return false;
  }
  ++series_count_;
  return true;
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help,
                                  const std::string& labels) {
  std::lock_guard lock(mutex_);
  auto& series = family(name, help, "counter").counters;
  if (auto it = series.find(labels); it != series.end()) return *it->second;
  auto& slot = series[roomForSeries() ? labels : kOverflowLabels];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help,
                              const std::string& labels) {
  std::lock_guard lock(mutex_);
  auto& series = family(name, help, "gauge").gauges;
  if (auto it = series.find(labels); it != series.end()) return *it->second;
  auto& slot = series[roomForSeries() ? labels : kOverflowLabels];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      const std::string& labels) {
  std::lock_guard lock(mutex_);
  auto& series = family(name, help, "histogram").histograms;
  if (auto it = series.find(labels); it != series.end()) return *it->second;
  auto& slot = series[roomForSeries() ? labels : kOverflowLabels];
  if (!slot) slot = std::make_unique<Histogram>(latencyBucketsSeconds());
  return *slot;
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, family] : families_) {
    out.append("# HELP ").append(name).append(" ").append(family.help);
    out.append("\n# TYPE ").append(name).append(" ").append(family.type).append("\n");
    for (const auto& [labels, counter] : family.counters) {
      out.append(seriesName(name, labels)).append(" ");
      out.append(std::to_string(counter->value())).append("\n");
    }
    for (const auto& [labels, gauge] : family.gauges) {
      out.append(seriesName(name, labels)).append(" ");
      out.append(std::to_string(gauge->value())).append("\n");
    }
    for (const auto& [labels, histogram] : family.histograms) histogram->render(out, name, labels);
  }
  out +=
      "# HELP metrics_series_dropped_total Updates sent to the overflow series.\n"
      "# TYPE metrics_series_dropped_total counter\nmetrics_series_dropped_total " +
      std::to_string(dropped_.value()) + "\n";
  return out;
}

}  // namespace fbg
