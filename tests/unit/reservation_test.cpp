// Buying power and reservations, withdrawals, lock backoff.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <optional>
#include <string>

#include "domain/reservation.h"

namespace fbg::ledger {
namespace {

Money money(const std::string& text) {
  return Money::parse(text).value();
}

PlaceOrderRequest order(Side side, OrderType type, int64_t quantity,
                        std::optional<std::string> limit_price, std::string symbol = "AAPL") {
  PlaceOrderRequest request;
  request.symbol = std::move(symbol);
  request.side = side;
  request.type = type;
  request.quantity = quantity;
  if (limit_price) request.limit_price = money(*limit_price);
  request.broker = "SIM-A";
  return request;
}

CashBalance cash(const std::string& balance, const std::string& reserved = "0") {
  return CashBalance{money(balance), money(reserved)};
}

// ---------------------------------------------------------------- CashBalance

TEST(CashBalance, AvailableIsBalanceMinusReserved) {
  EXPECT_EQ(cash("1500.00", "500.00").available(), money("1000.00"));
  EXPECT_EQ(cash("1500.00", "1500.00").available(), Money());
  EXPECT_EQ(cash("0").available(), Money());
}

TEST(PositionBalance, AvailableIsQuantityMinusReserved) {
  EXPECT_EQ((PositionBalance{100, 20}.available()), 80);
  EXPECT_EQ((PositionBalance{5, 5}.available()), 0);
}

// ---------------------------------------------------------------- BUY LIMIT

TEST(PlanReservation, BuyLimitReservesQuantityTimesPrice) {
  const auto plan = planReservation(order(Side::Buy, OrderType::Limit, 10, "187.25"),
                                    cash("5000.00"), std::nullopt);
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_EQ(plan->cash, money("1872.50"));
  EXPECT_EQ(plan->shares, 0);
}

TEST(PlanReservation, BuyLimitBelowOneDollarKeepsFourDecimals) {
  const auto plan =
      planReservation(order(Side::Buy, OrderType::Limit, 3, "0.3333"), cash("1.00"), std::nullopt);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->cash, money("0.9999"));
}

TEST(PlanReservation, BuyLimitMayUseExactlyAllAvailableCash) {
  const auto plan = planReservation(order(Side::Buy, OrderType::Limit, 10, "187.25"),
                                    cash("2000.00", "127.50"), std::nullopt);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->cash, money("1872.50"));
}

TEST(PlanReservation, BuyLimitIgnoresAnyPosition) {
  const auto plan = planReservation(order(Side::Buy, OrderType::Limit, 1, "10.00"), cash("10.00"),
                                    PositionBalance{0, 0});
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->cash, money("10.00"));
}

TEST(PlanReservation, InsufficientFundsSaysWhatIsNeededAndAvailable) {
  const auto plan = planReservation(order(Side::Buy, OrderType::Limit, 10, "187.25"),
                                    cash("1500.00", "500.00"), std::nullopt);
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.error().code, ErrorCode::InsufficientFunds);
  EXPECT_EQ(plan.error().message, "needs 1872.50 USD, 1000.00 available");
}

TEST(PlanReservation, OneUnitShortIsInsufficient) {
  const auto plan = planReservation(order(Side::Buy, OrderType::Limit, 10, "187.25"),
                                    cash("1872.4999"), std::nullopt);
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.error().code, ErrorCode::InsufficientFunds);
  EXPECT_EQ(plan.error().message, "needs 1872.50 USD, 1872.4999 available");
}

// ---------------------------------------------------------------- SELL

TEST(PlanReservation, SellReservesShares) {
  for (OrderType type : {OrderType::Limit, OrderType::Market}) {
    const auto plan = planReservation(
        order(Side::Sell, type, 80,
              type == OrderType::Limit ? std::optional<std::string>("190.00") : std::nullopt),
        cash("0"), PositionBalance{100, 20});
    ASSERT_TRUE(plan.has_value()) << plan.error().message;
    EXPECT_EQ(plan->shares, 80);
    EXPECT_TRUE(plan->cash.isZero());
  }
}

