#include "domain/executions_sweep.h"

#include <cassert>
#include <limits>

namespace fbg::ledger {

ExecutionsSweep::ExecutionsSweep(std::chrono::milliseconds grace, std::size_t suspects_max)
    : grace_(grace), suspects_max_(suspects_max) {
  assert(grace.count() >= 0);
  assert(suspects_max > 0);
}

void ExecutionsSweep::resumeFrom(int64_t mark) {
  assert(mark >= 0);
  if (mark <= mark_) return;
  mark_ = mark;
  first_missing_.erase(first_missing_.begin(), first_missing_.upper_bound(mark_));
}

int64_t ExecutionsSweep::lookBound(int64_t applied_cursor, Clock::time_point now) {
  assert(applied_cursor >= 0);
  if (applied_cursor != cursor_seen_) {
    cursor_seen_ = applied_cursor;
    cursor_moved_at_ = now;
    return applied_cursor;
  }
  if (now - cursor_moved_at_ >= grace_) return std::numeric_limits<int64_t>::max();
  return applied_cursor;
}

std::vector<std::size_t> ExecutionsSweep::due(const std::vector<SweepItem>& page,
                                              Clock::time_point now) {
  std::vector<std::size_t> indexes;
  for (std::size_t i = 0; i < page.size(); ++i) {
    const SweepItem& item = page[i];
    // A page is in seq order, past the mark (the adapter checks what the fill receiver sent).
    assert(item.seq > (i == 0 ? mark_ : page[i - 1].seq));
    if (item.held) {
      first_missing_.erase(item.seq);
      continue;
    }
    const auto seen = first_missing_.find(item.seq);
    if (seen == first_missing_.end()) {
      if (first_missing_.size() < suspects_max_) first_missing_.emplace(item.seq, now);
      continue;
    }
    if (now - seen->second >= grace_) indexes.push_back(i);
  }
  assert(first_missing_.size() <= suspects_max_);
  return indexes;
}

int64_t ExecutionsSweep::advance(const std::vector<SweepItem>& page,
                                 const std::vector<bool>& done) {
  assert(page.size() == done.size());
  for (std::size_t i = 0; i < page.size() && done[i]; ++i) {
    assert(page[i].seq > mark_);
    mark_ = page[i].seq;
  }
  first_missing_.erase(first_missing_.begin(), first_missing_.upper_bound(mark_));
  return mark_;
}

}  // namespace fbg::ledger
