#include "common/sweep_mark.h"

#include <cassert>

namespace fbg {

int64_t markOverSettled(int64_t mark, const std::vector<int64_t>& seqs,
                        const std::vector<bool>& settled) {
  assert(seqs.size() == settled.size());
  for (std::size_t i = 0; i < seqs.size() && settled[i]; ++i) {
    assert(seqs[i] > mark);  // in seq order, past the mark
    mark = seqs[i];
  }
  return mark;
}

}  // namespace fbg
