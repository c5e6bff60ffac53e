// A round run every interval_ms on its own thread until stop(): the sweeps' loop. A round that
// returns an error is counted and logged; the next one comes at the next interval.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/metrics.h"
#include "common/result.h"

namespace fbg {

class PeriodicTask {
 public:
  using Round = std::function<Status()>;

  // name: in the log lines; failures: counts the rounds that returned an error.
  PeriodicTask(std::string name, int interval_ms, Round round, Counter& failures);
  ~PeriodicTask() { stop(); }
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  void start();
  void stop();
  // For a round that loops: true once stop() was called.
  [[nodiscard]] bool stopping() const { return stopping_.load(); }

 private:
  void run();

  std::string name_;
  int interval_ms_;
  Round round_;
  Counter& failures_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace fbg
