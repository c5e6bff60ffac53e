// Request validation (API.md "Orders", "Accounts"): parsePlaceOrder and friends, the bad-body
// table, and the idempotency fingerprint.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "domain/order_request.h"

namespace fbg::ledger {
namespace {

OrderLimits limits() {
  OrderLimits limits;
  limits.brokers = {"SIM-A", "SIM-B"};
  limits.default_broker = "SIM-A";
  return limits;
}

Money money(const std::string& text) {
  return Money::parse(text).value();
}

PlaceOrderRequest accepted(const std::string& body, const OrderLimits& with = limits()) {
  auto result = parsePlaceOrder(body, with);
  EXPECT_TRUE(result.has_value()) << body << " -> " << (result ? "" : result.error().message);
  return result ? *result : PlaceOrderRequest{};
}

// ---------------------------------------------------------------- accepted orders

TEST(ParsePlaceOrder, FullLimitBuy) {
  const auto request = accepted(
      R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":10,"limit_price":"187.25",)"
      R"("time_in_force":"GTC","broker":"SIM-B"})");
  EXPECT_EQ(request.symbol, "AAPL");
  EXPECT_EQ(request.side, Side::Buy);
  EXPECT_EQ(request.type, OrderType::Limit);
  EXPECT_EQ(request.quantity, 10);
  ASSERT_TRUE(request.limit_price.has_value());
  EXPECT_EQ(*request.limit_price, money("187.25"));
  EXPECT_EQ(request.time_in_force, TimeInForce::GoodTillCancel);
  EXPECT_EQ(request.broker, "SIM-B");
}

TEST(ParsePlaceOrder, DefaultsTimeInForceDayAndBrokerFromRouting) {
  const auto request = accepted(
      R"({"symbol":"MSFT","side":"SELL","type":"LIMIT","quantity":1,"limit_price":"1.00"})");
  EXPECT_EQ(request.time_in_force, TimeInForce::Day);
  EXPECT_EQ(request.broker, "SIM-A");
  EXPECT_EQ(request.side, Side::Sell);

  OrderLimits other = limits();
  other.default_broker = "SIM-B";
  EXPECT_EQ(
      accepted(R"({"symbol":"MSFT","side":"SELL","type":"MARKET","quantity":1})", other).broker,
      "SIM-B");
}

TEST(ParsePlaceOrder, NullOptionalFieldsMeanDefaults) {
  const auto request =
      accepted(R"({"symbol":"MSFT","side":"BUY","type":"LIMIT","quantity":1,"limit_price":"2.50",)"
               R"("time_in_force":null,"broker":null})");
  EXPECT_EQ(request.time_in_force, TimeInForce::Day);
  EXPECT_EQ(request.broker, "SIM-A");
}

TEST(ParsePlaceOrder, EveryTimeInForce) {
  for (const auto& [text, expected] :
       std::vector<std::pair<std::string, TimeInForce>>{{"DAY", TimeInForce::Day},
                                                        {"GTC", TimeInForce::GoodTillCancel},
                                                        {"IOC", TimeInForce::ImmediateOrCancel}}) {
    EXPECT_EQ(
        accepted(R"({"symbol":"A","side":"SELL","type":"MARKET","quantity":5,"time_in_force":")" +
                 text + R"("})")
            .time_in_force,
        expected)
        << text;
  }
}

TEST(ParsePlaceOrder, MarketSellHasNoPrice) {
  const auto request = accepted(R"({"symbol":"BRK.B","side":"SELL","type":"MARKET","quantity":3})");
  EXPECT_EQ(request.type, OrderType::Market);
  EXPECT_FALSE(request.limit_price.has_value());
  EXPECT_EQ(request.symbol, "BRK.B");
}

TEST(ParsePlaceOrder, QuantityAsIntegerString) {
  EXPECT_EQ(accepted(R"({"symbol":"A","side":"SELL","type":"MARKET","quantity":"250"})").quantity,
            250);
  EXPECT_EQ(
      accepted(R"({"symbol":"A","side":"SELL","type":"MARKET","quantity":"1000000"})").quantity,
      1'000'000);
}

TEST(ParsePlaceOrder, QuantityBoundaries) {
  EXPECT_EQ(accepted(R"({"symbol":"A","side":"SELL","type":"MARKET","quantity":1})").quantity, 1);
  EXPECT_EQ(accepted(R"({"symbol":"A","side":"SELL","type":"MARKET","quantity":1000000})").quantity,
            1'000'000);
  OrderLimits small = limits();
  small.quantity_max = 100;
  EXPECT_EQ(
      accepted(R"({"symbol":"A","side":"SELL","type":"MARKET","quantity":100})", small).quantity,
      100);
  EXPECT_FALSE(
      parsePlaceOrder(R"({"symbol":"A","side":"SELL","type":"MARKET","quantity":101})", small)
          .has_value());
  EXPECT_FALSE(
      parsePlaceOrder(R"({"symbol":"A","side":"SELL","type":"MARKET","quantity":"101"})", small)
          .has_value());
}

