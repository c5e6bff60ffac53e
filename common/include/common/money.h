// Fixed-point decimal money and prices: an int64 count of 1/10,000 of the currency unit.
// Four decimals because API.md allows prices below 1.00 to carry four; notionals of such prices
// (integer quantity x price) therefore also fit exactly. Never a double anywhere.
//
// Range: -922,337,203,685,477.5808 .. 922,337,203,685,477.5807 (int64 / 10^4); text outside it is
// refused by parse, arithmetic that would leave it returns std::nullopt; nothing wraps.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace fbg {

class Money {
 public:
  static constexpr int64_t kScale = 10'000;
  static constexpr int kDecimalsMax = 4;

  constexpr Money() = default;
  static constexpr Money fromUnits(int64_t units) { return Money(units); }
  static constexpr Money fromWhole(int64_t whole) { return Money(whole * kScale); }

  // Strict decimal text: optional '-', 1..15 integer digits, optional '.' and 1..4 decimals.
  // No exponent, no '+', no spaces, no thousands separators.
  [[nodiscard]] static Result<Money> parse(std::string_view text);

  [[nodiscard]] constexpr int64_t units() const { return units_; }
  [[nodiscard]] constexpr bool isZero() const { return units_ == 0; }
  [[nodiscard]] constexpr bool isPositive() const { return units_ > 0; }
  [[nodiscard]] constexpr bool isNegative() const { return units_ < 0; }
  // Decimal places actually used by the value (0..4), e.g. 187.2500 -> 2.
  [[nodiscard]] int decimalsUsed() const;

  // At least two decimals, trailing zeros past the second trimmed: "1872.50", "0.1235", "-3.00".
  [[nodiscard]] std::string toString() const;

  [[nodiscard]] std::optional<Money> plus(Money other) const;
  [[nodiscard]] std::optional<Money> minus(Money other) const;
  [[nodiscard]] std::optional<Money> times(int64_t quantity) const;
  [[nodiscard]] constexpr Money negated() const { return Money(-units_); }

  constexpr auto operator<=>(const Money&) const = default;

 private:
  constexpr explicit Money(int64_t units) : units_(units) {}
  int64_t units_ = 0;
};

}  // namespace fbg
