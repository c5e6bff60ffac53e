// The simulated broker's book: one order per ClOrdID, fills on crossing prices in slices,
// cancels, status requests.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <set>

#include "domain/broker_book.h"

namespace fbg::simulator {
namespace {

Money price(const char* text) {
  return Money::parse(text).value();
}

NewOrder limitBuy(const std::string& id, int64_t quantity, const char* limit) {
  return NewOrder{id, "AAPL", Side::Buy, OrderType::Limit, quantity, price(limit)};
}

TEST(BrokerBook, NewOrderIsAcknowledged) {
  BrokerBook book(1);
  const auto reports = book.newOrder(limitBuy("C1", 10, "100.00"), false);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].exec_type, ExecType::New);
  EXPECT_EQ(reports[0].ord_status, BrokerOrderStatus::New);
  EXPECT_EQ(reports[0].leaves_qty, 10);
  EXPECT_EQ(fixCode(reports[0].exec_type), '0');
}

TEST(BrokerBook, DuplicateClOrdIdGetsOrderStatusNotASecondOrder) {
  BrokerBook book(1);
  const auto first = book.newOrder(limitBuy("C1", 10, "100.00"), false);
  const auto again = book.newOrder(limitBuy("C1", 10, "100.00"), false);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].exec_type, ExecType::OrderStatus);
  EXPECT_EQ(fixCode(again[0].exec_type), 'I');
  EXPECT_EQ(again[0].broker_order_id, first[0].broker_order_id);
  EXPECT_NE(again[0].exec_id, first[0].exec_id);
  EXPECT_EQ(book.orderCount(), 1u);
}

TEST(BrokerBook, LimitBuyFillsOnlyWhenPriceCrossesAndAtTheMarketPrice) {
  BrokerBook book(1);
  (void)book.newOrder(limitBuy("C1", 10, "100.00"), false);
  EXPECT_TRUE(book.priceMoved("AAPL", price("100.01")).empty());
  EXPECT_TRUE(book.priceMoved("MSFT", price("1.00")).empty());
  const auto fills = book.priceMoved("AAPL", price("99.50"));
  ASSERT_EQ(fills.size(), 1u);
  EXPECT_EQ(fills[0].exec_type, ExecType::Fill);
  EXPECT_EQ(fills[0].last_qty, 10);
  EXPECT_EQ(fills[0].last_px, price("99.50"));  // price improvement
  EXPECT_EQ(fills[0].cum_qty, 10);
  EXPECT_EQ(fills[0].leaves_qty, 0);
  EXPECT_EQ(fills[0].ord_status, BrokerOrderStatus::Filled);
  EXPECT_TRUE(book.priceMoved("AAPL", price("90.00")).empty());  // filled orders stay filled
}

TEST(BrokerBook, FillsInSlicesWithAveragePrice) {
  BrokerBook book(3);
  (void)book.newOrder(NewOrder{"S1", "AAPL", Side::Sell, OrderType::Market, 10, std::nullopt},
                      false);
  const auto first = book.priceMoved("AAPL", price("10.00"));
  const auto second = book.priceMoved("AAPL", price("11.00"));
  const auto third = book.priceMoved("AAPL", price("12.00"));
  ASSERT_EQ(first.size() + second.size() + third.size(), 3u);
  EXPECT_EQ(first[0].last_qty, 3);
  EXPECT_EQ(second[0].last_qty, 3);
  EXPECT_EQ(third[0].last_qty, 4);
  EXPECT_EQ(first[0].ord_status, BrokerOrderStatus::PartiallyFilled);
  EXPECT_EQ(third[0].ord_status, BrokerOrderStatus::Filled);
  EXPECT_EQ(third[0].avg_px, price("11.10"));  // (30 + 33 + 48) / 10
}

TEST(BrokerBook, RejectedOrderStillHoldsItsClOrdId) {
  BrokerBook book(1);
  const auto rejected = book.newOrder(limitBuy("R1", 5, "1.00"), true);
  EXPECT_EQ(rejected[0].exec_type, ExecType::Rejected);
  EXPECT_FALSE(rejected[0].text.empty());
  const auto again = book.newOrder(limitBuy("R1", 5, "1.00"), false);
  EXPECT_EQ(again[0].exec_type, ExecType::OrderStatus);
  EXPECT_EQ(again[0].ord_status, BrokerOrderStatus::Rejected);
}

TEST(BrokerBook, CancelLiveOrderAndRejectCancelOfFilledOrUnknown) {
  BrokerBook book(1);
  (void)book.newOrder(limitBuy("C1", 10, "100.00"), false);
  const auto canceled = book.cancel("C1", "C1-C1");
  ASSERT_FALSE(canceled.reject);
  ASSERT_EQ(canceled.reports.size(), 1u);
  EXPECT_EQ(canceled.reports[0].exec_type, ExecType::Canceled);
  EXPECT_EQ(canceled.reports[0].cl_ord_id, "C1-C1");
  EXPECT_EQ(canceled.reports[0].orig_cl_ord_id, "C1");
  EXPECT_TRUE(book.priceMoved("AAPL", price("1.00")).empty());

  (void)book.newOrder(limitBuy("C2", 10, "100.00"), false);
  (void)book.priceMoved("AAPL", price("100.00"));
  const auto too_late = book.cancel("C2", "C2-C1");
  ASSERT_TRUE(too_late.reject);
  EXPECT_EQ(too_late.reject->ord_status, BrokerOrderStatus::Filled);
  const auto unknown = book.cancel("NOPE", "NOPE-C1");
  ASSERT_TRUE(unknown.reject);
  EXPECT_EQ(unknown.reject->broker_order_id, "NONE");
}