// API.md: quantities are "JSON integers or integer strings" within 1..quantity_max. The ledger's
// order_quantity_max may be configured up to 1,000,000,000, so an 8-digit integer string in range
// must be accepted exactly like the same JSON integer.
TEST(ParsePlaceOrder, IntegerStringQuantityAcceptedUpToAConfiguredMaximumAboveSevenDigits) {
  OrderLimits large = limits();
  large.quantity_max = 100'000'000;
  large.notional_max = Money::fromWhole(1'000'000'000);
  EXPECT_EQ(accepted(R"({"symbol":"A","side":"SELL","type":"MARKET","quantity":50000000})", large)
                .quantity,
            50'000'000);
  EXPECT_EQ(accepted(R"({"symbol":"A","side":"SELL","type":"MARKET","quantity":"50000000"})", large)
                .quantity,
            50'000'000);
}

TEST(ParsePlaceOrder, PricesAtTheDecimalBoundaries) {
  const std::string head =
      R"({"symbol":"A","side":"BUY","type":"LIMIT","quantity":1,"limit_price":")";
  for (const std::string& price :
       std::vector<std::string>{"0.0001", "0.9999", "0.5", "1", "1.00", "1.01", "187.25", "187.250",
                                "187.2500", "999999.99", "0.12"}) {
    const auto request = accepted(head + price + R"("})");
    ASSERT_TRUE(request.limit_price.has_value()) << price;
    EXPECT_EQ(*request.limit_price, money(price)) << price;
  }
}

TEST(ParsePlaceOrder, NotionalMaximumIsInclusive) {
  // 10,000 x 100.00 = 1,000,000.00: exactly the default maximum.
  EXPECT_TRUE(
      parsePlaceOrder(
          R"({"symbol":"A","side":"BUY","type":"LIMIT","quantity":10000,"limit_price":"100.00"})",
          limits())
          .has_value());
  const auto over = parsePlaceOrder(
      R"({"symbol":"A","side":"BUY","type":"LIMIT","quantity":10000,"limit_price":"100.01"})",
      limits());
  ASSERT_FALSE(over.has_value());
  EXPECT_EQ(over.error().code, ErrorCode::InvalidRequest);
  EXPECT_NE(over.error().message.find("1000000.00"), std::string::npos) << over.error().message;

  OrderLimits tight = limits();
  tight.notional_max = money("50.00");
  EXPECT_TRUE(
      parsePlaceOrder(
          R"({"symbol":"A","side":"SELL","type":"LIMIT","quantity":5,"limit_price":"10.00"})",
          tight)
          .has_value());
  EXPECT_FALSE(
      parsePlaceOrder(
          R"({"symbol":"A","side":"SELL","type":"LIMIT","quantity":5,"limit_price":"10.01"})",
          tight)
          .has_value());
}

TEST(ParsePlaceOrder, MarketBuyIsUnsupportedWithAMessage) {
  const auto result =
      parsePlaceOrder(R"({"symbol":"AAPL","side":"BUY","type":"MARKET","quantity":10})", limits());
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::UnsupportedOrder);
  EXPECT_EQ(errorHttpStatus(result.error().code), 422);
  EXPECT_NE(result.error().message.find("MARKET BUY"), std::string::npos);
}

TEST(ParsePlaceOrder, UnknownFieldIsNamed) {
  const auto result = parsePlaceOrder(
      R"({"symbol":"AAPL","side":"SELL","type":"MARKET","quantity":10,"stop_price":"1.00"})",
      limits());
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().message.find("stop_price"), std::string::npos) << result.error().message;
}

// ---------------------------------------------------------------- the bad-body table

struct BadBody {
  const char* what;
  std::string body;
  ErrorCode code;
};

const std::string kSymbolSideType = R"("symbol":"AAPL","side":"BUY","type":"LIMIT")";

std::string limitBuy(const std::string& quantity, const std::string& price) {
  return "{" + kSymbolSideType + R"(,"quantity":)" + quantity + R"(,"limit_price":)" + price + "}";
}
std::string withQuantity(const std::string& quantity) {
  return limitBuy(quantity, R"("10.00")");
}
std::string withPrice(const std::string& price) {
  return limitBuy("10", price);
}
std::string withSymbol(const std::string& symbol_json) {
  return R"({"symbol":)" + symbol_json + R"(,"side":"SELL","type":"MARKET","quantity":1})";
}

