// What the drop copy has yet to carry, kept in memory as reports are recorded, so the drop copy
// reads sim_executions only when memory may not hold every report after its carried position:
// at start, after the feed overflowed (drop copy paused or down for long), and after a record
// whose outcome is unknown. A read per recorded event was a round trip per one or two reports.
//
// Promise: pending() lists, in seq order and without gaps, the stored reports after the last
// carried() seq, as far as memory holds them; when complete(), memory holds all of them.
// The owner keeps recorded() and loaded() in the store's commit order (one lock around both).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "domain/broker_book.h"

namespace fbg::simulator {

struct StoredExecution {
  int64_t seq = 0;
  ExecutionReport report;
};

class DropCopyFeed {
 public:
  // capacity: most reports held; more and the feed lets go of them and reads the store again.
  explicit DropCopyFeed(std::size_t capacity) : capacity_(capacity) {}

  // Reports just committed, in seq order, after every report committed before them.
  void recorded(const std::vector<StoredExecution>& stored);
  // A record failed: it may or may not have committed, so memory is no longer the whole story.
  void recordFailed();
  // True when there is nothing to carry from memory and memory is not known to be complete:
  // read the store after the carried position, then pass the rows to loaded().
  [[nodiscard]] bool needsLoad() const { return !complete_ && pending_.empty(); }
  // Rows read from the store after the carried position; to_end: the read returned fewer rows
  // than it asked for, so nothing after them was committed (with no record in between).
  void loaded(std::vector<StoredExecution> rows, bool to_end);
  // The first `limit` reports to carry, in seq order.
  [[nodiscard]] std::vector<StoredExecution> pending(std::size_t limit) const;
  // Reports up to and including seq were carried.
  void carried(int64_t seq);
  [[nodiscard]] bool complete() const { return complete_; }

 private:
  std::size_t capacity_;
  std::deque<StoredExecution> pending_;
  bool complete_ = false;  // pending_ holds every stored report after the carried position
};

}  // namespace fbg::simulator
