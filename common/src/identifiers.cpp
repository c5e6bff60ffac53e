#include "common/identifiers.h"

#include <cassert>

namespace fbg {
namespace {

constexpr int64_t kEpoch2020Ms = 1'577'836'800'000;
constexpr char kBase36[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

bool isUpper(char c) {
  return c >= 'A' && c <= 'Z';
}
bool isLower(char c) {
  return c >= 'a' && c <= 'z';
}
bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isKeyChar(char c) {
  return isUpper(c) || isLower(c) || isDigit(c) || c == '.' || c == '_' || c == ':' || c == '-';
}

bool allOf(std::string_view text, bool (*accept)(char)) {
  for (char c : text) {
    if (!accept(c)) return false;
  }
  return true;
}

void appendBase36(std::string& out, uint64_t value, int width) {
  std::string digits(static_cast<std::size_t>(width), '0');
  for (int at = width - 1; at >= 0 && value > 0; --at) {
    digits[static_cast<std::size_t>(at)] = kBase36[value % 36];
    value /= 36;
  }
  out += digits;
}

}  // namespace

bool isValidSymbol(std::string_view symbol) {
  if (symbol.empty() || symbol.size() > 10 || !isUpper(symbol[0])) return false;
  return allOf(symbol.substr(1), [](char c) { return isUpper(c) || isDigit(c) || c == '.'; });
}

bool isValidAccountId(std::string_view account_id) {
  return !account_id.empty() && account_id.size() <= 32 && allOf(account_id, isKeyChar);
}

bool isValidIdempotencyKey(std::string_view key) {
  return !key.empty() && key.size() <= 64 && allOf(key, isKeyChar);
}

bool isValidBrokerName(std::string_view broker) {
  return !broker.empty() && broker.size() <= 16 &&
         allOf(broker, [](char c) { return isUpper(c) || isDigit(c) || c == '-'; });
}

std::string makeOrderId(int64_t unix_time_ms, int64_t sequence) {
  assert(unix_time_ms >= kEpoch2020Ms);
  assert(sequence >= 0);
  constexpr uint64_t kSequenceModulus = 78'364'164'096;  // 36^7
  std::string id = "O";
  appendBase36(id, static_cast<uint64_t>(unix_time_ms - kEpoch2020Ms), 8);
  appendBase36(id, static_cast<uint64_t>(sequence) % kSequenceModulus, 7);
  assert(id.size() == kOrderIdLength);
  return id;
}

bool isValidOrderId(std::string_view order_id) {
  return order_id.size() == kOrderIdLength && order_id[0] == 'O' &&
         allOf(order_id.substr(1), [](char c) { return isUpper(c) || isDigit(c); });
}

}  // namespace fbg