TEST(PlanReservation, InsufficientPositionSaysWhatIsNeededAndAvailable) {
  const auto plan = planReservation(order(Side::Sell, OrderType::Limit, 81, "190.00"),
                                    cash("1000000.00"), PositionBalance{100, 20});
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.error().code, ErrorCode::InsufficientPosition);
  EXPECT_EQ(plan.error().message, "needs 81 AAPL, 80 available");
}

TEST(PlanReservation, SellWithoutAPositionRowHasNothingAvailable) {
  const auto plan = planReservation(order(Side::Sell, OrderType::Market, 10, std::nullopt, "MSFT"),
                                    cash("1000.00"), std::nullopt);
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.error().code, ErrorCode::InsufficientPosition);
  EXPECT_EQ(plan.error().message, "needs 10 MSFT, 0 available");
  EXPECT_EQ(errorHttpStatus(plan.error().code), 422);
}

RC_GTEST_PROP(PlanReservationProperty, BuySucceedsExactlyWhenAvailableCoversTheNotional, ()) {
  const int64_t quantity = *rc::gen::inRange<int64_t>(1, 1'000'001);
  const int64_t price_cents = *rc::gen::inRange<int64_t>(1, 100'000);
  const int64_t reserved_units = *rc::gen::inRange<int64_t>(0, 10'000'000'000);
  const int64_t available_units = *rc::gen::inRange<int64_t>(0, 20'000'000'000'000);
  PlaceOrderRequest request = order(Side::Buy, OrderType::Limit, quantity, std::nullopt);
  request.limit_price = Money::fromUnits(price_cents * 100);
  const CashBalance balance{Money::fromUnits(available_units + reserved_units),
                            Money::fromUnits(reserved_units)};
  const int64_t needed = quantity * price_cents * 100;
  const auto plan = planReservation(request, balance, PositionBalance{1'000'000, 0});
  RC_ASSERT(plan.has_value() == (available_units >= needed));
  if (plan) {
    RC_ASSERT(plan->cash.units() == needed);
    RC_ASSERT(plan->shares == 0);
  } else {
    RC_ASSERT(plan.error().code == ErrorCode::InsufficientFunds);
    RC_ASSERT(plan.error().message == "needs " + Money::fromUnits(needed).toString() + " USD, " +
                                          Money::fromUnits(available_units).toString() +
                                          " available");
  }
}

RC_GTEST_PROP(PlanReservationProperty, SellSucceedsExactlyWhenAvailableSharesCover, ()) {
  const int64_t quantity = *rc::gen::inRange<int64_t>(1, 1'000'001);
  const int64_t held = *rc::gen::inRange<int64_t>(0, 2'000'000);
  const int64_t reserved = *rc::gen::inRange<int64_t>(0, held + 1);
  const auto plan = planReservation(order(Side::Sell, OrderType::Market, quantity, std::nullopt),
                                    cash("0"), PositionBalance{held, reserved});
  RC_ASSERT(plan.has_value() == (held - reserved >= quantity));
  if (plan) {
    RC_ASSERT(plan->shares == quantity);
    RC_ASSERT(plan->cash.isZero());
  } else {
    RC_ASSERT(plan.error().code == ErrorCode::InsufficientPosition);
  }
}

// ---------------------------------------------------------------- withdrawals

TEST(CheckWithdrawal, UpToCashAvailable) {
  EXPECT_TRUE(checkWithdrawal(money("50.00"), cash("100.00", "50.00")).has_value());
  EXPECT_TRUE(checkWithdrawal(money("0.01"), cash("0.01")).has_value());
  const auto refused = checkWithdrawal(money("50.00"), cash("100.00", "50.01"));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::InsufficientFunds);
  EXPECT_EQ(refused.error().message, "needs 50.00 USD, 49.99 available");
}

TEST(CheckWithdrawal, ReservedCashIsNotWithdrawable) {
  const auto refused = checkWithdrawal(money("1.00"), cash("1000.00", "1000.00"));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().message, "needs 1.00 USD, 0.00 available");
}

