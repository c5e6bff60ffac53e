// `ledger_service reconcile`: checks FLOW.md's invariants 2, 4 and 5 against the ledger's
// database and the fill receiver's API, settles UNCONFIRMED orders from the broker reports the
// fill receiver holds, and lists every difference. Exit status 0 only when there is none.
#pragma once

#include <string>
#include <vector>

#include "event_applier.h"

namespace fbg::ledger {

struct ReconcileSettings {
  std::string postgres_uri;
  std::string fill_receiver_host;
  int fill_receiver_port = 8081;
  int page_size = 1000;
  int64_t reports_max = 10'000'000;  // bound of the fill receiver walk
};

struct ReconcileReport {
  std::vector<std::string> differences;  // empty: every invariant holds
  int64_t reports_checked = 0;
  int64_t unconfirmed_settled = 0;
  int64_t unconfirmed_left = 0;
};

// applier: settles UNCONFIRMED orders (its dedup makes a report already applied a no-op).
[[nodiscard]] Result<ReconcileReport> reconcile(const ReconcileSettings& settings,
                                                EventApplier& applier);

}  // namespace fbg::ledger
