// Money: strict decimal parsing, canonical text, checked arithmetic.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <limits>
#include <regex>
#include <string>
#include <vector>

#include "common/money.h"

namespace fbg {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

Money units(int64_t value) {
  return Money::fromUnits(value);
}

Money parsed(const std::string& text) {
  auto result = Money::parse(text);
  EXPECT_TRUE(result.has_value()) << "'" << text << "' should parse";
  return result ? *result : Money();
}

bool fitsInt64(__int128 value) {
  return value >= kMin && value <= kMax;
}

// Any int64 value, with extra weight on the edges of the range and on small values.
rc::Gen<int64_t> anyUnits() {
  return rc::gen::oneOf(
      rc::gen::arbitrary<int64_t>(), rc::gen::inRange<int64_t>(kMax - 100'000, kMax),
      rc::gen::inRange<int64_t>(kMin, kMin + 100'000),
      rc::gen::inRange<int64_t>(-1'000'000, 1'000'000),
      rc::gen::elementOf(std::vector<int64_t>{kMin, kMin + 1, -1, 0, 1, kMax - 1, kMax}));
}

// ---------------------------------------------------------------- parse

TEST(MoneyParse, AcceptsPlainDecimals) {
  EXPECT_EQ(parsed("187.25").units(), 1'872'500);
  EXPECT_EQ(parsed("0.0001").units(), 1);
  EXPECT_EQ(parsed("0").units(), 0);
  EXPECT_EQ(parsed("7").units(), 70'000);
  EXPECT_EQ(parsed("7.5").units(), 75'000);
  EXPECT_EQ(parsed("1000000.00").units(), 10'000'000'000);
  EXPECT_EQ(parsed("-3").units(), -30'000);
  EXPECT_EQ(parsed("-0.0001").units(), -1);
  EXPECT_EQ(parsed("123456789012345").units(), 1'234'567'890'123'450'000);
  EXPECT_EQ(parsed("922337203685477.5807").units(), kMax);
}

TEST(MoneyParse, RefusesEverythingThatIsNotStrictDecimalText) {
  for (const std::string& text : std::vector<std::string>{
           "",     "-",     ".",       "1.",      ".5",      "-.5",
           "+1",   "+1.00", "1e3",     "1E3",     "1.0e2",   " 1",
           "1 ",   "1 .0",  "1,000",   "1,5",     "1.2.3",   "--1",
           "1-",   "0x10",  "abc",     "1.23456", "0.00001", "1234567890123456",
           "NaN",  "inf",   "-inf",    "١٢٣",     "1\n",     std::string("1\0", 2),
           "1..0", "$1.00", "1.00 USD"}) {
    const auto result = Money::parse(text);
    EXPECT_FALSE(result.has_value()) << "'" << text << "' should be refused";
    if (!result) {
      EXPECT_EQ(result.error().code, ErrorCode::InvalidRequest) << text;
      EXPECT_FALSE(result.error().message.empty());
    }
  }
}

TEST(MoneyParse, ErrorMessageQuotesTheText) {
  const auto result = Money::parse("12.34567");
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().message.find("'12.34567'"), std::string::npos) << result.error().message;
}

TEST(MoneyParse, TrailingZerosDoNotChangeTheValue) {
  EXPECT_EQ(parsed("187.2"), parsed("187.2000"));
  EXPECT_EQ(parsed("187.25"), parsed("187.250"));
  EXPECT_EQ(parsed("-0"), parsed("0"));
}

// The header promises that values outside int64 are refused, never wrapped. 15 integer digits
// reach 999,999,999,999,999 but int64 units stop at 922,337,203,685,477.5807, so the text below
// leaves the range and must be refused.
TEST(MoneyParse, RefusesFifteenDigitTextAboveTheRepresentableRange) {
  for (const std::string& text : std::vector<std::string>{
           "922337203685477.5808", "922337203685478", "999999999999999", "999999999999999.9999"}) {
    const auto result = Money::parse(text);
    EXPECT_FALSE(result.has_value()) << "'" << text << "' is above int64 units but parsed as "
                                     << (result ? result->toString() : std::string());
  }
}

TEST(MoneyParse, NegativeTextNeverParsesToAPositiveValue) {
  // -999999999999999.1616 wraps in the int64 multiplication and comes out positive
  // (844674407370956.00) when the overflow is not caught.
  for (const std::string& text :
       std::vector<std::string>{"-999999999999999.1616", "-999999999999999", "-922337203685478"}) {
    const auto result = Money::parse(text);
    EXPECT_TRUE(!result.has_value() || result->isNegative())
        << "'" << text << "' parsed as " << (result ? result->toString() : std::string());
  }
}

TEST(MoneyParse, SmallestValueRoundTrips) {
  EXPECT_EQ(units(kMin).toString(), "-922337203685477.5808");
  const auto back = Money::parse("-922337203685477.5808");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->units(), kMin);
}

// ---------------------------------------------------------------- toString / decimalsUsed

TEST(MoneyToString, CanonicalFormsOfParsedText) {
  EXPECT_EQ(parsed("1872.5").toString(), "1872.50");
  EXPECT_EQ(parsed("0.1235").toString(), "0.1235");
  EXPECT_EQ(parsed("187.2500").toString(), "187.25");
  EXPECT_EQ(parsed("5").toString(), "5.00");
  EXPECT_EQ(parsed("-0").toString(), "0.00");
  EXPECT_EQ(parsed("007.10").toString(), "7.10");
}

TEST(MoneyToString, Examples) {
  EXPECT_EQ(units(18'725'000).toString(), "1872.50");
  EXPECT_EQ(units(1'235).toString(), "0.1235");
  EXPECT_EQ(units(-30'000).toString(), "-3.00");
  EXPECT_EQ(units(0).toString(), "0.00");
  EXPECT_EQ(units(1).toString(), "0.0001");
  EXPECT_EQ(units(-1).toString(), "-0.0001");
  EXPECT_EQ(units(10).toString(), "0.001");
  EXPECT_EQ(units(100).toString(), "0.01");
  EXPECT_EQ(units(1'000).toString(), "0.10");
  EXPECT_EQ(units(10'000).toString(), "1.00");
  EXPECT_EQ(units(1'872'550).toString(), "187.255");
  EXPECT_EQ(units(kMax).toString(), "922337203685477.5807");
  EXPECT_EQ(Money::fromWhole(1'000'000).toString(), "1000000.00");
  EXPECT_EQ(Money().toString(), "0.00");
}

TEST(MoneyDecimalsUsed, CountsSignificantDecimals) {
  EXPECT_EQ(parsed("187.2500").decimalsUsed(), 2);
  EXPECT_EQ(parsed("187").decimalsUsed(), 0);
  EXPECT_EQ(parsed("187.0000").decimalsUsed(), 0);
  EXPECT_EQ(parsed("0.1").decimalsUsed(), 1);
  EXPECT_EQ(parsed("0.001").decimalsUsed(), 3);
  EXPECT_EQ(parsed("0.0001").decimalsUsed(), 4);
  EXPECT_EQ(parsed("-0.001").decimalsUsed(), 3);
  EXPECT_EQ(parsed("-5.25").decimalsUsed(), 2);
  EXPECT_EQ(units(kMin).decimalsUsed(), 4);
  EXPECT_EQ(units(kMax).decimalsUsed(), 4);
}

// ---------------------------------------------------------------- predicates, ordering

TEST(Money, PredicatesAndOrdering) {
  EXPECT_TRUE(Money().isZero());
  EXPECT_FALSE(Money().isPositive());
  EXPECT_FALSE(Money().isNegative());
  EXPECT_TRUE(units(1).isPositive());
  EXPECT_TRUE(units(-1).isNegative());
  EXPECT_LT(parsed("0.9999"), parsed("1"));
  EXPECT_GT(parsed("-0.0001"), parsed("-0.0002"));
  EXPECT_EQ(Money::fromWhole(3), parsed("3.00"));
  EXPECT_EQ(parsed("2.5").negated(), parsed("-2.5"));
  EXPECT_EQ(Money::fromUnits(42).units(), 42);
}

// ---------------------------------------------------------------- arithmetic

TEST(MoneyArithmetic, Examples) {
  EXPECT_EQ(parsed("1000.00").plus(parsed("0.01")), parsed("1000.01"));
  EXPECT_EQ(parsed("1000.00").minus(parsed("1872.50")), parsed("-872.50"));
  EXPECT_EQ(parsed("187.25").times(10), parsed("1872.50"));
  EXPECT_EQ(parsed("0.3333").times(3), parsed("0.9999"));
  EXPECT_EQ(parsed("187.25").times(0), Money());
  EXPECT_EQ(parsed("187.25").times(-2), parsed("-374.50"));
}

TEST(MoneyArithmetic, OverflowIsRefusedAtTheBoundaries) {
  EXPECT_EQ(units(kMax).plus(units(0)), units(kMax));
  EXPECT_FALSE(units(kMax).plus(units(1)).has_value());
  EXPECT_FALSE(units(kMin).plus(units(-1)).has_value());
  EXPECT_EQ(units(kMin).plus(units(kMax)), units(-1));
  EXPECT_FALSE(units(kMin).minus(units(1)).has_value());
  EXPECT_FALSE(units(0).minus(units(kMin)).has_value());
  EXPECT_EQ(units(-1).minus(units(kMin)), units(kMax));
  EXPECT_FALSE(units(kMax).times(2).has_value());
  EXPECT_FALSE(units(kMin).times(-1).has_value());
  EXPECT_EQ(units(kMax).times(-1), units(-kMax));
  EXPECT_FALSE(units(4'611'686'018'427'387'904).times(2).has_value());
  EXPECT_EQ(units(4'611'686'018'427'387'903).times(2), units(kMax - 1));
}

// ---------------------------------------------------------------- properties

RC_GTEST_PROP(MoneyProperty, ParseOfToStringIsIdentity, ()) {
  const int64_t value = *anyUnits();
  const auto text = units(value).toString();
  const auto back = Money::parse(text);
  RC_ASSERT(back.has_value());
  RC_ASSERT(back->units() == value);
}

RC_GTEST_PROP(MoneyProperty, ToStringHasTwoToFourDecimalsAndNoNeedlessZeros, ()) {
  const int64_t value = *anyUnits();
  const auto text = units(value).toString();
  static const std::regex kShape(R"(-?(0|[1-9][0-9]*)\.[0-9]{2,4})");
  RC_ASSERT(std::regex_match(text, kShape));
  const auto decimals = text.size() - text.find('.') - 1;
  if (decimals > 2) RC_ASSERT(text.back() != '0');
  RC_ASSERT(static_cast<int>(decimals) == std::max(2, units(value).decimalsUsed()));
  RC_ASSERT((text.front() == '-') == (value < 0));
}

RC_GTEST_PROP(MoneyProperty, ParseAgreesWithExactDecimalValueInRange, ()) {
  const bool negative = *rc::gen::arbitrary<bool>();
  const auto integer_digits = *rc::gen::inRange<std::size_t>(1, 15);  // up to 14: always in range
  const auto decimals = *rc::gen::inRange<std::size_t>(0, 5);
  std::string whole = *rc::gen::container<std::string>(integer_digits, rc::gen::inRange('0', ':'));
  std::string fraction = *rc::gen::container<std::string>(decimals, rc::gen::inRange('0', ':'));
  __int128 exact = 0;
  for (char c : whole) exact = exact * 10 + (c - '0');
  std::string padded = fraction;
  padded.resize(4, '0');
  for (char c : padded) exact = exact * 10 + (c - '0');
  if (negative) exact = -exact;
  const std::string text =
      std::string(negative ? "-" : "") + whole + (decimals > 0 ? "." + fraction : std::string());
  const auto result = Money::parse(text);
  RC_ASSERT(result.has_value());
  RC_ASSERT(static_cast<__int128>(result->units()) == exact);
}

// Fifteen-digit texts above 922337203685477 cannot be represented; they must be refused.
RC_GTEST_PROP(MoneyProperty, FifteenDigitTextBeyondInt64IsRefused, ()) {
  const int64_t whole = *rc::gen::inRange<int64_t>(922'337'203'685'478, 1'000'000'000'000'000);
  const bool negative = *rc::gen::arbitrary<bool>();
  const std::string text = (negative ? "-" : "") + std::to_string(whole);
  const auto result = Money::parse(text);
  RC_ASSERT_FALSE(result.has_value());
}

RC_GTEST_PROP(MoneyProperty, PlusOverflowsExactlyWhenInt128SumLeavesInt64, ()) {
  const int64_t a = *anyUnits();
  const int64_t b = *anyUnits();
  const __int128 exact = static_cast<__int128>(a) + b;
  const auto sum = units(a).plus(units(b));
  RC_ASSERT(sum.has_value() == fitsInt64(exact));
  if (sum) RC_ASSERT(static_cast<__int128>(sum->units()) == exact);
}

RC_GTEST_PROP(MoneyProperty, MinusOverflowsExactlyWhenInt128DifferenceLeavesInt64, ()) {
  const int64_t a = *anyUnits();
  const int64_t b = *anyUnits();
  const __int128 exact = static_cast<__int128>(a) - b;
  const auto difference = units(a).minus(units(b));
  RC_ASSERT(difference.has_value() == fitsInt64(exact));
  if (difference) RC_ASSERT(static_cast<__int128>(difference->units()) == exact);
}

RC_GTEST_PROP(MoneyProperty, TimesOverflowsExactlyWhenInt128ProductLeavesInt64, ()) {
  const int64_t a = *anyUnits();
  const int64_t quantity = *rc::gen::oneOf(
      rc::gen::arbitrary<int64_t>(), rc::gen::inRange<int64_t>(-2'000'000, 2'000'000),
      rc::gen::elementOf(std::vector<int64_t>{kMin, -1, 0, 1, 2, kMax}));
  const __int128 exact = static_cast<__int128>(a) * quantity;
  const auto product = units(a).times(quantity);
  RC_ASSERT(product.has_value() == fitsInt64(exact));
  if (product) RC_ASSERT(static_cast<__int128>(product->units()) == exact);
}

RC_GTEST_PROP(MoneyProperty, OrderingFollowsUnits, ()) {
  const int64_t a = *anyUnits();
  const int64_t b = *anyUnits();
  RC_ASSERT((units(a) < units(b)) == (a < b));
  RC_ASSERT((units(a) == units(b)) == (a == b));
}

}  // namespace
}  // namespace fbg
