// The order intake's group commit (group_commit.h): the request threads that place orders at the
// same time share one read and one write of the ledger (LedgerStore::placeOrders), each order
// still under its own account's lock and guarded by its own holder's version (FLOW.md
// section 1). A thread hands its order over and waits for its outcome.
#pragma once

#include "common/metrics.h"
#include "group_commit.h"
#include "ledger_store.h"

namespace fbg::ledger {

struct OrderIntakeSettings {
  int batch_orders_max = 32;      // orders per batch at most; 1: each order alone
  int batches_in_flight_max = 2;  // batches running at once at most
};

class OrderIntake {
 public:
  OrderIntake(OrderIntakeSettings settings, LedgerStore& store, MetricsRegistry& metrics);

  // One attempt, as GuardedWriter::writeHeld expects: nullopt when the order's holder changed
  // since it was read (nothing written).
  [[nodiscard]] Attempt<OrderOutcome> tryPlace(const PlaceOrderInput& input) {
    return batches_.submit(input);
  }

 private:
  std::vector<Attempt<OrderOutcome>> runBatch(const std::vector<const PlaceOrderInput*>& batch);

  LedgerStore& store_;
  Counter& batches_total_;
  Counter& batch_orders_total_;
  GroupCommit<PlaceOrderInput, Attempt<OrderOutcome>> batches_;
};

}  // namespace fbg::ledger
