// The ledger's PostgreSQL adapter. Every write is ONE statement (data-modifying CTEs), so it is
// atomic without an explicit transaction, and is guarded by the version read just before it:
//
//   read  (account/position row with version, idempotency hit, next order seq)
//   check (pure domain: reservation.h)
//   write UPDATE ... SET ..., version = version + 1 WHERE id = $1 AND version = $2
//         + order, revisions, journal entry and lines, outbox row, all FROM the updated row
//
// If the UPDATE matched nothing, nothing at all was written: the attempt returns
// std::nullopt (a version conflict) and the caller re-reads and tries again. That check holds
// with or without the Redis account lock, which only keeps conflicts rare. Orders go in
// batches (order_intake.h): one read and one write for every order of the batch, each order
// guarded by its own holder's version, so one order's conflict writes nothing of it and
// leaves the others of its batch as they would be alone.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/order_types.h"
#include "common/pg_pool.h"
#include "domain/order_request.h"
#include "ledger_rows.h"

namespace fbg::ledger {

// Who asked, through which channel, under which request id: written into every revision.
struct ChangeContext {
  std::string actor;
  std::string channel = "API";
  std::string request_id;
};

struct OrderOutcome {
  OrderRow order;
  bool replayed = false;
};

// One order of POST /v1/accounts/{id}/orders, validated, for placeOrders.
struct PlaceOrderInput {
  std::string account_id;
  std::string idempotency_key;
  PlaceOrderRequest request;
  ChangeContext context;
};

struct TransferOutcome {
  std::string response;  // JSON body, identical on replay
  bool replayed = false;
};

struct Page {
  nlohmann::json items = nlohmann::json::array();
  std::optional<std::string> next_cursor;
};

template <typename T>
using Attempt = Result<std::optional<T>>;  // nullopt: version conflict, nothing written

class LedgerStore {
 public:
  LedgerStore(PgPool& pool, int test_transaction_delay_ms)
      : pool_(pool), test_transaction_delay_ms_(test_transaction_delay_ms) {}

  static void prepareStatements(pqxx::connection& connection);

  [[nodiscard]] Result<AccountRow> createAccount(const CreateAccountRequest& request,
                                                 const ChangeContext& context);
  [[nodiscard]] Attempt<TransferOutcome> tryCashTransfer(const std::string& account_id,
                                                         const CashTransferRequest& request,
                                                         bool is_withdrawal,
                                                         const ChangeContext& context);
  [[nodiscard]] Attempt<TransferOutcome> trySecurityDeposit(const std::string& account_id,
                                                            const SecurityDepositRequest& request,
                                                            const ChangeContext& context);
  // The orders of a batch (order_intake.h), each of another account, in one read and one
  // write: one outcome per order, in order. An order whose holder changed between the two gets
  // nullopt (retry), as do all after a deadlock; never throws.
  [[nodiscard]] std::vector<Attempt<OrderOutcome>> placeOrders(
      const std::vector<const PlaceOrderInput*>& inputs);
  [[nodiscard]] Attempt<OrderRow> tryRequestCancel(const std::string& order_id,
                                                   const ChangeContext& context);

  [[nodiscard]] Result<AccountRow> account(const std::string& account_id);
  [[nodiscard]] Result<std::vector<PositionRow>> positions(const std::string& account_id);
  [[nodiscard]] Result<OrderRow> order(const std::string& order_id);
  [[nodiscard]] Result<Page> orders(const std::string& account_id,
                                    const std::optional<std::string>& status, int limit,
                                    const std::optional<int64_t>& cursor);
  [[nodiscard]] Result<nlohmann::json> executions(const std::string& order_id);
  [[nodiscard]] Result<nlohmann::json> history(const std::string& order_id);
  [[nodiscard]] Result<Page> journal(const std::string& account_id, int limit,
                                     const std::optional<int64_t>& cursor);
  [[nodiscard]] Status ping();

 private:
  // placeOrders' work; throws what the server raised.
  std::vector<Attempt<OrderOutcome>> placeOrdersOnce(
      pqxx::connection& connection, const std::vector<const PlaceOrderInput*>& inputs);
  Attempt<OrderOutcome> placeOneOrder(pqxx::nontransaction& work, const PlaceOrderInput& input);
  void testDelay() const;
  PgPool& pool_;
  int test_transaction_delay_ms_;
};

}  // namespace fbg::ledger