TEST(BrokerBook, StatusRequestReportsTheOrderOrSaysItIsUnknown) {
  BrokerBook book(2);
  const auto unknown = book.statusRequest("C1", "AAPL", Side::Buy);
  EXPECT_EQ(unknown.exec_type, ExecType::OrderStatus);
  EXPECT_EQ(unknown.ord_status, BrokerOrderStatus::Rejected);
  EXPECT_EQ(unknown.ord_rej_reason, kOrdRejReasonUnknownOrder);
  EXPECT_EQ(unknown.broker_order_id, "NONE");
  (void)book.newOrder(limitBuy("C1", 10, "100.00"), false);
  (void)book.priceMoved("AAPL", price("99.00"));
  const auto status = book.statusRequest("C1", "AAPL", Side::Buy);
  EXPECT_EQ(status.exec_type, ExecType::OrderStatus);
  EXPECT_EQ(status.cum_qty, 5);
  EXPECT_EQ(status.ord_status, BrokerOrderStatus::PartiallyFilled);
  EXPECT_EQ(status.ord_rej_reason, -1);
}

// A market tick looks at the open orders only: an order leaves them when it fills, is
// canceled or was rejected, and the closed ones stay findable by ClOrdID.
TEST(BrokerBook, OnlyOpenOrdersAreWatched) {
  BrokerBook book(2);
  (void)book.newOrder(limitBuy("C1", 10, "100.00"), false);
  (void)book.newOrder(limitBuy("C2", 10, "100.00"), false);
  (void)book.newOrder(limitBuy("C3", 10, "100.00"), true);  // rejected
  (void)book.newOrder(NewOrder{"C4", "MSFT", Side::Sell, OrderType::Limit, 5, price("50.00")},
                      false);
  EXPECT_EQ(book.openOrderCount(), 3u);
  EXPECT_EQ(book.symbolsWithOpenOrders(), (std::vector<std::string>{"AAPL", "MSFT"}));
  (void)book.cancel("C2", "C2-cancel");
  EXPECT_EQ(book.openOrderCount(), 2u);
  EXPECT_EQ(book.priceMoved("AAPL", price("99.00")).size(), 1u);  // first of two slices
  EXPECT_EQ(book.openOrderCount(), 2u);
  EXPECT_EQ(book.priceMoved("AAPL", price("99.00")).size(), 1u);  // the last
  EXPECT_EQ(book.openOrderCount(), 1u);
  EXPECT_EQ(book.symbolsWithOpenOrders(), (std::vector<std::string>{"MSFT"}));
  EXPECT_TRUE(book.priceMoved("AAPL", price("90.00")).empty());
  EXPECT_EQ(book.orderCount(), 4u);
  ASSERT_NE(book.find("C1"), nullptr);
  EXPECT_EQ(book.find("C1")->status, BrokerOrderStatus::Filled);
  // A ClOrdID seen again is answered with its status and does not reopen anything.
  (void)book.newOrder(limitBuy("C1", 10, "100.00"), false);
  EXPECT_EQ(book.openOrderCount(), 1u);
}

TEST(BrokerBook, RestoredOrdersAreWatchedWhenOpen) {
  BrokerBook book(1);
  BrokerOrder open{"R1", "B1", "AAPL", Side::Buy, OrderType::Limit, 10, price("100.00")};
  BrokerOrder filled = open;
  filled.cl_ord_id = "R2";
  filled.cum_qty = 10;
  filled.status = BrokerOrderStatus::Filled;
  book.restore(open);
  book.restore(filled);
  EXPECT_EQ(book.orderCount(), 2u);
  EXPECT_EQ(book.openOrderCount(), 1u);
  const auto fills = book.priceMoved("AAPL", price("99.00"));
  ASSERT_EQ(fills.size(), 1u);
  EXPECT_EQ(fills[0].cl_ord_id, "R1");
  EXPECT_EQ(book.openOrderCount(), 0u);
}

// Whatever the prices and slices, an order never fills past its quantity, the fills add up to
// cum_qty, and exec ids never repeat.
RC_GTEST_PROP(BrokerBookProperty, CumQtyNeverExceedsQuantity, ()) {
  const int slices = *rc::gen::inRange(1, 6);
  const int64_t quantity = *rc::gen::inRange<int64_t>(1, 1000);
  BrokerBook book(slices);
  std::set<std::string> exec_ids;
  for (const auto& report : book.newOrder(limitBuy("P1", quantity, "50.00"), false)) {
    exec_ids.insert(report.exec_id);
  }
  int64_t filled = 0;
  const auto moves = *rc::gen::container<std::vector<int>>(rc::gen::inRange(4000, 6000));
  for (int cents : moves) {
    for (const auto& fill : book.priceMoved("AAPL", Money::fromUnits(cents * 100))) {
      RC_ASSERT(exec_ids.insert(fill.exec_id).second);
      filled += fill.last_qty;
      RC_ASSERT(fill.cum_qty == filled);
      RC_ASSERT(fill.cum_qty <= quantity);
    }
  }
  RC_ASSERT(book.find("P1")->cum_qty == filled);
}

}  // namespace
}  // namespace fbg::simulator
