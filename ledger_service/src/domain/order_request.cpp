#include "domain/order_request.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <set>

#include "common/identifiers.h"

namespace fbg::ledger {
namespace {

using Json = nlohmann::json;

Result<Json> parseObject(const std::string& body, const std::set<std::string>& allowed) {
  Json json = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return invalidInput("body is not valid JSON");
  if (!json.is_object()) return invalidInput("body must be a JSON object");
  for (const auto& [key, value] : json.items()) {
    if (allowed.count(key) == 0) return invalidInput("unknown field '" + key + "'");
  }
  return json;
}

Result<std::string> requiredString(const Json& json, const std::string& field) {
  if (!json.contains(field) || json[field].is_null())
    return invalidInput("'" + field + "' is required");
  if (!json[field].is_string()) return invalidInput("'" + field + "' must be a string");
  return json[field].get<std::string>();
}

// Quantities: a JSON integer or a string of decimal digits (API.md), within 1..quantity_max.
Result<int64_t> requiredQuantity(const Json& json, const std::string& field, int64_t quantity_max) {
  if (!json.contains(field) || json[field].is_null())
    return invalidInput("'" + field + "' is required");
  const Json& value = json[field];
  const std::string range =
      "'" + field + "' must be a whole number from 1 to " + std::to_string(quantity_max);
  if (value.is_number_integer()) {
    // Unsigned values above INT64_MAX and big literals parsed as floats fall through to the error.
    if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(quantity_max)) {
      return invalidInput(range);
    }
    const int64_t quantity = value.get<int64_t>();
    if (quantity < 1 || quantity > quantity_max) return invalidInput(range);
    return quantity;
  }
  if (value.is_string()) {
    const std::string text = value.get<std::string>();
    int64_t quantity = 0;
    const auto [end, failure] = std::from_chars(text.data(), text.data() + text.size(), quantity);
    if (text.empty() || text[0] == '-' || text[0] == '+' || failure != std::errc() ||
        end != text.data() + text.size()) {
      return invalidInput(range);
    }
    if (quantity < 1 || quantity > quantity_max) return invalidInput(range);
    return quantity;
  }
  return invalidInput(range);
}

Result<Money> requiredDecimal(const Json& json, const std::string& field) {
  auto text = requiredString(json, field);
  if (!text) {
    return invalidInput("'" + field + "' must be a decimal string such as \"187.25\"");
  }
  auto money = Money::parse(*text);
  if (!money) return invalidInput("'" + field + "': " + money.error().message);
  return money;
}

Result<std::string> requiredSymbol(const Json& json) {
  auto symbol = requiredString(json, "symbol");
  if (!symbol) return symbol.error();
  if (!isValidSymbol(*symbol)) return invalidInput("'symbol' must match ^[A-Z][A-Z0-9.]{0,9}$");
  return symbol;
}

Result<std::string> requiredReference(const Json& json) {
  auto reference = requiredString(json, "reference");
  if (!reference) return reference.error();
  if (!isValidIdempotencyKey(*reference)) {
    return invalidInput("'reference' must be 1-64 characters of [A-Za-z0-9._:-]");
  }
  return reference;
}

Status parseOrderKind(const Json& json, PlaceOrderRequest& request) {
  auto side = requiredString(json, "side");
  if (!side) return side.error();
  auto parsed_side = parseSide(*side);
  if (!parsed_side) return invalidInput("'side' must be BUY or SELL");
  request.side = *parsed_side;
  auto type = requiredString(json, "type");
  if (!type) return type.error();
  auto parsed_type = parseOrderType(*type);
  if (!parsed_type) return invalidInput("'type' must be LIMIT or MARKET");
  request.type = *parsed_type;
  if (json.contains("time_in_force") && !json["time_in_force"].is_null()) {
    auto text = requiredString(json, "time_in_force");
    if (!text) return text.error();
    auto time_in_force = parseTimeInForce(*text);
    if (!time_in_force) return invalidInput("'time_in_force' must be DAY, GTC or IOC");
    request.time_in_force = *time_in_force;
  }
  return Ok{};
}

Status parsePriceAndNotional(const Json& json, const OrderLimits& limits,
                             PlaceOrderRequest& request) {
  const bool has_price = json.contains("limit_price") && !json["limit_price"].is_null();
  if (request.type == OrderType::Market) {
    if (has_price) return invalidInput("'limit_price' is only for LIMIT orders");
    if (request.side == Side::Buy) {
      return makeError(ErrorCode::UnsupportedOrder,
                       "MARKET BUY is not supported: there is no price to reserve against");
    }
    return Ok{};
  }
  if (!has_price) return invalidInput("'limit_price' is required for LIMIT orders");
  auto price = requiredDecimal(json, "limit_price");
  if (!price) return price.error();
  if (auto valid = validateLimitPrice(*price); !valid) return valid.error();
  const auto notional = price->times(request.quantity);
  if (!notional || *notional > limits.notional_max) {
    return invalidInput("notional quantity x limit_price exceeds the maximum " +
                        limits.notional_max.toString());
  }
  request.limit_price = *price;
  return Ok{};
}

Status parseBroker(const Json& json, const OrderLimits& limits, PlaceOrderRequest& request) {
  request.broker = limits.default_broker;
  if (!json.contains("broker") || json["broker"].is_null()) return Ok{};
  auto broker = requiredString(json, "broker");
  if (!broker) return broker.error();
  if (std::find(limits.brokers.begin(), limits.brokers.end(), *broker) == limits.brokers.end()) {
    return invalidInput("unknown broker '" + broker->substr(0, 20) + "'");
  }
  request.broker = *broker;
  return Ok{};
}

}  // namespace

