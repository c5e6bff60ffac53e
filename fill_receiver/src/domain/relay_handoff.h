// What the execution relay (execution_relay.h) publishes next: the rows the report writer has
// just committed, handed over in memory, or a read of the executions table. Pure; the relay
// keeps one under its lock, the writer offers to it after each commit.
//
// Why: a round that reads the table is a statement (with the previous rounds' marks, a write
// and a WAL flush), and with one round per stored batch that was one to two statements per
// order at 100 orders/s. Rows from memory cost none; their marks (published_at) go into the next
// table read, one every table_read_interval_ms.
//
// The table stays the truth; memory only saves reading it. So the table is read:
//   - first, after a start (rows stored and not published before it);
//   - after the handoff overflowed rows_max (the rows held are dropped: the table has them);
//   - after a publication failed or stopped short (the caller asks: requireTableRead);
//   - at least every table_read_interval_ms (the caller says when: table_read_due). This also
//     finds a row committed without being handed over: a commit whose answer was lost, which
//     the writer retries and finds a duplicate.
// Rows handed over at or below the last published seq are dropped: a table read published them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "domain/execution_report.h"

namespace fbg::fills {

enum class RelaySource { Table, Memory, Nothing };

struct RelayRound {
  RelaySource source = RelaySource::Nothing;
  std::vector<StoredExecution> rows;  // Memory: in seq order, each above the last published
};

class RelayHandoff {
 public:
  // rows_max 0: nothing is held, every round reads the table.
  explicit RelayHandoff(std::size_t rows_max) : rows_max_(rows_max) {}

  // The rows of one committed batch, in seq order.
  void offer(std::vector<StoredExecution> rows);
  void requireTableRead() { table_read_required_ = true; }
  // The next round: the table if required or due (the requirement is then cleared: the caller
  // asks again if the read was a full batch or failed), else up to `limit` held rows above
  // published_through_seq, else nothing.
  [[nodiscard]] RelayRound next(std::size_t limit, int64_t published_through_seq,
                                bool table_read_due);
  [[nodiscard]] std::size_t held() const { return rows_.size(); }

 private:
  std::size_t rows_max_;
  std::deque<StoredExecution> rows_;
  bool table_read_required_ = true;
};

}  // namespace fbg::fills
