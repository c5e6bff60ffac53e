#include "ledger_rows.h"

#include <cassert>
#include <chrono>
#include <ctime>

namespace fbg::ledger {

const char* const kAccountColumns =
    "a.account_id, a.currency, a.cash_balance::text, a.cash_reserved::text, a.version, "
    "rfc3339(a.updated_at)";

const char* const kOrderColumns =
    "o.order_id, o.account_id, o.symbol, o.side, o.type, o.quantity, o.limit_price::text, "
    "o.time_in_force, o.broker, o.channel, o.status, o.filled_quantity, "
    "o.average_fill_price::text, o.reserved_amount::text, o.reject_reason, rfc3339(o.created_at), "
    "rfc3339(o.updated_at), o.version, o.seq, o.request_fingerprint";

Money readMoney(const pqxx::field& field) {
  // Our own NUMERIC(20,4) columns: a parse failure is a schema bug, not outside input.
  auto money = Money::parse(field.c_str());
  assert(money.has_value());
  return money.value();
}

namespace {

std::optional<Money> readOptionalMoney(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return readMoney(field);
}

nlohmann::json moneyOrNull(const std::optional<Money>& money) {
  return money ? nlohmann::json(money->toString()) : nlohmann::json(nullptr);
}

}  // namespace

AccountRow readAccount(const pqxx::row& row, int first) {
  AccountRow account;
  account.account_id = row[first].as<std::string>();
  account.currency = row[first + 1].as<std::string>();
  account.cash_balance = readMoney(row[first + 2]);
  account.cash_reserved = readMoney(row[first + 3]);
  account.version = row[first + 4].as<int64_t>();
  account.updated_at = row[first + 5].as<std::string>();
  return account;
}

OrderRow readOrder(const pqxx::row& row, int first) {
  OrderRow order;
  int at = first;
  order.order_id = row[at++].as<std::string>();
  order.account_id = row[at++].as<std::string>();
  order.symbol = row[at++].as<std::string>();
  order.side = row[at++].as<std::string>();
  order.type = row[at++].as<std::string>();
  order.quantity = row[at++].as<int64_t>();
  order.limit_price = readOptionalMoney(row[at++]);
  order.time_in_force = row[at++].as<std::string>();
  order.broker = row[at++].as<std::string>();
  order.channel = row[at++].as<std::string>();
  order.status = row[at++].as<std::string>();
  order.filled_quantity = row[at++].as<int64_t>();
  order.average_fill_price = readOptionalMoney(row[at++]);
  order.reserved_amount = readMoney(row[at++]);
  if (!row[at].is_null()) order.reject_reason = row[at].as<std::string>();
  ++at;
  order.created_at = row[at++].as<std::string>();
  order.updated_at = row[at++].as<std::string>();
  order.version = row[at++].as<int64_t>();
  order.seq = row[at++].as<int64_t>();
  order.request_fingerprint = row[at++].as<std::string>();
  return order;
}

nlohmann::json accountJson(const AccountRow& account) {
  const auto available = account.cash_balance.minus(account.cash_reserved);
  assert(available && !available->isNegative());
  return {{"account_id", account.account_id},
          {"currency", account.currency},
          {"cash_balance", account.cash_balance.toString()},
          {"cash_reserved", account.cash_reserved.toString()},
          {"cash_available", available->toString()},
          {"version", account.version},
          {"updated_at", account.updated_at}};
}

nlohmann::json positionJson(const PositionRow& position) {
  return {{"symbol", position.symbol},
          {"quantity", position.quantity},
          {"quantity_reserved", position.quantity_reserved},
          {"quantity_available", position.quantity - position.quantity_reserved},
          {"average_cost", averageCost(position.cost_basis, position.quantity).toString()}};
}

nlohmann::json orderJson(const OrderRow& order) {
  return {{"order_id", order.order_id},
          {"account_id", order.account_id},
          {"symbol", order.symbol},
          {"side", order.side},
          {"type", order.type},
          {"quantity", order.quantity},
          {"limit_price", moneyOrNull(order.limit_price)},
          {"time_in_force", order.time_in_force},
          {"broker", order.broker},
          {"channel", order.channel},
          {"status", order.status},
          {"filled_quantity", order.filled_quantity},
          {"average_fill_price", moneyOrNull(order.average_fill_price)},
          {"reserved_amount", order.reserved_amount.toString()},
          {"reject_reason",
           order.reject_reason ? nlohmann::json(*order.reject_reason) : nlohmann::json(nullptr)},
          {"created_at", order.created_at},
          {"updated_at", order.updated_at},
          {"version", order.version}};
}

Money averageCost(Money cost_basis, int64_t quantity) {
  assert(quantity >= 0);
  if (quantity == 0) return Money();
  const int64_t units = cost_basis.units();
  const int64_t rounded = (units + (units >= 0 ? quantity / 2 : -(quantity / 2))) / quantity;
  return Money::fromUnits(rounded);
}

std::string nowRfc3339() {
  const auto now = std::chrono::system_clock::now();
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[96];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<long long>(micros % 1'000'000));
  return text;
}

}  // namespace fbg::ledger