const std::vector<BadBody>& badBodies() {
  static const std::vector<BadBody> table{
      // Not a JSON object at all.
      {"empty body", "", ErrorCode::InvalidRequest},
      {"whitespace body", "   ", ErrorCode::InvalidRequest},
      {"truncated JSON", R"({"symbol":"AAPL","side":)", ErrorCode::InvalidRequest},
      {"not JSON", "symbol=AAPL&side=BUY", ErrorCode::InvalidRequest},
      {"trailing comma", R"({"symbol":"AAPL","side":"SELL","type":"MARKET","quantity":1,})",
       ErrorCode::InvalidRequest},
      {"single quotes", R"({'symbol':'AAPL'})", ErrorCode::InvalidRequest},
      {"two objects", R"({"symbol":"A"}{"symbol":"B"})", ErrorCode::InvalidRequest},
      {"array body", R"([{"symbol":"AAPL","side":"SELL","type":"MARKET","quantity":1}])",
       ErrorCode::InvalidRequest},
      {"empty array body", "[]", ErrorCode::InvalidRequest},
      {"null body", "null", ErrorCode::InvalidRequest},
      {"string body", R"("AAPL")", ErrorCode::InvalidRequest},
      {"number body", "42", ErrorCode::InvalidRequest},
      {"empty object", "{}", ErrorCode::InvalidRequest},
      {"invalid UTF-8",
       "{\"symbol\":\"A\xff\",\"side\":\"SELL\",\"type\":\"MARKET\",\"quantity\":1}",
       ErrorCode::InvalidRequest},
      // Missing and null required fields.
      {"missing symbol", R"({"side":"SELL","type":"MARKET","quantity":1})",
       ErrorCode::InvalidRequest},
      {"missing side", R"({"symbol":"AAPL","type":"MARKET","quantity":1})",
       ErrorCode::InvalidRequest},
      {"missing type", R"({"symbol":"AAPL","side":"SELL","quantity":1})",
       ErrorCode::InvalidRequest},
      {"missing quantity", R"({"symbol":"AAPL","side":"SELL","type":"MARKET"})",
       ErrorCode::InvalidRequest},
      {"LIMIT without limit_price", "{" + kSymbolSideType + R"(,"quantity":1})",
       ErrorCode::InvalidRequest},
      {"null symbol", withSymbol("null"), ErrorCode::InvalidRequest},
      {"null side", R"({"symbol":"AAPL","side":null,"type":"MARKET","quantity":1})",
       ErrorCode::InvalidRequest},
      {"null type", R"({"symbol":"AAPL","side":"SELL","type":null,"quantity":1})",
       ErrorCode::InvalidRequest},
      {"null quantity", withQuantity("null"), ErrorCode::InvalidRequest},
      {"null limit_price on LIMIT", withPrice("null"), ErrorCode::InvalidRequest},
      // Symbol.
      {"lowercase symbol", withSymbol(R"("aapl")"), ErrorCode::InvalidRequest},
      {"non-ASCII symbol", withSymbol("\"\xC3\x84PPL\""), ErrorCode::InvalidRequest},
      {"escaped non-ASCII symbol", withSymbol(R"("\u00c4PPL")"), ErrorCode::InvalidRequest},
      {"symbol with NUL", withSymbol(R"("AA\u0000PL")"), ErrorCode::InvalidRequest},
      {"symbol too long", withSymbol(R"("ABCDEFGHIJK")"), ErrorCode::InvalidRequest},
      {"empty symbol", withSymbol(R"("")"), ErrorCode::InvalidRequest},
      {"symbol with space", withSymbol(R"("AAPL ")"), ErrorCode::InvalidRequest},
      {"symbol starting with digit", withSymbol(R"("1AAPL")"), ErrorCode::InvalidRequest},
      {"symbol as number", withSymbol("123"), ErrorCode::InvalidRequest},
      {"symbol as array", withSymbol(R"(["AAPL"])"), ErrorCode::InvalidRequest},
      // Side, type, time in force, broker.
      {"lowercase side", R"({"symbol":"AAPL","side":"sell","type":"MARKET","quantity":1})",
       ErrorCode::InvalidRequest},
      {"unknown side", R"({"symbol":"AAPL","side":"SHORT","type":"MARKET","quantity":1})",
       ErrorCode::InvalidRequest},
      {"side as number", R"({"symbol":"AAPL","side":1,"type":"MARKET","quantity":1})",
       ErrorCode::InvalidRequest},
      {"unknown type", R"({"symbol":"AAPL","side":"SELL","type":"STOP","quantity":1})",
       ErrorCode::InvalidRequest},
      {"unknown time_in_force",
       R"({"symbol":"AAPL","side":"SELL","type":"MARKET","quantity":1,"time_in_force":"FOK"})",
       ErrorCode::InvalidRequest},
      {"time_in_force as number",
       R"({"symbol":"AAPL","side":"SELL","type":"MARKET","quantity":1,"time_in_force":0})",
       ErrorCode::InvalidRequest},
      {"unknown broker",
       R"({"symbol":"AAPL","side":"SELL","type":"MARKET","quantity":1,"broker":"SIM-C"})",
       ErrorCode::InvalidRequest},
      {"lowercase broker",
       R"({"symbol":"AAPL","side":"SELL","type":"MARKET","quantity":1,"broker":"sim-a"})",
       ErrorCode::InvalidRequest},
      {"broker as number",
       R"({"symbol":"AAPL","side":"SELL","type":"MARKET","quantity":1,"broker":7})",
       ErrorCode::InvalidRequest},
      // Quantity.
      {"zero quantity", withQuantity("0"), ErrorCode::InvalidRequest},
      {"negative quantity", withQuantity("-5"), ErrorCode::InvalidRequest},
      {"negative zero quantity", withQuantity("-0"), ErrorCode::InvalidRequest},
      {"float quantity", withQuantity("10.5"), ErrorCode::InvalidRequest},
      {"integral float quantity", withQuantity("10.0"), ErrorCode::InvalidRequest},
      {"exponent quantity", withQuantity("1e2"), ErrorCode::InvalidRequest},
      {"quantity over maximum", withQuantity("1000001"), ErrorCode::InvalidRequest},
      {"quantity beyond uint64", withQuantity("99999999999999999999"), ErrorCode::InvalidRequest},
      {"quantity 1e400", withQuantity("1e400"), ErrorCode::InvalidRequest},
      {"quantity uint64 max", withQuantity("18446744073709551615"), ErrorCode::InvalidRequest},
      {"quantity int64 max + 1", withQuantity("9223372036854775808"), ErrorCode::InvalidRequest},
      {"quantity int64 min", withQuantity("-9223372036854775808"), ErrorCode::InvalidRequest},
      {"quantity as boolean", withQuantity("true"), ErrorCode::InvalidRequest},
      {"quantity as array", withQuantity("[10]"), ErrorCode::InvalidRequest},
      {"quantity as object", withQuantity(R"({"value":10})"), ErrorCode::InvalidRequest},
      {"quantity string float", withQuantity(R"("10.0")"), ErrorCode::InvalidRequest},
      {"quantity string negative", withQuantity(R"("-5")"), ErrorCode::InvalidRequest},
      {"quantity string plus", withQuantity(R"("+5")"), ErrorCode::InvalidRequest},
      {"quantity string zero", withQuantity(R"("0")"), ErrorCode::InvalidRequest},
      {"quantity string empty", withQuantity(R"("")"), ErrorCode::InvalidRequest},
      {"quantity string spaces", withQuantity(R"(" 10")"), ErrorCode::InvalidRequest},
      {"quantity string huge", withQuantity(R"("99999999999999999999")"),
       ErrorCode::InvalidRequest},
      {"quantity string over maximum", withQuantity(R"("1000001")"), ErrorCode::InvalidRequest},
      {"quantity string hex", withQuantity(R"("0x10")"), ErrorCode::InvalidRequest},
      // Limit price.
      {"price as JSON number", withPrice("10.25"), ErrorCode::InvalidRequest},
      {"price as JSON integer", withPrice("10"), ErrorCode::InvalidRequest},
      {"sub-penny price above 1.00", withPrice(R"("187.255")"), ErrorCode::InvalidRequest},
      {"sub-penny price at 1.00", withPrice(R"("1.001")"), ErrorCode::InvalidRequest},
      {"five decimals below 1.00", withPrice(R"("0.00001")"), ErrorCode::InvalidRequest},
      {"five decimals below 1.00 (2)", withPrice(R"("0.12345")"), ErrorCode::InvalidRequest},
      {"zero price", withPrice(R"("0")"), ErrorCode::InvalidRequest},
      {"zero price with decimals", withPrice(R"("0.0000")"), ErrorCode::InvalidRequest},
      {"negative price", withPrice(R"("-1.00")"), ErrorCode::InvalidRequest},
      {"exponent price", withPrice(R"("1e2")"), ErrorCode::InvalidRequest},
      {"price string 1e400", withPrice(R"("1e400")"), ErrorCode::InvalidRequest},
      {"price number 1e400", withPrice("1e400"), ErrorCode::InvalidRequest},
      {"price 20 digits", withPrice(R"("99999999999999999999")"), ErrorCode::InvalidRequest},
      {"price with comma", withPrice(R"("187,25")"), ErrorCode::InvalidRequest},
      {"price with space", withPrice(R"(" 187.25")"), ErrorCode::InvalidRequest},
      {"price with currency", withPrice(R"("$187.25")"), ErrorCode::InvalidRequest},
      {"empty price", withPrice(R"("")"), ErrorCode::InvalidRequest},
      {"price NaN", withPrice(R"("NaN")"), ErrorCode::InvalidRequest},
      {"notional over maximum", limitBuy("10000", R"("100.01")"), ErrorCode::InvalidRequest},
      {"notional overflow", limitBuy("1000000", R"("99999999999.99")"), ErrorCode::InvalidRequest},
      // Order kind.
      {"MARKET with limit_price",
       R"({"symbol":"AAPL","side":"SELL","type":"MARKET","quantity":1,"limit_price":"10.00"})",
       ErrorCode::InvalidRequest},
      {"MARKET BUY", R"({"symbol":"AAPL","side":"BUY","type":"MARKET","quantity":1})",
       ErrorCode::UnsupportedOrder},
      {"MARKET BUY with null price",
       R"({"symbol":"AAPL","side":"BUY","type":"MARKET","quantity":1,"limit_price":null})",
       ErrorCode::UnsupportedOrder},
      // Unknown fields.
      {"unknown field", R"({"symbol":"AAPL","side":"SELL","type":"MARKET","quantity":1,"extra":1})",
       ErrorCode::InvalidRequest},
      {"field name in other case",
       R"({"Symbol":"AAPL","side":"SELL","type":"MARKET","quantity":1})",
       ErrorCode::InvalidRequest},
      {"account_id in body",
       R"({"symbol":"AAPL","side":"SELL","type":"MARKET","quantity":1,"account_id":"ACC-1"})",
       ErrorCode::InvalidRequest},
      {"nested order", R"({"order":{"symbol":"AAPL","side":"SELL","type":"MARKET","quantity":1}})",
       ErrorCode::InvalidRequest},
  };
  return table;
}

