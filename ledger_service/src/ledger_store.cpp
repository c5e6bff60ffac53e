#include "ledger_store.h"

#include <chrono>
#include <thread>

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
  std::string text = std::string("WITH ") + (buy ? sql::kBuyHolder : sql::kSellHolder) +
                     sql::kPlaceOrderTail + sql::kPlacedOutboxRows;
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
  connection.prepare("place_orders_read", sql::kPlaceOrdersRead);
  connection.prepare("place_orders",
                     withColumns(std::string(sql::kPlaceOrders) + sql::kPlacedOutboxRows));
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
