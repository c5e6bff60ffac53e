#include "domain/drop_copy_feed.h"

#include <algorithm>

namespace fbg::simulator {

void DropCopyFeed::recorded(const std::vector<StoredExecution>& stored) {
  // Incomplete: the store has them, read after what memory holds is carried.
  if (!complete_) return;
  if (pending_.size() + stored.size() > capacity_) {
    recordFailed();  // too far behind: the store keeps them, memory does not
    return;
  }
  pending_.insert(pending_.end(), stored.begin(), stored.end());
}

void DropCopyFeed::recordFailed() {
  pending_.clear();
  complete_ = false;
}

void DropCopyFeed::loaded(std::vector<StoredExecution> rows, bool to_end) {
  pending_.assign(std::make_move_iterator(rows.begin()), std::make_move_iterator(rows.end()));
  complete_ = to_end;
}

std::vector<StoredExecution> DropCopyFeed::pending(std::size_t limit) const {
  const auto count = std::min(limit, pending_.size());
  return {pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(count)};
}

void DropCopyFeed::carried(int64_t seq) {
  while (!pending_.empty() && pending_.front().seq <= seq) pending_.pop_front();
}

}  // namespace fbg::simulator
