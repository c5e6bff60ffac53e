// Row helpers of the ledger service: average cost rounding and the API JSON shapes.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <set>
#include <string>

#include "guarded_write.h"
#include "ledger_rows.h"
#include "order_account_cache.h"

namespace fbg::ledger {
namespace {

using Json = nlohmann::json;

Money money(const std::string& text) {
  return Money::parse(text).value();
}

std::set<std::string> keysOf(const Json& object) {
  std::set<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.insert(key);
  return keys;
}

// ---------------------------------------------------------------- averageCost

TEST(AverageCost, ExactDivision) {
  EXPECT_EQ(averageCost(money("1872.50"), 10), money("187.25"));
  EXPECT_EQ(averageCost(money("15000.00"), 100), money("150.00"));
  EXPECT_EQ(averageCost(money("7"), 1), money("7"));
}

TEST(AverageCost, RoundsHalfUpToFourDecimals) {
  EXPECT_EQ(averageCost(money("1.00"), 3), money("0.3333"));       // 0.33333..
  EXPECT_EQ(averageCost(money("2.00"), 3), money("0.6667"));       // 0.66666..
  EXPECT_EQ(averageCost(money("0.0001"), 2), money("0.0001"));     // 0.00005: half goes up
  EXPECT_EQ(averageCost(money("0.0003"), 2), money("0.0002"));     // 0.00015
  EXPECT_EQ(averageCost(money("0.0001"), 3), Money());             // 0.0000333
  EXPECT_EQ(averageCost(money("100.0001"), 2), money("50.0001"));  // 50.00005
  EXPECT_EQ(averageCost(money("10.00"), 7), money("1.4286"));      // 1.428571..
  EXPECT_EQ(averageCost(money("0.0005"), 10), money("0.0001"));    // 0.00005
  EXPECT_EQ(averageCost(money("0.0004"), 10), Money());            // 0.00004
}

TEST(AverageCost, NoSharesIsZero) {
  EXPECT_EQ(averageCost(money("123.45"), 0), Money());
  EXPECT_EQ(averageCost(Money(), 0), Money());
}

RC_GTEST_PROP(AverageCostProperty, MatchesExactHalfUpRounding, ()) {
  const int64_t cost_units = *rc::gen::inRange<int64_t>(0, 100'000'000'000'000);  // to 10^10 USD
  const int64_t quantity = *rc::gen::inRange<int64_t>(1, 1'000'000'001);
  // round(cost / quantity) half up, in exact integer arithmetic: floor((2 * cost + q) / (2 * q)).
  const __int128 expected =
      (static_cast<__int128>(cost_units) * 2 + quantity) / (static_cast<__int128>(quantity) * 2);
  RC_ASSERT(static_cast<__int128>(averageCost(Money::fromUnits(cost_units), quantity).units()) ==
            expected);
}

RC_GTEST_PROP(AverageCostProperty, TimesQuantityIsWithinHalfAUnitPerShare, ()) {
  const int64_t quantity = *rc::gen::inRange<int64_t>(1, 1'000'001);
  const int64_t price_units = *rc::gen::inRange<int64_t>(0, 10'000'000'000);
  // A position bought at one price averages back to that price.
  const Money cost = *Money::fromUnits(price_units).times(quantity);
  RC_ASSERT(averageCost(cost, quantity).units() == price_units);
}

// ---------------------------------------------------------------- accountJson

TEST(AccountJson, ShapeAndMoneyAsStrings) {
  AccountRow row;
  row.account_id = "ACC-1";
  row.currency = "USD";
  row.cash_balance = money("10000.00");
  row.cash_reserved = money("1872.50");
  row.version = 7;
  row.updated_at = "2026-11-24T20:31:05.123456Z";
  const Json json = accountJson(row);
  EXPECT_EQ(keysOf(json),
            (std::set<std::string>{"account_id", "currency", "cash_balance", "cash_reserved",
                                   "cash_available", "version", "updated_at"}));
  EXPECT_EQ(json["account_id"], "ACC-1");
  EXPECT_EQ(json["currency"], "USD");
  EXPECT_EQ(json["cash_balance"], "10000.00");
  EXPECT_EQ(json["cash_reserved"], "1872.50");
  EXPECT_EQ(json["cash_available"], "8127.50");
  EXPECT_TRUE(json["cash_balance"].is_string());
  EXPECT_TRUE(json["version"].is_number_integer());
  EXPECT_EQ(json["version"], 7);
  EXPECT_EQ(json["updated_at"], "2026-11-24T20:31:05.123456Z");
}

TEST(AccountJson, FullyReservedHasZeroAvailable) {
  AccountRow row;
  row.account_id = "ACC-2";
  row.currency = "USD";
  row.cash_balance = money("0.9999");
  row.cash_reserved = money("0.9999");
  const Json json = accountJson(row);
  EXPECT_EQ(json["cash_available"], "0.00");
  EXPECT_EQ(json["cash_balance"], "0.9999");
}

RC_GTEST_PROP(AccountJsonProperty, AvailableIsBalanceMinusReserved, ()) {
  const int64_t reserved = *rc::gen::inRange<int64_t>(0, 1'000'000'000'000'000);
  const int64_t available = *rc::gen::inRange<int64_t>(0, 1'000'000'000'000'000);
  AccountRow row;
  row.account_id = "ACC-P";
  row.currency = "USD";
  row.cash_balance = Money::fromUnits(reserved + available);
  row.cash_reserved = Money::fromUnits(reserved);
  const Json json = accountJson(row);
  RC_ASSERT(json["cash_available"].get<std::string>() == Money::fromUnits(available).toString());
  RC_ASSERT(Money::parse(json["cash_balance"].get<std::string>())->units() == reserved + available);
}

// ---------------------------------------------------------------- positionJson, orderJson

TEST(PositionJson, Shape) {
  PositionRow row;
  row.symbol = "AAPL";
  row.quantity = 3;
  row.quantity_reserved = 1;
  row.cost_basis = money("2.00");
  const Json json = positionJson(row);
  EXPECT_EQ(keysOf(json), (std::set<std::string>{"symbol", "quantity", "quantity_reserved",
                                                 "quantity_available", "average_cost"}));
  EXPECT_EQ(json["quantity"], 3);
  EXPECT_EQ(json["quantity_reserved"], 1);
  EXPECT_EQ(json["quantity_available"], 2);
  EXPECT_EQ(json["average_cost"], "0.6667");
}

OrderRow sampleOrder() {
  OrderRow row;
  row.order_id = "O0ABCDEFG0000001";
  row.account_id = "ACC-1";
  row.symbol = "AAPL";
  row.side = "BUY";
  row.type = "LIMIT";
  row.quantity = 10;
  row.limit_price = money("187.25");
  row.time_in_force = "DAY";
  row.broker = "SIM-A";
  row.channel = "API";
  row.status = "PENDING_NEW";
  row.reserved_amount = money("1872.50");
  row.created_at = "2026-11-24T20:31:05.123456Z";
  row.updated_at = "2026-11-24T20:31:05.123456Z";
  row.version = 1;
  row.seq = 99;
  row.request_fingerprint = "AAPL|BUY|LIMIT|10|187.25|DAY|SIM-A";
  return row;
}

TEST(OrderJson, HasExactlyTheApiFields) {
  const Json json = orderJson(sampleOrder());
  EXPECT_EQ(keysOf(json),
            (std::set<std::string>{"order_id", "account_id", "symbol", "side", "type", "quantity",
                                   "limit_price", "time_in_force", "broker", "channel", "status",
                                   "filled_quantity", "average_fill_price", "reserved_amount",
                                   "reject_reason", "created_at", "updated_at", "version"}));
  EXPECT_EQ(json["limit_price"], "187.25");
  EXPECT_EQ(json["reserved_amount"], "1872.50");
  EXPECT_EQ(json["quantity"], 10);
  EXPECT_EQ(json["filled_quantity"], 0);
  EXPECT_TRUE(json["average_fill_price"].is_null());
  EXPECT_TRUE(json["reject_reason"].is_null());
  EXPECT_EQ(json["status"], "PENDING_NEW");
  EXPECT_EQ(json["version"], 1);
}

TEST(OrderJson, OptionalFieldsWhenPresent) {
  OrderRow row = sampleOrder();
  row.type = "MARKET";
  row.side = "SELL";
  row.limit_price.reset();
  row.status = "REJECTED";
  row.filled_quantity = 4;
  row.average_fill_price = money("187.1234");
  row.reject_reason = "unknown symbol";
  row.reserved_amount = Money();
  const Json json = orderJson(row);
  EXPECT_TRUE(json["limit_price"].is_null());
  EXPECT_EQ(json["average_fill_price"], "187.1234");
  EXPECT_EQ(json["reject_reason"], "unknown symbol");
  EXPECT_EQ(json["filled_quantity"], 4);
  EXPECT_EQ(json["reserved_amount"], "0.00");
}

}  // namespace
}  // namespace fbg::ledger

TEST(OrderAccountCache, RemembersUpToItsBoundAndForgetsTheOldestFirst) {
  fbg::ledger::OrderAccountCache cache(3);
  EXPECT_FALSE(cache.find("O-1").has_value());
  cache.remember("O-1", "ACC-1");
  cache.remember("O-2", "ACC-2");
  cache.remember("O-1", "ACC-1");  // again: no second entry
  cache.remember("O-3", "ACC-1");
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.find("O-2"), "ACC-2");
  cache.remember("O-4", "ACC-4");  // past the bound: O-1, remembered first, goes
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.find("O-1").has_value());
  EXPECT_EQ(cache.find("O-3"), "ACC-1");
  EXPECT_EQ(cache.find("O-4"), "ACC-4");
}

// Without Redis the account lock is skipped, and two writers of one account can deadlock in
// PostgreSQL. The server's rollback must be retried like a version conflict, not end the process.
TEST(GuardedWriter, ADeadlockTheServerRolledBackIsRetriedLikeAVersionConflict) {
  fbg::MetricsRegistry metrics;
  fbg::RedisPool redis({"127.0.0.1", 1, 100, 1, 100, 60000});  // nothing listens on port 1
  fbg::ledger::AccountLocks locks(redis, {}, metrics);
  fbg::ledger::GuardedWriter writer(locks, 3, metrics);
  int calls = 0;
  const auto written = writer.write<int>("ACC-1", [&]() -> fbg::ledger::Attempt<int> {
    if (++calls == 1) throw pqxx::deadlock_detected("ERROR:  deadlock detected");
    return std::optional<int>(7);
  });
  ASSERT_TRUE(written);
  EXPECT_EQ(*written, 7);
  EXPECT_EQ(calls, 2);
  // Every attempt rolled back: ACCOUNT_BUSY after the retries, as for version conflicts.
  const auto busy = writer.write<int>("ACC-1", []() -> fbg::ledger::Attempt<int> {
    throw pqxx::serialization_failure("ERROR:  could not serialize access");
  });
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code, fbg::ErrorCode::AccountBusy);
  // Anything else is not ours to retry.
  EXPECT_THROW((void)writer.write<int>("ACC-1",
                                       []() -> fbg::ledger::Attempt<int> {
                                         throw pqxx::unique_violation("ERROR:  duplicate key");
                                       }),
               pqxx::unique_violation);
}
