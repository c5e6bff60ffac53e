// The ledger's pure apply logic: fills, releases and statuses from broker events, in any order.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>

#include "domain/order_apply.h"

namespace fbg::ledger {
namespace {

Money money(const char* text) {
  return *Money::parse(text);
}

struct Rows {
  OrderState order;
  CashState cash;
  PositionState position;
};

// A BUY LIMIT 10 @ 100.00 placed from 5,000.00: 1,000.00 reserved.
Rows buy() {
  OrderState order{OrderStatus::PendingNew, Side::Buy, "AAPL", 10, money("100.00"), 0, Money(),
                   money("1000.00"),        0};
  return {order, {money("5000.00"), money("1000.00")}, {}};
}

// A SELL 10 of 20 held at 50.00 each: 10 shares reserved.
Rows sell() {
  OrderState order{OrderStatus::New, Side::Sell, "AAPL", 10, money("90.00"), 0,
                   Money(),          Money(),    10};
  return {order, {money("0.00"), Money()}, {20, 10, money("1000.00")}};
}

Rows apply(const Rows& rows, const BrokerEvent& event) {
  const Applied out = applyBrokerEvent(rows.order, rows.cash, rows.position, event);
  return {out.order, out.cash, out.position};
}

BrokerEvent fillOf(int64_t quantity, const char* price) {
  return {BrokerEventKind::Fill, quantity, money(price), -1, ""};
}

Money journalSum(const std::vector<JournalLine>& lines, const std::string& asset) {
  Money total;
  for (const auto& line : lines) {
    if (line.asset == asset) total = *total.plus(line.amount);
  }
  return total;
}

TEST(OrderApply, BuyFillSpendsThePriceAndReturnsTheImprovement) {
  const Rows rows = buy();
  const Applied out = applyBrokerEvent(rows.order, rows.cash, rows.position, fillOf(4, "99.50"));
  EXPECT_EQ(out.order.status, OrderStatus::PartiallyFilled);
  EXPECT_EQ(out.order.reserved_amount, money("600.00"));
  EXPECT_EQ(out.cash.reserved, money("600.00"));
  EXPECT_EQ(out.cash.balance, money("4602.00"));  // 5000 - 4 x 99.50
  EXPECT_EQ(out.position.quantity, 4);
  EXPECT_EQ(out.position.cost_basis, money("398.00"));
  EXPECT_TRUE(journalSum(out.journal, "USD").isZero());
  EXPECT_TRUE(journalSum(out.journal, "AAPL").isZero());
}

TEST(OrderApply, CancelReleasesTheRestButKeepsWhatOutstandingFillsNeed) {
  Rows rows = apply(buy(), fillOf(4, "100.00"));
  const Applied canceled = applyBrokerEvent(rows.order, rows.cash, rows.position,
                                            {BrokerEventKind::Canceled, 0, Money(), 6, ""});
  EXPECT_EQ(canceled.order.status, OrderStatus::Canceled);
  EXPECT_EQ(canceled.order.reserved_amount, money("200.00"));  // 2 more shares on their way
  EXPECT_EQ(canceled.journal_kind, "RELEASE");
  rows = apply({canceled.order, canceled.cash, canceled.position}, fillOf(2, "100.00"));
  EXPECT_EQ(rows.order.status, OrderStatus::Canceled);
  EXPECT_EQ(rows.order.filled_quantity, 6);
  EXPECT_TRUE(rows.order.reserved_amount.isZero());
  EXPECT_TRUE(rows.cash.reserved.isZero());
}

// A cancel settled before a resent NewOrderSingle reached the broker, which then filled it all:
// the fills are booked from available cash and the order ends FILLED, as the broker has it.
TEST(OrderApply, FillsCoveringTheOrderAfterACancelEndItFilled) {
  const Applied canceled = applyBrokerEvent(buy().order, buy().cash, buy().position,
                                            {BrokerEventKind::Canceled, 0, Money(), 0, ""});
  ASSERT_EQ(canceled.order.status, OrderStatus::Canceled);
  ASSERT_TRUE(canceled.order.reserved_amount.isZero());
  Rows rows = apply({canceled.order, canceled.cash, canceled.position}, fillOf(4, "100.00"));
  EXPECT_EQ(rows.order.status, OrderStatus::Canceled);  // not all of it yet
  rows = apply(rows, fillOf(6, "100.00"));
  EXPECT_EQ(rows.order.status, OrderStatus::Filled);
  EXPECT_EQ(rows.order.filled_quantity, 10);
  EXPECT_EQ(rows.cash.balance, money("4000.00"));  // 5000 - 10 x 100.00
  EXPECT_TRUE(rows.cash.reserved.isZero());
}
TEST(OrderApply, SellFillReleasesSharesAndBooksProceedsAtAverageCost) {
  const Rows out = apply(sell(), fillOf(10, "90.00"));
  EXPECT_EQ(out.order.status, OrderStatus::Filled);
  EXPECT_EQ(out.position.quantity, 10);
  EXPECT_EQ(out.position.quantity_reserved, 0);
  EXPECT_EQ(out.position.cost_basis, money("500.00"));
  EXPECT_EQ(out.cash.balance, money("900.00"));
}

TEST(OrderApply, OverfillIsRecordedNotBooked) {
  const Rows rows = apply(buy(), fillOf(10, "100.00"));
  const Applied out = applyBrokerEvent(rows.order, rows.cash, rows.position, fillOf(1, "100.00"));
  EXPECT_TRUE(out.overfill);
  EXPECT_FALSE(out.changed);
  EXPECT_TRUE(out.journal.empty());
  EXPECT_EQ(out.order.filled_quantity, 10);
}

TEST(OrderApply, StatusNeverMovesBack) {
  Rows rows = apply(buy(), fillOf(3, "100.00"));
  rows = apply(rows, {BrokerEventKind::Acked, 0, Money(), -1, ""});
  EXPECT_EQ(rows.order.status, OrderStatus::PartiallyFilled);
  rows = apply(rows, {BrokerEventKind::Unconfirmed, 0, Money(), -1, ""});
  EXPECT_EQ(rows.order.status, OrderStatus::PartiallyFilled);
  const Rows rejected = apply(buy(), {BrokerEventKind::Rejected, 0, Money(), -1, "no"});
  EXPECT_EQ(rejected.order.status, OrderStatus::Rejected);
  EXPECT_TRUE(rejected.cash.reserved.isZero());
  EXPECT_EQ(apply(rejected, {BrokerEventKind::Acked, 0, Money(), -1, ""}).order.status,
            OrderStatus::Rejected);
}

// DELETE before the broker's answer, then the broker rejects the order: REJECTED, everything
// released; the cancel's rejection that follows changes nothing.
TEST(OrderApply, BrokerRejectWhileCancelPendingEndsTheOrder) {
  Rows rows = buy();
  rows.order.status = OrderStatus::PendingCancel;
  rows = apply(rows, {BrokerEventKind::Rejected, 0, Money(), -1, "rejected"});
  EXPECT_EQ(rows.order.status, OrderStatus::Rejected);
  EXPECT_TRUE(rows.order.reserved_amount.isZero());
  EXPECT_TRUE(rows.cash.reserved.isZero());
  rows = apply(rows, {BrokerEventKind::CancelRejected, 0, Money(), -1, "order is REJECTED"});
  EXPECT_EQ(rows.order.status, OrderStatus::Rejected);
}

// The same two events the other way round (scripts/chaos: orders O2S26SYT800000GT and
// O2S26SZ3B00000HA stayed NEW with their reservations held).
TEST(OrderApply, BrokerRejectAfterTheRejectedCancelEndsTheOrder) {
  Rows rows = buy();
  rows.order.status = OrderStatus::PendingCancel;
  rows = apply(rows, {BrokerEventKind::CancelRejected, 0, Money(), -1, "order is REJECTED"});
  EXPECT_EQ(rows.order.status, OrderStatus::New);
  rows = apply(rows, {BrokerEventKind::Rejected, 0, Money(), -1, "rejected"});
  EXPECT_EQ(rows.order.status, OrderStatus::Rejected);
  EXPECT_TRUE(rows.order.reserved_amount.isZero());
  EXPECT_TRUE(rows.cash.reserved.isZero());
}

// Random broker histories of one order: the final rows do not depend on the order in which the
// events arrive or on repeated non-fill events, and the balances stay consistent.
RC_GTEST_PROP(OrderApplyProperty, AnyArrivalOrderReachesTheSameRows, ()) {
  const bool is_buy = *rc::gen::arbitrary<bool>();
  Rows start = is_buy ? buy() : sell();
  const int64_t quantity = start.order.quantity;
  std::vector<BrokerEvent> events;
  int64_t filled = 0;
  const int fills = *rc::gen::inRange(0, 5);
  for (int i = 0; i < fills && filled < quantity; ++i) {
    const int64_t q = *rc::gen::inRange<int64_t>(1, quantity - filled + 1);
    const int64_t cents = *rc::gen::inRange<int64_t>(9000, 10001);  // at or under the limit
    events.push_back({BrokerEventKind::Fill, q, Money::fromUnits(cents * 100), -1, ""});
    filled += q;
  }
  events.push_back({BrokerEventKind::Acked, 0, Money(), -1, ""});
  const int ending = *rc::gen::inRange(0, 4);  // none, canceled, expired, unconfirmed
  if (filled < quantity && ending == 1)
    events.push_back({BrokerEventKind::Canceled, 0, {}, filled});
  if (filled < quantity && ending == 2) events.push_back({BrokerEventKind::Expired, 0, {}, filled});
  if (ending == 3) events.push_back({BrokerEventKind::Unconfirmed, 0, Money(), -1, ""});
  // Non-fill events may come twice (both the gateway and the fill receiver report them).
  const std::size_t originals = events.size();
  for (std::size_t i = 0; i < originals; ++i) {
    if (events[i].kind != BrokerEventKind::Fill && *rc::gen::arbitrary<bool>()) {
      events.push_back(events[i]);
    }
  }
  auto run = [&](const std::vector<BrokerEvent>& order) {
    Rows rows = start;
    for (const auto& event : order) {
      const Applied out = applyBrokerEvent(rows.order, rows.cash, rows.position, event);
      RC_ASSERT(!out.overfill && !out.uncovered);
      RC_ASSERT(journalSum(out.journal, "USD").isZero());
      RC_ASSERT(journalSum(out.journal, "AAPL").isZero());
      rows = {out.order, out.cash, out.position};
      RC_ASSERT(!rows.cash.reserved.isNegative());
      RC_ASSERT(rows.cash.balance >= rows.cash.reserved);
      RC_ASSERT(rows.position.quantity_reserved <= rows.position.quantity);
    }
    return rows;
  };
  const Rows reference = run(events);
  const auto shuffled =
      *rc::gen::container<std::vector<int>>(events.size(), rc::gen::arbitrary<int>());
  std::vector<std::size_t> index(events.size());
  for (std::size_t i = 0; i < index.size(); ++i) index[i] = i;
  std::sort(index.begin(), index.end(), [&](std::size_t a, std::size_t b) {
    return shuffled[a] != shuffled[b] ? shuffled[a] < shuffled[b] : a < b;
  });
  std::vector<BrokerEvent> permuted;
  for (const std::size_t i : index) permuted.push_back(events[i]);
  const Rows other = run(permuted);
  RC_ASSERT(other.order.status == reference.order.status);
  RC_ASSERT(other.order.filled_quantity == filled);
  RC_ASSERT(other.order.reserved_amount == reference.order.reserved_amount);
  RC_ASSERT(other.order.reserved_quantity == reference.order.reserved_quantity);
  RC_ASSERT(other.cash.balance == reference.cash.balance);
  RC_ASSERT(other.cash.reserved == reference.cash.reserved);
  RC_ASSERT(other.position.quantity == reference.position.quantity);
  RC_ASSERT(other.position.cost_basis == reference.position.cost_basis);
  if (isTerminal(other.order.status)) {
    RC_ASSERT(other.order.reserved_amount.isZero() && other.order.reserved_quantity == 0);
  }
}

}  // namespace
}  // namespace fbg::ledger
