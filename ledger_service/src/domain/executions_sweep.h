// The executions sweep's decisions (FLOW.md invariant 2: every stored report applied once).
// Pure: what the fill receiver holds and what the ledger holds in; what to apply and how far the
// sweep's mark moves out.
//
// The stream and the polling path deliver reports in seq order, but not every report: Redis can
// lose an entry it acknowledged (a machine crash, appendfsync everysec; a kill -9 while a slow
// fsync holds writes back), and the fill receiver, having marked it published, never sends it
// again. The sweep walks the stored reports from its mark (below it, every report is in the
// ledger or has nothing to apply) and applies those the ledger does not hold. It does not race
// the normal paths:
// - it looks only at seqs at or below the applied cursor (the highest seq the consumers applied),
//   where a report not applied is a hole and not one still on its way; after the last report of
//   a quiet period, nothing passes the cursor, so once the cursor has not moved for a grace
//   period the sweep looks past it too;
// - readers apply batches in parallel, so a hole below the cursor can be a batch still in flight:
//   a report is applied only after it has been seen missing for a grace period (the ledger's own
//   clock; nothing compares clocks across hosts).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace fbg::ledger {

// One stored report as the sweep sees it, in seq order within a page.
struct SweepItem {
  int64_t seq = 0;
  bool held = false;  // the ledger holds it in, or holds nothing it applies to
};

class ExecutionsSweep {
 public:
  using Clock = std::chrono::steady_clock;

  // suspects_max bounds the reports remembered as missing (a page's worth is enough; past it,
  // later ones are remembered in a later round).
  ExecutionsSweep(std::chrono::milliseconds grace, std::size_t suspects_max);

  // The highest seq this round may look at: the applied cursor, or no bound once the cursor has
  // stood still for the grace period (a report after the last one delivered could be lost too).
  [[nodiscard]] int64_t lookBound(int64_t applied_cursor, Clock::time_point now);

  // For one page (seq order, each seq above the mark and at most lookBound): the indexes of the
  // reports to apply now, the missing ones first seen missing at least the grace period ago.
  // Remembers newly missing ones and forgets those now held.
  [[nodiscard]] std::vector<std::size_t> due(const std::vector<SweepItem>& page,
                                             Clock::time_point now);

  // After the due reports were applied (done[i]: item i is held now, or was applied): the mark
  // moves over the page's leading done items. Returns the new mark.
  int64_t advance(const std::vector<SweepItem>& page, const std::vector<bool>& done);

  [[nodiscard]] int64_t mark() const { return mark_; }
  // The mark as stored (at start); it only moves up.
  void resumeFrom(int64_t mark);
  [[nodiscard]] std::size_t suspects() const { return first_missing_.size(); }

 private:
  std::chrono::milliseconds grace_;
  std::size_t suspects_max_;
  int64_t mark_ = 0;
  std::map<int64_t, Clock::time_point> first_missing_;  // by seq
  int64_t cursor_seen_ = -1;
  Clock::time_point cursor_moved_at_{};
};

}  // namespace fbg::ledger