std::string PlaceOrderRequest::fingerprint() const {
  return symbol + "|" + std::string(toText(side)) + "|" + std::string(toText(type)) + "|" +
         std::to_string(quantity) + "|" + (limit_price ? limit_price->toString() : "") + "|" +
         std::string(toText(time_in_force)) + "|" + broker;
}

Status validateLimitPrice(Money price) {
  if (!price.isPositive()) return invalidInput("'limit_price' must be greater than 0");
  const int decimals_max = price >= Money::fromWhole(1) ? 2 : 4;
  if (price.decimalsUsed() > decimals_max) {
    return invalidInput("'limit_price' " + price.toString() + " has more than " +
                        std::to_string(decimals_max) + " decimals");
  }
  return Ok{};
}

Result<PlaceOrderRequest> parsePlaceOrder(const std::string& body, const OrderLimits& limits) {
  auto json = parseObject(
      body, {"symbol", "side", "type", "quantity", "limit_price", "time_in_force", "broker"});
  if (!json) return json.error();
  PlaceOrderRequest request;
  auto symbol = requiredSymbol(*json);
  if (!symbol) return symbol.error();
  request.symbol = *symbol;
  if (auto kind = parseOrderKind(*json, request); !kind) return kind.error();
  auto quantity = requiredQuantity(*json, "quantity", limits.quantity_max);
  if (!quantity) return quantity.error();
  request.quantity = *quantity;
  if (auto price = parsePriceAndNotional(*json, limits, request); !price) return price.error();
  if (auto broker = parseBroker(*json, limits, request); !broker) return broker.error();
  return request;
}

Result<CreateAccountRequest> parseCreateAccount(const std::string& body) {
  auto json = parseObject(body, {"account_id", "currency"});
  if (!json) return json.error();
  auto account_id = requiredString(*json, "account_id");
  if (!account_id) return account_id.error();
  if (!isValidAccountId(*account_id)) {
    return invalidInput("'account_id' must be 1-32 characters of [A-Za-z0-9._:-]");
  }
  auto currency = requiredString(*json, "currency");
  if (!currency) return currency.error();
  if (*currency != "USD") return invalidInput("'currency' must be USD");
  return CreateAccountRequest{*account_id, *currency};
}

std::string CashTransferRequest::fingerprint() const {
  return amount.toString();
}

Result<CashTransferRequest> parseCashTransfer(const std::string& body) {
  auto json = parseObject(body, {"amount", "reference"});
  if (!json) return json.error();
  auto amount = requiredDecimal(*json, "amount");
  if (!amount) return amount.error();
  if (!amount->isPositive()) return invalidInput("'amount' must be greater than 0");
  if (amount->decimalsUsed() > 2) return invalidInput("'amount' has more than 2 decimals");
  if (*amount > Money::fromWhole(1'000'000'000))
    return invalidInput("'amount' is over 1000000000.00");
  auto reference = requiredReference(*json);
  if (!reference) return reference.error();
  return CashTransferRequest{*amount, *reference};
}

std::string SecurityDepositRequest::fingerprint() const {
  return symbol + "|" + std::to_string(quantity) + "|" + price.toString();
}

Result<SecurityDepositRequest> parseSecurityDeposit(const std::string& body, int64_t quantity_max) {
  auto json = parseObject(body, {"symbol", "quantity", "price", "reference"});
  if (!json) return json.error();
  SecurityDepositRequest request;
  auto symbol = requiredSymbol(*json);
  if (!symbol) return symbol.error();
  request.symbol = *symbol;
  auto quantity = requiredQuantity(*json, "quantity", quantity_max);
  if (!quantity) return quantity.error();
  request.quantity = *quantity;
  auto price = requiredDecimal(*json, "price");
  if (!price) return price.error();
  if (auto valid = validateLimitPrice(*price); !valid) {
    return invalidInput("'price' must be greater than 0 with at most 2 decimals (4 below 1.00)");
  }
  request.price = *price;
  auto reference = requiredReference(*json);
  if (!reference) return reference.error();
  request.reference = *reference;
  return request;
}

}  // namespace fbg::ledger
