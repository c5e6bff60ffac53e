#include "local_account_locks.h"

#include <algorithm>
#include <cassert>

namespace fbg::ledger {

std::vector<std::string> LocalAccountLocks::takeFree(const std::vector<std::string>& account_ids) {
  std::vector<std::string> taken;
  for (const auto& account_id : account_ids) {
    Entry& entry = entries_[account_id];
    if (entry.held) continue;
    entry.held = true;
    taken.push_back(account_id);
  }
  return taken;
}

void LocalAccountLocks::forgetIfUnused(const std::string& account_id) {
  const auto it = entries_.find(account_id);
  if (it != entries_.end() && !it->second.held && it->second.waiters.empty()) entries_.erase(it);
}

std::vector<std::string> LocalAccountLocks::takeAny(const std::vector<std::string>& account_ids,
                                                    Clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  Waiter self;
  while (true) {
    auto taken = takeFree(account_ids);
    if (!taken.empty() || account_ids.empty()) {
      for (const auto& account_id : account_ids) forgetIfUnused(account_id);
      return taken;
    }
    for (const auto& account_id : account_ids) entries_[account_id].waiters.push_back(&self);
    self.woken = false;
    const bool woken = self.released.wait_until(lock, deadline, [&] { return self.woken; });
    for (const auto& account_id : account_ids) {
      auto& waiters = entries_[account_id].waiters;
      waiters.erase(std::remove(waiters.begin(), waiters.end(), &self), waiters.end());
    }
    if (!woken) {
      for (const auto& account_id : account_ids) forgetIfUnused(account_id);
      return {};
    }
  }
}

void LocalAccountLocks::release(const std::vector<std::string>& account_ids) {
  std::lock_guard lock(mutex_);
  for (const auto& account_id : account_ids) {
    const auto it = entries_.find(account_id);
    assert(it != entries_.end() && it->second.held);  // only what this process took
    if (it == entries_.end()) continue;
    it->second.held = false;
    // Every waiter of the account: the first to run takes it, the others wait again. They are
    // few (the threads asking for this account), and a waiter of several accounts may want
    // exactly this one.
    for (Waiter* waiter : it->second.waiters) {
      waiter->woken = true;
      waiter->released.notify_one();
    }
    forgetIfUnused(account_id);
  }
}

std::size_t LocalAccountLocks::entries() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::size_t LocalAccountLocks::waiting(const std::string& account_id) const {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(account_id);
  return it == entries_.end() ? 0 : it->second.waiters.size();
}

}  // namespace fbg::ledger