TEST(ParsePlaceOrderBadBodies, TableHasAtLeastThirtyCases) {
  EXPECT_GE(badBodies().size(), 30u);
}

TEST(ParsePlaceOrderBadBodies, EachIsRefusedWithItsErrorCode) {
  for (const auto& bad : badBodies()) {
    const auto result = parsePlaceOrder(bad.body, limits());
    ASSERT_FALSE(result.has_value()) << bad.what << ": accepted " << bad.body;
    EXPECT_EQ(errorCodeName(result.error().code), std::string(errorCodeName(bad.code)))
        << bad.what << ": " << result.error().message;
    EXPECT_FALSE(result.error().message.empty()) << bad.what;
    EXPECT_LE(result.error().message.size(), 200u) << bad.what << ": " << result.error().message;
  }
}

// ---------------------------------------------------------------- validateLimitPrice

TEST(ValidateLimitPrice, DecimalRuleSwitchesAtOneDollar) {
  EXPECT_TRUE(validateLimitPrice(money("0.9999")).has_value());
  EXPECT_TRUE(validateLimitPrice(money("0.0001")).has_value());
  EXPECT_TRUE(validateLimitPrice(money("1.00")).has_value());
  EXPECT_TRUE(validateLimitPrice(money("1.99")).has_value());
  EXPECT_FALSE(validateLimitPrice(money("1.001")).has_value());
  EXPECT_FALSE(validateLimitPrice(money("1.0001")).has_value());
  EXPECT_FALSE(validateLimitPrice(money("100.125")).has_value());
  EXPECT_FALSE(validateLimitPrice(Money()).has_value());
  EXPECT_FALSE(validateLimitPrice(money("-0.01")).has_value());
  const auto refused = validateLimitPrice(money("1.001"));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::InvalidRequest);
}

