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

// Polls for `duration`, checking `invariant` each time; false at the first poll it fails.
inline bool holdsFor(std::chrono::milliseconds duration, const std::function<bool()>& invariant,
                     std::chrono::milliseconds poll = std::chrono::milliseconds(100)) {
  const auto until = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < until) {
    if (!invariant()) return false;
    std::this_thread::sleep_for(poll);
  }
  return invariant();
}

}  // namespace fbg::test
