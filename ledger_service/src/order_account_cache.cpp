#include "order_account_cache.h"

#include <cassert>

namespace fbg::ledger {

OrderAccountCache::OrderAccountCache(std::size_t entries_max) : entries_max_(entries_max) {
  assert(entries_max_ > 0);
}

std::optional<std::string> OrderAccountCache::find(const std::string& order_id) const {
  std::lock_guard lock(mutex_);
  const auto found = account_of_.find(order_id);
  if (found == account_of_.end()) return std::nullopt;
  return found->second;
}

void OrderAccountCache::remember(const std::string& order_id, const std::string& account_id) {
  std::lock_guard lock(mutex_);
  if (!account_of_.emplace(order_id, account_id).second) return;
  remembered_.push_back(order_id);
  if (remembered_.size() > entries_max_) {
    account_of_.erase(remembered_.front());
    remembered_.pop_front();
  }
  assert(account_of_.size() == remembered_.size() && account_of_.size() <= entries_max_);
}

std::size_t OrderAccountCache::size() const {
  std::lock_guard lock(mutex_);
  return account_of_.size();
}

}  // namespace fbg::ledger