// ---------------------------------------------------------------- fingerprint

TEST(Fingerprint, EquivalentSpellingsGiveTheSameFingerprint) {
  const auto base = accepted(
      R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":10,"limit_price":"187.25"})");
  for (
      const std::string& body : std::vector<std::string>{
          R"({"limit_price":"187.25","quantity":10,"type":"LIMIT","side":"BUY","symbol":"AAPL"})",
          R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":"10","limit_price":"187.25"})",
          R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":10,"limit_price":"187.2500"})",
          R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":10,"limit_price":"187.25","time_in_force":"DAY"})",
          R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":10,"limit_price":"187.25","broker":"SIM-A"})",
          R"({ "symbol" : "AAPL" , "side" : "BUY" , "type" : "LIMIT" , "quantity" : 10 , "limit_price" : "187.25" })",
      }) {
    EXPECT_EQ(accepted(body).fingerprint(), base.fingerprint()) << body;
  }
}

TEST(Fingerprint, EachFieldChangesIt) {
  const auto base = accepted(
      R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":10,"limit_price":"187.25"})");
  for (
      const std::string& body : std::vector<std::string>{
          R"({"symbol":"MSFT","side":"BUY","type":"LIMIT","quantity":10,"limit_price":"187.25"})",
          R"({"symbol":"AAPL","side":"SELL","type":"LIMIT","quantity":10,"limit_price":"187.25"})",
          R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":11,"limit_price":"187.25"})",
          R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":10,"limit_price":"187.26"})",
          R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":10,"limit_price":"187.25","time_in_force":"IOC"})",
          R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":10,"limit_price":"187.25","broker":"SIM-B"})",
      }) {
    EXPECT_NE(accepted(body).fingerprint(), base.fingerprint()) << body;
  }
  const auto limit_sell = accepted(
      R"({"symbol":"AAPL","side":"SELL","type":"LIMIT","quantity":10,"limit_price":"187.25"})");
  const auto market_sell =
      accepted(R"({"symbol":"AAPL","side":"SELL","type":"MARKET","quantity":10})");
  EXPECT_NE(limit_sell.fingerprint(), market_sell.fingerprint());
}