// ---------------------------------------------------------------- lock backoff

constexpr double kAlmostOne = 0.9999999999;

TEST(LockBackoff, FirstAttemptSleepsTheMinimum) {
  EXPECT_EQ(lockBackoffMs(0, 5, 100, 0.0), 5);
  EXPECT_EQ(lockBackoffMs(0, 5, 100, kAlmostOne), 5);
}

TEST(LockBackoff, WindowDoublesPerAttemptUpToTheMaximum) {
  // attempt n: uniform over [min, min(max, min * 2^n)]
  EXPECT_EQ(lockBackoffMs(1, 5, 100, kAlmostOne), 10);
  EXPECT_EQ(lockBackoffMs(2, 5, 100, kAlmostOne), 20);
  EXPECT_EQ(lockBackoffMs(3, 5, 100, kAlmostOne), 40);
  EXPECT_EQ(lockBackoffMs(4, 5, 100, kAlmostOne), 80);
  EXPECT_EQ(lockBackoffMs(5, 5, 100, kAlmostOne), 100);
  EXPECT_EQ(lockBackoffMs(50, 5, 100, kAlmostOne), 100);
  EXPECT_EQ(lockBackoffMs(1'000'000, 1, 20, kAlmostOne), 20);
  EXPECT_EQ(lockBackoffMs(1'000'000, 1, 20, 0.0), 1);
}

TEST(LockBackoff, RandomUnitSpreadsOverTheWindow) {
  // attempt 3 with min 1: window [1, 8], 8 values.
  EXPECT_EQ(lockBackoffMs(3, 1, 100, 0.0), 1);
  EXPECT_EQ(lockBackoffMs(3, 1, 100, 0.124), 1);
  EXPECT_EQ(lockBackoffMs(3, 1, 100, 0.125), 2);
  EXPECT_EQ(lockBackoffMs(3, 1, 100, 0.5), 5);
  EXPECT_EQ(lockBackoffMs(3, 1, 100, 0.875), 8);
}

TEST(LockBackoff, MinEqualToMaxIsConstant) {
  for (int attempt = 0; attempt < 30; ++attempt) {
    EXPECT_EQ(lockBackoffMs(attempt, 7, 7, 0.5), 7);
  }
}

RC_GTEST_PROP(LockBackoffProperty, StaysWithinMinAndMax, ()) {
  const int attempt = *rc::gen::inRange(0, 10'000);
  const int64_t min = *rc::gen::inRange<int64_t>(1, 1001);
  const int64_t max = *rc::gen::inRange<int64_t>(min, 10'001);
  const double unit = *rc::gen::map(rc::gen::inRange<int64_t>(0, 1'000'000),
                                    [](int64_t n) { return static_cast<double>(n) / 1e6; });
  const int64_t sleep = lockBackoffMs(attempt, min, max, unit);
  RC_ASSERT(sleep >= min);
  RC_ASSERT(sleep <= max);
}

RC_GTEST_PROP(LockBackoffProperty, WindowGrowsWithAttempt, ()) {
  const int attempt = *rc::gen::inRange(0, 64);
  const int64_t min = *rc::gen::inRange<int64_t>(1, 1001);
  const int64_t max = *rc::gen::inRange<int64_t>(min, 10'001);
  const double unit = *rc::gen::map(rc::gen::inRange<int64_t>(0, 1'000'000),
                                    [](int64_t n) { return static_cast<double>(n) / 1e6; });
  // For the same random draw, a later attempt never sleeps less ...
  RC_ASSERT(lockBackoffMs(attempt + 1, min, max, unit) >= lockBackoffMs(attempt, min, max, unit));
  // ... and the top of the window is min * 2^attempt, capped at max.
  const double top =
      std::min(static_cast<double>(max), std::ldexp(static_cast<double>(min), attempt));
  RC_ASSERT(lockBackoffMs(attempt, min, max, kAlmostOne) == static_cast<int64_t>(top));
}

}  // namespace
}  // namespace fbg::ledger
