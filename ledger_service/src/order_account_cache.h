// Which account each order belongs to, remembered for the event appliers: an order never
// changes account, and every broker event starts with that question (the account's lock is
// taken before the group's statements). Without it each stream read cost one more statement.
// Filled by the appliers' lookups and by the intake, which tells it every order it places.
//
// Bounded: at most entries_max orders; past it the oldest remembered is forgotten (FIFO) and
// asked of the database again if an event for it still comes. Thread-safe.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace fbg::ledger {

class OrderAccountCache {
 public:
  explicit OrderAccountCache(std::size_t entries_max);

  [[nodiscard]] std::optional<std::string> find(const std::string& order_id) const;
  void remember(const std::string& order_id, const std::string& account_id);
  [[nodiscard]] std::size_t size() const;

 private:
  const std::size_t entries_max_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::string> account_of_;
  std::deque<std::string> remembered_;  // oldest first: the eviction order
};

}  // namespace fbg::ledger
