#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace fbg::test {

// Polls `condition` until it holds or `deadline` has passed. Returns whether it held.
// The condition is always evaluated at least once, and once more after the last sleep.
inline bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds deadline,
                      std::chrono::milliseconds poll = std::chrono::milliseconds(10)) {
  const auto give_up_at = std::chrono::steady_clock::now() + deadline;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= give_up_at) return false;
    std::this_thread::sleep_for(poll);
  }
}

}  // namespace fbg::test
