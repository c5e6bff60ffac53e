// A sweep's mark over a batch (the outbox and event sweeps): every row at or below the mark is
// settled. Pure.
#pragma once

#include <cstdint>
#include <vector>

namespace fbg {

// Rows in seq order, each above `mark`: the mark moves over the leading settled rows.
[[nodiscard]] int64_t markOverSettled(int64_t mark, const std::vector<int64_t>& seqs,
                                      const std::vector<bool>& settled);

}  // namespace fbg
