#include "ledger_store.h"

#include <chrono>
#include <thread>

#include "common/identifiers.h"
#include "common/time_text.h"
#include "domain/reservation.h"
#include "store_sql.h"

namespace fbg::ledger {
namespace {

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::string withColumns(std::string text) {
  text = replaceAll(std::move(text), "{ORDER_COLUMNS}", kOrderColumns);
  return replaceAll(std::move(text), "{ACCOUNT_COLUMNS}", kAccountColumns);
}

std::string placeOrderSql(bool buy) {
  std::string text =
      std::string("WITH ") + (buy ? sql::kBuyHolder : sql::kSellHolder) + sql::kPlaceOrderTail;
  text = replaceAll(text, "{RESERVED_AMOUNT}", buy ? "$3::numeric" : "0");
  text = replaceAll(text, "{RESERVED_QUANTITY}", buy ? "0" : "$3::bigint");
  text = replaceAll(text, "{AVAILABLE}", buy ? "cash.available" : "securities.available");
  text = replaceAll(text, "{RESERVED}", buy ? "cash.reserved" : "securities.reserved");
  text = replaceAll(text, "{ASSET}", buy ? "'USD'" : "$8");
  return withColumns(text);
}

Error notFound(const std::string& what) {
  return makeError(ErrorCode::NotFound, what);
}

}  // namespace

void LedgerStore::prepareStatements(pqxx::connection& connection) {
  connection.prepare("place_order_read", sql::kPlaceOrderRead);
  connection.prepare("place_buy", placeOrderSql(true));
  connection.prepare("place_sell", placeOrderSql(false));
  connection.prepare("request_cancel", withColumns(sql::kRequestCancel));
  connection.prepare("transfer_read", withColumns(sql::kTransferRead));
  connection.prepare("cash_transfer", sql::kCashTransfer);
  connection.prepare("security_deposit_read", sql::kSecurityDepositRead);
  connection.prepare("security_deposit", sql::kSecurityDeposit);
  connection.prepare("create_account", withColumns(sql::kCreateAccount));
  connection.prepare("order_by_id", std::string("SELECT ") + kOrderColumns +
                                        " FROM orders o WHERE o.order_id = $1");
}

void LedgerStore::testDelay() const {
  if (test_transaction_delay_ms_ > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(test_transaction_delay_ms_));
  }
}

Attempt<OrderOutcome> LedgerStore::tryPlaceOrder(const std::string& account_id,
                                                 const std::string& idempotency_key,
                                                 const PlaceOrderRequest& request,
                                                 const ChangeContext& context) {
  return withConnection<std::optional<OrderOutcome>>(
      pool_, [&](pqxx::connection& connection) -> Attempt<OrderOutcome> {
        pqxx::nontransaction work(connection);
        const auto read =
            work.exec_prepared("place_order_read", account_id, idempotency_key, request.symbol);
        if (read.empty()) return notFound("no account " + account_id);
        const auto& row = read[0];
        if (!row[3].is_null()) {
          // The key was used before: the same request replays its order, another is refused.
          if (row[4].as<std::string>() != request.fingerprint()) {
            return makeError(ErrorCode::IdempotencyKeyReused,
                             "Idempotency-Key " + idempotency_key + " was used for another order");
          }
          const auto existing = work.exec_prepared("order_by_id", row[3].as<std::string>());
          return std::optional<OrderOutcome>(OrderOutcome{readOrder(existing.at(0)), true});
        }
        const CashBalance cash{readMoney(row[0]), readMoney(row[1])};
        std::optional<PositionBalance> position;
        if (!row[5].is_null())
          position = PositionBalance{row[5].as<int64_t>(), row[6].as<int64_t>()};
        auto reservation = planReservation(request, cash, position);
        if (!reservation) return reservation.error();
        const bool buy = request.side == Side::Buy;
        const int64_t holder_version = buy ? row[2].as<int64_t>() : row[7].as<int64_t>();
        const int64_t seq = row[8].as<int64_t>();
        const std::string order_id = makeOrderId(wallClockMs(), seq);
        const std::string reserve =
            buy ? reservation->cash.toString() : std::to_string(reservation->shares);
        testDelay();
        try {
          const auto written = work.exec_prepared(
              buy ? "place_buy" : "place_sell", account_id, holder_version, reserve, order_id, seq,
              idempotency_key, request.fingerprint(), request.symbol,
              std::string(toText(request.side)), std::string(toText(request.type)),
              request.quantity,
              request.limit_price ? request.limit_price->toString() : std::string(),
              std::string(toText(request.time_in_force)), request.broker, context.channel,
              context.actor, context.request_id);
          if (written.empty()) return std::optional<OrderOutcome>();
          return std::optional<OrderOutcome>(OrderOutcome{readOrder(written[0]), false});
        } catch (const pqxx::unique_violation&) {
          // The same Idempotency-Key committed meanwhile (possible without the Redis lock):
          // a re-read replays it.
          return std::optional<OrderOutcome>();
        }
      });
}

Attempt<OrderRow> LedgerStore::tryRequestCancel(const std::string& order_id,
                                                const ChangeContext& context) {
  auto current = order(order_id);
  if (!current) return current.error();
  const auto status = parseOrderStatus(current->status);
  if (!status || isTerminal(*status)) {
    return makeError(ErrorCode::OrderNotCancelable,
                     "order " + order_id + " is " + current->status + " and cannot be canceled");
  }
  if (*status == OrderStatus::PendingCancel) return std::optional<OrderRow>(*current);
  testDelay();
  return withConnection<std::optional<OrderRow>>(
      pool_, [&](pqxx::connection& connection) -> Attempt<OrderRow> {
        pqxx::nontransaction work(connection);
        const auto written = work.exec_prepared("request_cancel", order_id, current->version,
                                                context.actor, context.channel, context.request_id);
        if (written.empty()) return std::optional<OrderRow>();
        return std::optional<OrderRow>(readOrder(written[0]));
      });
}

Result<OrderRow> LedgerStore::order(const std::string& order_id) {
  return withConnection<OrderRow>(pool_, [&](pqxx::connection& connection) -> Result<OrderRow> {
    pqxx::nontransaction work(connection);
    const auto rows = work.exec_prepared("order_by_id", order_id);
    if (rows.empty()) return notFound("no order " + order_id);
    return readOrder(rows[0]);
  });
}

}  // namespace fbg::ledger
