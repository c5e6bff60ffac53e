#include "common/periodic_task.h"

#include <spdlog/spdlog.h>

#include <cassert>

namespace fbg {

PeriodicTask::PeriodicTask(std::string name, int interval_ms, Round round, Counter& failures)
    : name_(std::move(name)),
      interval_ms_(interval_ms),
      round_(std::move(round)),
      failures_(failures) {
  assert(interval_ms > 0);
}

void PeriodicTask::start() {
  assert(!thread_.joinable());
  thread_ = std::thread([this] { run(); });
}

void PeriodicTask::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void PeriodicTask::run() {
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, std::chrono::milliseconds(interval_ms_),
                     [this] { return stopping_.load(); });
      if (stopping_) return;
    }
    if (auto done = round_(); !done) {
      failures_.add();
      spdlog::warn("{}: {}", name_, done.error().message);
    }
  }
}

}  // namespace fbg
