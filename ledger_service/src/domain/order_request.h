// Parsing and validation of client requests (API.md "Orders", "Accounts"). Pure: JSON text in,
// a validated request or an INVALID_REQUEST/UNSUPPORTED_ORDER error out. Nothing here trusts its
// input, so nothing here asserts on it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/money.h"
#include "common/order_types.h"
#include "common/result.h"

namespace fbg::ledger {

struct OrderLimits {
  int64_t quantity_max = 1'000'000;
  Money notional_max = Money::fromWhole(1'000'000);
  std::vector<std::string> brokers;  // known routing targets
  std::string default_broker;
};

struct PlaceOrderRequest {
  std::string symbol;
  Side side = Side::Buy;
  OrderType type = OrderType::Limit;
  int64_t quantity = 0;
  std::optional<Money> limit_price;
  TimeInForce time_in_force = TimeInForce::Day;
  std::string broker;

  // Canonical text of the request, used to tell "same key, same body" from "same key, other body"
  // regardless of field order or optional defaults.
  [[nodiscard]] std::string fingerprint() const;
};

[[nodiscard]] Result<PlaceOrderRequest> parsePlaceOrder(const std::string& body,
                                                        const OrderLimits& limits);

// Prices: > 0; at most 2 decimals at or above 1.00, at most 4 below.
[[nodiscard]] Status validateLimitPrice(Money price);

struct CreateAccountRequest {
  std::string account_id;
  std::string currency;
};
[[nodiscard]] Result<CreateAccountRequest> parseCreateAccount(const std::string& body);

// Deposits and withdrawals of cash: amount > 0 with at most 2 decimals.
struct CashTransferRequest {
  Money amount;
  std::string reference;
  [[nodiscard]] std::string fingerprint() const;
};
[[nodiscard]] Result<CashTransferRequest> parseCashTransfer(const std::string& body);

struct SecurityDepositRequest {
  std::string symbol;
  int64_t quantity = 0;
  Money price;
  std::string reference;
  [[nodiscard]] std::string fingerprint() const;
};
[[nodiscard]] Result<SecurityDepositRequest> parseSecurityDeposit(const std::string& body,
                                                                  int64_t quantity_max);

}  // namespace fbg::ledger
