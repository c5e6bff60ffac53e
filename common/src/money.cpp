#include "common/money.h"

#include <cstdlib>

namespace fbg {
namespace {

constexpr int kIntegerDigitsMax = 15;

bool isDecimalDigit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

Result<Money> Money::parse(std::string_view text) {
  const std::string shown(text.substr(0, 40));
  auto invalid = [&shown](const char* why) {
    return makeError(ErrorCode::InvalidRequest, "'" + shown + "' is not a decimal amount: " + why);
  };
  bool negative = false;
  std::size_t at = 0;
  if (at < text.size() && text[at] == '-') {
    negative = true;
    ++at;
  }
  int64_t whole = 0;
  int integer_digits = 0;
  while (at < text.size() && isDecimalDigit(text[at])) {
    if (++integer_digits > kIntegerDigitsMax) return invalid("too many digits");
    whole = whole * 10 + (text[at] - '0');
    ++at;
  }
  if (integer_digits == 0) return invalid("expected digits");
  int64_t fraction = 0;
  int decimals = 0;
  if (at < text.size() && text[at] == '.') {
    ++at;
    while (at < text.size() && isDecimalDigit(text[at])) {
      if (++decimals > kDecimalsMax) return invalid("at most 4 decimals");
      fraction = fraction * 10 + (text[at] - '0');
      ++at;
    }
    if (decimals == 0) return invalid("expected digits after '.'");
  }
  if (at != text.size()) return invalid("unexpected character");
  for (int d = decimals; d < kDecimalsMax; ++d) fraction *= 10;
  // 15 integer digits reach 10^19 units, past int64: refuse what does not fit. The magnitude of
  // INT64_MIN is one more than INT64_MAX's, so negatives are built negative.
  int64_t units = 0;
  if (__builtin_mul_overflow(whole, negative ? -kScale : kScale, &units) ||
      __builtin_add_overflow(units, negative ? -fraction : fraction, &units)) {
    return invalid("out of range");
  }
  return Money(units);
}

int Money::decimalsUsed() const {
  int64_t fraction = std::llabs(units_ % kScale);
  if (fraction == 0) return 0;
  int decimals = kDecimalsMax;
  while (fraction % 10 == 0) {
    fraction /= 10;
    --decimals;
  }
  return decimals;
}

std::string Money::toString() const {
  const bool negative = units_ < 0;
  // Work in unsigned so that INT64_MIN has a magnitude.
  const uint64_t magnitude =
      negative ? 0 - static_cast<uint64_t>(units_) : static_cast<uint64_t>(units_);
  char fraction[kDecimalsMax + 1];
  uint64_t rest = magnitude % kScale;
  for (int at = kDecimalsMax - 1; at >= 0; --at) {
    fraction[at] = static_cast<char>('0' + rest % 10);
    rest /= 10;
  }
  int shown = kDecimalsMax;
  while (shown > 2 && fraction[shown - 1] == '0') --shown;
  std::string text = negative ? "-" : "";
  text += std::to_string(magnitude / kScale);
  text += '.';
  text.append(fraction, static_cast<std::size_t>(shown));
  return text;
}

std::optional<Money> Money::plus(Money other) const {
  int64_t sum = 0;
  if (__builtin_add_overflow(units_, other.units_, &sum)) return std::nullopt;
  return Money(sum);
}

std::optional<Money> Money::minus(Money other) const {
  int64_t difference = 0;
  if (__builtin_sub_overflow(units_, other.units_, &difference)) return std::nullopt;
  return Money(difference);
}

std::optional<Money> Money::times(int64_t quantity) const {
  int64_t product = 0;
  if (__builtin_mul_overflow(units_, quantity, &product)) return std::nullopt;
  return Money(product);
}

}  // namespace fbg
