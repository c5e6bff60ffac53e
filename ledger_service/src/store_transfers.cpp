// Account creation, cash deposits and withdrawals, security deposits.
#include "common/identifiers.h"
#include "domain/reservation.h"
#include "ledger_store.h"
#include "store_sql.h"

namespace fbg::ledger {
namespace {

// A reference seen before: the same request replays the stored answer, another is refused.
Attempt<TransferOutcome> replayTransfer(const pqxx::row& row, int first, const std::string& kind,
                                        const std::string& fingerprint,
                                        const std::string& reference) {
  if (row[first].as<std::string>() != kind || row[first + 1].as<std::string>() != fingerprint) {
    return makeError(ErrorCode::IdempotencyKeyReused,
                     "reference " + reference + " was used for another request");
  }
  return std::optional<TransferOutcome>(TransferOutcome{row[first + 2].as<std::string>(), true});
}

}  // namespace

Result<AccountRow> LedgerStore::createAccount(const CreateAccountRequest& request,
                                              const ChangeContext& context) {
  return withConnection<AccountRow>(pool_, [&](pqxx::connection& connection) -> Result<AccountRow> {
    pqxx::nontransaction work(connection);
    const auto rows = work.exec_prepared("create_account", request.account_id, request.currency,
                                         context.actor, context.channel, context.request_id);
    if (rows.empty()) {
      return makeError(ErrorCode::AlreadyExists, "account " + request.account_id + " exists");
    }
    return readAccount(rows[0]);
  });
}

Attempt<TransferOutcome> LedgerStore::tryCashTransfer(const std::string& account_id,
                                                      const CashTransferRequest& request,
                                                      bool is_withdrawal,
                                                      const ChangeContext& context) {
  const std::string kind = is_withdrawal ? "WITHDRAWAL" : "DEPOSIT";
  return withConnection<std::optional<TransferOutcome>>(
      pool_, [&](pqxx::connection& connection) -> Attempt<TransferOutcome> {
        pqxx::nontransaction work(connection);
        const auto read = work.exec_prepared("transfer_read", account_id, request.reference);
        if (read.empty()) return makeError(ErrorCode::NotFound, "no account " + account_id);
        if (!read[0][6].is_null()) {
          return replayTransfer(read[0], 6, kind, request.fingerprint(), request.reference);
        }
        AccountRow account = readAccount(read[0]);
        const CashBalance cash{account.cash_balance, account.cash_reserved};
        if (is_withdrawal) {
          if (auto covered = checkWithdrawal(request.amount, cash); !covered)
            return covered.error();
        }
        const Money delta = is_withdrawal ? request.amount.negated() : request.amount;
        const auto balance = account.cash_balance.plus(delta);
        if (!balance) return makeError(ErrorCode::InvalidRequest, "balance would overflow");
        // The answer is known before the write: the row as the guarded UPDATE will leave it.
        const int64_t read_version = account.version;
        account.cash_balance = *balance;
        account.version = read_version + 1;
        account.updated_at = nowRfc3339();
        const std::string response = accountJson(account).dump();
        testDelay();
        try {
          const auto written = work.exec_prepared(
              "cash_transfer", account_id, read_version, delta.toString(), request.reference, kind,
              request.fingerprint(), response, account.updated_at, context.actor, context.channel,
              context.request_id);
          if (written.empty()) return std::optional<TransferOutcome>();
          return std::optional<TransferOutcome>(TransferOutcome{response, false});
        } catch (const pqxx::unique_violation&) {
          return std::optional<TransferOutcome>();  // same reference committed meanwhile: replay
        }
      });
}

Attempt<TransferOutcome> LedgerStore::trySecurityDeposit(const std::string& account_id,
                                                         const SecurityDepositRequest& request,
                                                         const ChangeContext& context) {
  return withConnection<std::optional<TransferOutcome>>(
      pool_, [&](pqxx::connection& connection) -> Attempt<TransferOutcome> {
        pqxx::nontransaction work(connection);
        const auto read = work.exec_prepared("security_deposit_read", account_id, request.reference,
                                             request.symbol);
        if (read.empty()) return makeError(ErrorCode::NotFound, "no account " + account_id);
        const auto& row = read[0];
        if (!row[4].is_null()) {
          return replayTransfer(row, 4, "SECURITY_DEPOSIT", request.fingerprint(),
                                request.reference);
        }
        PositionRow position{request.symbol, 0, 0, Money(), 0};
        if (!row[0].is_null()) {
          position = PositionRow{request.symbol, row[0].as<int64_t>(), row[1].as<int64_t>(),
                                 readMoney(row[2]), row[3].as<int64_t>()};
        }
        const auto cost = request.price.times(request.quantity);
        const auto cost_basis = cost ? position.cost_basis.plus(*cost) : std::nullopt;
        if (!cost_basis) return makeError(ErrorCode::InvalidRequest, "cost basis would overflow");
        const int64_t read_version = position.version;
        position.quantity += request.quantity;
        position.cost_basis = *cost_basis;
        const std::string response = positionJson(position).dump();
        testDelay();
        try {
          const auto written = work.exec_prepared(
              "security_deposit", account_id, read_version, request.symbol, request.quantity,
              cost->toString(), request.reference, request.fingerprint(), response, nowRfc3339(),
              context.actor, context.channel, context.request_id);
          if (written.empty()) return std::optional<TransferOutcome>();
          return std::optional<TransferOutcome>(TransferOutcome{response, false});
        } catch (const pqxx::unique_violation&) {
          return std::optional<TransferOutcome>();
        }
      });
}

}  // namespace fbg::ledger
