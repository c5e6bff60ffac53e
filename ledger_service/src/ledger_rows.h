// Rows of the ledger database as the service reads them, and their JSON (API.md shapes).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <string>

#include "common/money.h"

namespace fbg::ledger {

struct AccountRow {
  std::string account_id;
  std::string currency;
  Money cash_balance;
  Money cash_reserved;
  int64_t version = 0;
  std::string updated_at;
};

struct PositionRow {
  std::string symbol;
  int64_t quantity = 0;
  int64_t quantity_reserved = 0;
  Money cost_basis;
  int64_t version = 0;
};

struct OrderRow {
  std::string order_id;
  std::string account_id;
  std::string symbol;
  std::string side;
  std::string type;
  int64_t quantity = 0;
  std::optional<Money> limit_price;
  std::string time_in_force;
  std::string broker;
  std::string channel;
  std::string status;
  int64_t filled_quantity = 0;
  std::optional<Money> average_fill_price;
  Money reserved_amount;
  std::optional<std::string> reject_reason;
  std::string created_at;
  std::string updated_at;
  int64_t version = 0;
  int64_t seq = 0;
  std::string request_fingerprint;
};

// SELECT lists matching the readers below; `o.`/`a.` prefixes let joins use them.
extern const char* const kAccountColumns;
extern const char* const kOrderColumns;

[[nodiscard]] AccountRow readAccount(const pqxx::row& row, int first = 0);
[[nodiscard]] OrderRow readOrder(const pqxx::row& row, int first = 0);
[[nodiscard]] Money readMoney(const pqxx::field& field);

[[nodiscard]] nlohmann::json accountJson(const AccountRow& account);
[[nodiscard]] nlohmann::json positionJson(const PositionRow& position);
[[nodiscard]] nlohmann::json orderJson(const OrderRow& order);

// Average cost per share to 4 decimals, half up; 0 for no shares.
[[nodiscard]] Money averageCost(Money cost_basis, int64_t quantity);

// Current UTC time, RFC 3339 with microseconds.
[[nodiscard]] std::string nowRfc3339();

}  // namespace fbg::ledger
