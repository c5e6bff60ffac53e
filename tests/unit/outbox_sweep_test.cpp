// The outbox sweep's decisions (ledger_service/src/domain/outbox_sweep.h).
#include "domain/outbox_sweep.h"

#include "common/sweep_mark.h"

#include <gtest/gtest.h>

namespace fbg::ledger {
namespace {

TEST(OutboxSweep, AnEntryTheStreamHoldsIsNeverPublishedAgain) {
  EXPECT_EQ(findOutboxRow(true, "NEW", OrderStatus::PendingNew), OutboxRowFinding::InStream);
  EXPECT_EQ(findOutboxRow(true, "CANCEL", OrderStatus::PendingCancel), OutboxRowFinding::InStream);
}

TEST(OutboxSweep, AMissingEntryIsLostOnlyWhileItsOrderStillWaitsForTheGateway) {
  EXPECT_EQ(findOutboxRow(false, "NEW", OrderStatus::PendingNew), OutboxRowFinding::Lost);
  EXPECT_EQ(findOutboxRow(false, "CANCEL", OrderStatus::PendingCancel), OutboxRowFinding::Lost);
  // The gateway had them (the stream was trimmed since): the order moved on.
  for (const OrderStatus status :
       {OrderStatus::New, OrderStatus::PartiallyFilled, OrderStatus::Filled, OrderStatus::Canceled,
        OrderStatus::Rejected, OrderStatus::Unconfirmed}) {
    EXPECT_EQ(findOutboxRow(false, "NEW", status), OutboxRowFinding::TakenByGateway);
  }
  // A NEW whose order the customer has asked to cancel since: the gateway may never have had
  // it (it refused the cancel), so it is published again.
  EXPECT_EQ(findOutboxRow(false, "NEW", OrderStatus::PendingCancel), OutboxRowFinding::Lost);
  EXPECT_EQ(findOutboxRow(false, "CANCEL", OrderStatus::New), OutboxRowFinding::TakenByGateway);
  EXPECT_EQ(findOutboxRow(false, "CANCEL", OrderStatus::Canceled),
            OutboxRowFinding::TakenByGateway);
}

TEST(OutboxSweep, TheMarkMovesOverTheLeadingSettledRowsOnly) {
  EXPECT_EQ(markOverSettled(10, {11, 12, 14}, {true, true, true}), 14);
  EXPECT_EQ(markOverSettled(10, {11, 12, 14}, {true, false, true}), 11);
  EXPECT_EQ(markOverSettled(10, {11, 12}, {false, true}), 10);
  EXPECT_EQ(markOverSettled(10, {}, {}), 10);
}

}  // namespace
}  // namespace fbg::ledger
