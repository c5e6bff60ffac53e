#include "local_account_locks.h"

#include <algorithm>
#include <cassert>

namespace fbg::ledger {

std::vector<std::string> LocalAccountLocks::tryTake(const std::vector<std::string>& account_ids) {
  std::vector<std::string> taken;
  std::lock_guard<std::mutex> guard(mutex_);
  for (const auto& account_id : account_ids) {
    if (held_.insert(account_id).second) taken.push_back(account_id);
  }
  return taken;
}

void LocalAccountLocks::release(const std::vector<std::string>& account_ids) {
  if (account_ids.empty()) return;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    for (const auto& account_id : account_ids) {
      const std::size_t erased = held_.erase(account_id);
      assert(erased == 1 && "released an account this process did not hold");
      (void)erased;
    }
    ++releases_;
  }
  released_.notify_all();
}

uint64_t LocalAccountLocks::releases() {
  std::lock_guard<std::mutex> guard(mutex_);
  return releases_;
}

void LocalAccountLocks::waitForRelease(uint64_t seen, Clock::time_point until) {
  std::unique_lock<std::mutex> guard(mutex_);
  released_.wait_until(guard, until, [&] { return releases_ != seen; });
}

bool LocalAccountLocks::allHeld(const std::vector<std::string>& account_ids) {
  std::lock_guard<std::mutex> guard(mutex_);
  return std::all_of(account_ids.begin(), account_ids.end(),
                     [&](const std::string& account_id) { return held_.count(account_id) == 1; });
}

std::size_t LocalAccountLocks::heldCount() {
  std::lock_guard<std::mutex> guard(mutex_);
  return held_.size();
}

}  // namespace fbg::ledger