// A valid order, described field by field so that a property can render it in any order and
// change one field at a time.
struct OrderSpec {
  std::string symbol;
  bool buy = true;
  bool market = false;
  int64_t quantity = 1;
  int64_t price_units = 10'000;
  std::optional<std::string> time_in_force;
  std::optional<std::string> broker;
  bool quantity_as_string = false;
  bool price_trailing_zero = false;

  std::string effectiveTimeInForce() const { return time_in_force.value_or("DAY"); }
  std::string effectiveBroker() const { return broker.value_or("SIM-A"); }

  std::vector<std::string> fields() const {
    std::vector<std::string> out;
    out.push_back(R"("symbol":")" + symbol + "\"");
    out.push_back(std::string(R"("side":")") + (buy ? "BUY" : "SELL") + "\"");
    out.push_back(std::string(R"("type":")") + (market ? "MARKET" : "LIMIT") + "\"");
    out.push_back(quantity_as_string ? R"("quantity":")" + std::to_string(quantity) + "\""
                                     : R"("quantity":)" + std::to_string(quantity));
    if (!market) {
      std::string price = Money::fromUnits(price_units).toString();
      // An extra trailing zero respells the same price; Money text allows 4 decimals at most.
      if (price_trailing_zero && price.size() - price.find('.') - 1 < 4) price += "0";
      out.push_back(R"("limit_price":")" + price + "\"");
    }
    if (time_in_force) out.push_back(R"("time_in_force":")" + *time_in_force + "\"");
    if (broker) out.push_back(R"("broker":")" + *broker + "\"");
    return out;
  }
};

std::string render(const std::vector<std::string>& fields, const std::vector<std::size_t>& order) {
  std::string body = "{";
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (i > 0) body += ",";
    body += fields[order[i]];
  }
  return body + "}";
}

std::vector<std::size_t> identity(std::size_t n) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  return order;
}

rc::Gen<std::string> anySymbol() {
  return rc::gen::apply([](char first, std::string rest) { return std::string(1, first) + rest; },
                        rc::gen::inRange('A', static_cast<char>('Z' + 1)),
                        rc::gen::resize(9, rc::gen::container<std::string>(rc::gen::element(
                                               'A', 'B', 'Z', '0', '9', '.', 'Q', 'M'))));
}

