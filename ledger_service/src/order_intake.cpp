#include "order_intake.h"

namespace fbg::ledger {

OrderIntake::OrderIntake(OrderIntakeSettings settings, LedgerStore& store, MetricsRegistry& metrics)
    : store_(store),
      batches_total_(metrics.counter("ledger_intake_batches_total",
                                     "Batches of orders placed together (one read, one write).")),
      batch_orders_total_(metrics.counter("ledger_intake_batch_orders_total",
                                          "Orders in those batches (over batches: the mean "
                                          "batch size).")),
      batches_(
          settings.batch_orders_max, settings.batches_in_flight_max,
          [](const PlaceOrderInput& input) { return input.account_id; },
          [this](const std::vector<const PlaceOrderInput*>& batch) { return runBatch(batch); }) {}

std::vector<Attempt<OrderOutcome>> OrderIntake::runBatch(
    const std::vector<const PlaceOrderInput*>& batch) {
  batches_total_.add();
  batch_orders_total_.add(static_cast<int64_t>(batch.size()));
  return store_.placeOrders(batch);
}

}  // namespace fbg::ledger
