#include "domain/relay_handoff.h"

#include <cassert>
#include <iterator>

namespace fbg::fills {

void RelayHandoff::offer(std::vector<StoredExecution> rows) {
  if (rows.empty()) return;
  if (rows_.size() + rows.size() > rows_max_) {
    rows_.clear();
    table_read_required_ = true;
    return;
  }
  assert(rows_.empty() || rows_.back().seq < rows.front().seq);
  rows_.insert(rows_.end(), std::make_move_iterator(rows.begin()),
               std::make_move_iterator(rows.end()));
  assert(rows_.size() <= rows_max_);
}

RelayRound RelayHandoff::next(std::size_t limit, int64_t published_through_seq,
                              bool table_read_due) {
  assert(limit > 0);
  if (table_read_required_ || table_read_due || rows_max_ == 0) {
    table_read_required_ = false;
    return RelayRound{RelaySource::Table, {}};
  }
  while (!rows_.empty() && rows_.front().seq <= published_through_seq) rows_.pop_front();
  if (rows_.empty()) return RelayRound{RelaySource::Nothing, {}};
  RelayRound round{RelaySource::Memory, {}};
  while (!rows_.empty() && round.rows.size() < limit) {
    round.rows.push_back(std::move(rows_.front()));
    rows_.pop_front();
  }
  assert(round.rows.front().seq > published_through_seq);
  return round;
}

}  // namespace fbg::fills