rc::Gen<int64_t> anyPriceUnits() {
  return rc::gen::oneOf(rc::gen::inRange<int64_t>(1, 10'000),  // below 1.00: up to 4 decimals
                        rc::gen::map(rc::gen::inRange<int64_t>(100, 100'000),
                                     [](int64_t cents) { return cents * 100; }));  // 1.00..999.99
}

rc::Gen<std::optional<std::string>> anyOptional(std::vector<std::string> values) {
  return rc::gen::oneOf(rc::gen::just(std::optional<std::string>()),
                        rc::gen::map(rc::gen::elementOf(values), [](std::string value) {
                          return std::optional<std::string>(value);
                        }));
}

OrderSpec anyOrderSpec() {
  OrderSpec spec;
  spec.symbol = *anySymbol();
  spec.market = *rc::gen::arbitrary<bool>();
  spec.buy = spec.market ? false : *rc::gen::arbitrary<bool>();  // no MARKET BUY
  spec.quantity = *rc::gen::inRange<int64_t>(1, 1001);
  spec.price_units = *anyPriceUnits();
  spec.time_in_force = *anyOptional({"DAY", "GTC", "IOC"});
  spec.broker = *anyOptional({"SIM-A", "SIM-B"});
  spec.quantity_as_string = *rc::gen::arbitrary<bool>();
  spec.price_trailing_zero = *rc::gen::arbitrary<bool>();
  return spec;
}

std::string fingerprintOf(const std::string& body) {
  auto result = parsePlaceOrder(body, limits());
  RC_ASSERT(result.has_value());
  return result->fingerprint();
}

RC_GTEST_PROP(FingerprintProperty, FieldOrderDoesNotMatter, ()) {
  const OrderSpec spec = anyOrderSpec();
  const auto fields = spec.fields();
  auto shuffled = identity(fields.size());
  const auto keys = *rc::gen::container<std::vector<int>>(fields.size(), rc::gen::arbitrary<int>());
  std::stable_sort(shuffled.begin(), shuffled.end(),
                   [&keys](std::size_t a, std::size_t b) { return keys[a] < keys[b]; });
  RC_ASSERT(fingerprintOf(render(fields, identity(fields.size()))) ==
            fingerprintOf(render(fields, shuffled)));
}

RC_GTEST_PROP(FingerprintProperty, SpellingOfQuantityAndPriceDoesNotMatter, ()) {
  OrderSpec spec = anyOrderSpec();
  OrderSpec respelled = spec;
  respelled.quantity_as_string = !spec.quantity_as_string;
  respelled.price_trailing_zero = !spec.price_trailing_zero;
  if (!respelled.time_in_force) respelled.time_in_force = "DAY";
  if (!respelled.broker) respelled.broker = "SIM-A";
  RC_ASSERT(fingerprintOf(render(spec.fields(), identity(spec.fields().size()))) ==
            fingerprintOf(render(respelled.fields(), identity(respelled.fields().size()))));
}

RC_GTEST_PROP(FingerprintProperty, ChangingAnyFieldChangesIt, ()) {
  const OrderSpec spec = anyOrderSpec();
  OrderSpec changed = spec;
  const int field = *rc::gen::inRange(0, 7);
  switch (field) {
    case 0:
      changed.symbol = *rc::gen::distinctFrom(anySymbol(), spec.symbol);
      break;
    case 1:  // side; a MARKET SELL cannot become a MARKET BUY, so it becomes a LIMIT BUY
      changed.buy = !spec.buy;
      changed.market = false;
      break;
    case 2:  // type: LIMIT <-> MARKET, only for SELL
      changed.buy = false;
      changed.market = !spec.market;
      if (!spec.buy) break;
      changed.market = false;  // LIMIT BUY -> LIMIT SELL is still a change
      break;
    case 3:
      changed.quantity = *rc::gen::distinctFrom(rc::gen::inRange<int64_t>(1, 1001), spec.quantity);
      break;
    case 4:
      changed.market = false;
      changed.price_units = *rc::gen::distinctFrom(anyPriceUnits(), spec.price_units);
      break;
    case 5: {
      std::vector<std::string> others;
      for (const char* tif : {"DAY", "GTC", "IOC"}) {
        if (tif != spec.effectiveTimeInForce()) others.push_back(tif);
      }
      changed.time_in_force = *rc::gen::elementOf(others);
      break;
    }
    default:
      changed.broker = spec.effectiveBroker() == "SIM-A" ? "SIM-B" : "SIM-A";
      break;
  }
  RC_ASSERT(fingerprintOf(render(spec.fields(), identity(spec.fields().size()))) !=
            fingerprintOf(render(changed.fields(), identity(changed.fields().size()))));
}

// ---------------------------------------------------------------- accounts and transfers

TEST(ParseCreateAccount, AcceptsUsdAccounts) {
  auto request = parseCreateAccount(R"({"account_id":"ACC-1","currency":"USD"})");
  ASSERT_TRUE(request.has_value()) << request.error().message;
  EXPECT_EQ(request->account_id, "ACC-1");
  EXPECT_EQ(request->currency, "USD");
}

TEST(ParseCreateAccount, RefusesBadBodies) {
  for (const std::string& body : std::vector<std::string>{
           std::string(""),
           std::string("[]"),
           std::string(R"({"account_id":"ACC-1"})"),
           std::string(R"({"currency":"USD"})"),
           std::string(R"({"account_id":"ACC/1","currency":"USD"})"),
           std::string(R"({"account_id":"","currency":"USD"})"),
           R"({"account_id":")" + std::string(33, 'A') + R"(","currency":"USD"})",
           std::string(R"({"account_id":"ACC-1","currency":"EUR"})"),
           std::string(R"({"account_id":"ACC-1","currency":"usd"})"),
           std::string(R"({"account_id":1,"currency":"USD"})"),
           std::string(R"({"account_id":"ACC-1","currency":"USD","owner":"x"})"),
       }) {
    const auto result = parseCreateAccount(body);
    ASSERT_FALSE(result.has_value()) << body;
    EXPECT_EQ(result.error().code, ErrorCode::InvalidRequest) << body;
  }
}

TEST(ParseCashTransfer, AcceptsPositiveAmountsWithTwoDecimals) {
  auto request = parseCashTransfer(R"({"amount":"10000.00","reference":"dep-1"})");
  ASSERT_TRUE(request.has_value()) << request.error().message;
  EXPECT_EQ(request->amount, money("10000"));
  EXPECT_EQ(request->reference, "dep-1");
  EXPECT_EQ(request->fingerprint(), "10000.00");
  auto same = parseCashTransfer(R"({"reference":"dep-1","amount":"10000"})");
  ASSERT_TRUE(same.has_value());
  EXPECT_EQ(same->fingerprint(), request->fingerprint());
  EXPECT_TRUE(parseCashTransfer(R"({"amount":"1000000000.00","reference":"r"})").has_value());
  EXPECT_TRUE(parseCashTransfer(R"({"amount":"0.01","reference":"r"})").has_value());
}

TEST(ParseCashTransfer, RefusesBadBodies) {
  for (const std::string& body : std::vector<std::string>{
           R"({"amount":"0","reference":"r"})",
           R"({"amount":"-5.00","reference":"r"})",
           R"({"amount":"1.001","reference":"r"})",
           R"({"amount":10,"reference":"r"})",
           R"({"amount":"1000000000.01","reference":"r"})",
           R"({"amount":"10.00"})",
           R"({"amount":"10.00","reference":""})",
           R"({"amount":"10.00","reference":"a b"})",
           R"({"amount":"10.00","reference":"r","note":"x"})",
           R"({"reference":"r"})",
           R"({"amount":"-999999999999999.1616","reference":"r"})",
           R"(["10.00"])",
       }) {
    const auto result = parseCashTransfer(body);
    ASSERT_FALSE(result.has_value()) << body;
    EXPECT_EQ(result.error().code, ErrorCode::InvalidRequest) << body;
  }
}

TEST(ParseSecurityDeposit, AcceptsSharesAtACostPrice) {
  auto request = parseSecurityDeposit(
      R"({"symbol":"AAPL","quantity":100,"price":"150.00","reference":"sd-1"})", 1'000'000);
  ASSERT_TRUE(request.has_value()) << request.error().message;
  EXPECT_EQ(request->symbol, "AAPL");
  EXPECT_EQ(request->quantity, 100);
  EXPECT_EQ(request->price, money("150"));
  EXPECT_EQ(request->reference, "sd-1");
  EXPECT_EQ(request->fingerprint(), "AAPL|100|150.00");
}

TEST(ParseSecurityDeposit, RefusesBadBodies) {
  for (const std::string& body : std::vector<std::string>{
           R"({"symbol":"aapl","quantity":100,"price":"150.00","reference":"sd-1"})",
           R"({"symbol":"AAPL","quantity":0,"price":"150.00","reference":"sd-1"})",
           R"({"symbol":"AAPL","quantity":100,"price":"0","reference":"sd-1"})",
           R"({"symbol":"AAPL","quantity":100,"price":"-150.00","reference":"sd-1"})",
           R"({"symbol":"AAPL","quantity":100,"price":"150.001","reference":"sd-1"})",
           R"({"symbol":"AAPL","quantity":100,"price":150,"reference":"sd-1"})",
           R"({"symbol":"AAPL","quantity":100,"price":"150.00"})",
           R"({"symbol":"AAPL","quantity":100,"price":"150.00","reference":"sd-1","x":1})",
       }) {
    const auto result = parseSecurityDeposit(body, 1'000'000);
    ASSERT_FALSE(result.has_value()) << body;
    EXPECT_EQ(result.error().code, ErrorCode::InvalidRequest) << body;
  }
}

// A negative price must be refused. Money::parse overflows on this 15-digit text and the value
// comes out positive (844674407370956.00), which then passes validateLimitPrice.
TEST(ParseSecurityDeposit, RefusesANegativePriceThatOverflowsWhenParsed) {
  const auto result = parseSecurityDeposit(
      R"({"symbol":"AAPL","quantity":1,"price":"-999999999999999.1616","reference":"sd-1"})",
      1'000'000);
  EXPECT_FALSE(result.has_value()) << "accepted with price " << result->price.toString();
}

}  // namespace
}  // namespace fbg::ledger
