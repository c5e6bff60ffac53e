#include "event_lag.h"

#include <algorithm>
#include <cassert>
#include <charconv>

#include "common/time_text.h"

namespace fbg::ledger {

int64_t entryUnixMs(const std::string& entry_id) {
  const auto dash = entry_id.find('-');
  if (dash == std::string::npos || dash == 0) return 0;
  int64_t ms = 0;
  const auto [end, error] = std::from_chars(entry_id.data(), entry_id.data() + dash, ms);
  if (error != std::errc() || end != entry_id.data() + dash || ms < 0) return 0;
  return ms;
}

EventLag::EventLag(int streams, int readers_per_stream, MetricsRegistry& metrics)
    : streams_(streams),
      oldest_unix_ms_(static_cast<std::size_t>(streams) * readers_per_stream, 0),
      read_unix_ms_(oldest_unix_ms_.size(), 0),
      applying_(oldest_unix_ms_.size(), false),
      waits_(metrics.counter("ledger_intake_event_lag_waits_total",
                             "New orders that waited for the event readers to catch up "
                             "(fills first).")),
      wait_seconds_(metrics.histogram("ledger_intake_event_lag_wait_seconds",
                                      "How long a new order waited for the event readers.")),
      lag_ms_(metrics.gauge("ledger_event_lag_ms",
                            "Age of the oldest broker event the readers apply, when a reader "
                            "starts or ends a read (0: caught up).")) {
  assert(streams > 0 && readers_per_stream > 0);
}

void EventLag::working(int reader, int64_t oldest_unix_ms, int64_t now_unix_ms) {
  assert(reader >= 0 && static_cast<std::size_t>(reader) < oldest_unix_ms_.size());
  const std::lock_guard lock(mutex_);
  const auto r = static_cast<std::size_t>(reader);
  oldest_unix_ms_[r] = std::max<int64_t>(0, oldest_unix_ms);
  read_unix_ms_[r] = now_unix_ms;
  applying_[r] = true;
  lag_ms_.set(lagMsLocked(now_unix_ms));
  changed_.notify_all();  // a newer read than the last: its lag is smaller
}

void EventLag::done(int reader) {
  assert(reader >= 0 && static_cast<std::size_t>(reader) < oldest_unix_ms_.size());
  {
    const std::lock_guard lock(mutex_);
    oldest_unix_ms_[static_cast<std::size_t>(reader)] = 0;
    applying_[static_cast<std::size_t>(reader)] = false;
    lag_ms_.set(lagMsLocked(wallClockMs()));  // 0 once every reader is done
  }
  changed_.notify_all();
}

int64_t EventLag::lagMs(int64_t now_unix_ms) const {
  const std::lock_guard lock(mutex_);
  return lagMsLocked(now_unix_ms);
}

int64_t EventLag::lagMsLocked(int64_t now_unix_ms) const {
  int64_t lag = 0;
  for (const int64_t oldest : oldest_unix_ms_) {
    if (oldest > 0) lag = std::max(lag, now_unix_ms - oldest);
  }
  return lag;
}

int64_t EventLag::queuedLagMs(int64_t now_unix_ms) const {
  const std::lock_guard lock(mutex_);
  return queuedLagMsLocked(now_unix_ms);
}

int64_t EventLag::queuedLagMsLocked(int64_t now_unix_ms) const {
  int64_t lag = 0;
  for (std::size_t stream = 0; stream < static_cast<std::size_t>(streams_); ++stream) {
    bool all_applying = true;
    int64_t applying_for = 0;  // now - oldest: the lag while every reader is applying
    int64_t read_after = 0;    // read began - oldest: the queue an applying reader found
    for (std::size_t r = stream; r < applying_.size(); r += static_cast<std::size_t>(streams_)) {
      if (!applying_[r]) {
        all_applying = false;
        continue;
      }
      if (oldest_unix_ms_[r] == 0) continue;
      applying_for = std::max(applying_for, now_unix_ms - oldest_unix_ms_[r]);
      read_after = std::max(read_after, read_unix_ms_[r] - oldest_unix_ms_[r]);
    }
    lag = std::max(lag, all_applying ? applying_for : read_after);
  }
  return lag;
}

int64_t EventLag::waitWhileBehind(int64_t lag_ms_max, int64_t wait_ms_max) {
  if (wait_ms_max <= 0) return 0;
  const auto started = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_);
  const auto caught_up = [&] { return queuedLagMsLocked(wallClockMs()) <= lag_ms_max; };
  if (caught_up()) return 0;
  waits_.add();
  changed_.wait_until(lock, started + std::chrono::milliseconds(wait_ms_max), caught_up);
  const auto waited = std::chrono::steady_clock::now() - started;
  wait_seconds_.observeSeconds(std::chrono::duration<double>(waited).count());
  return std::chrono::duration_cast<std::chrono::milliseconds>(waited).count();
}

}  // namespace fbg::ledger
