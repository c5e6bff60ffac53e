// Read paths: accounts, positions, orders, executions, history, journal.
#include "ledger_store.h"

namespace fbg::ledger {
namespace {

Error noAccount(const std::string& account_id) {
  return makeError(ErrorCode::NotFound, "no account " + account_id);
}

bool accountExists(pqxx::nontransaction& work, const std::string& account_id) {
  return !work.exec_params("SELECT 1 FROM accounts WHERE account_id = $1", account_id).empty();
}

// Journal amounts: cash with money decimals, shares as whole numbers.
std::string journalAmount(const std::string& asset, const pqxx::field& field) {
  const Money amount = readMoney(field);
  if (asset != "USD" && amount.decimalsUsed() == 0) {
    return std::to_string(amount.units() / Money::kScale);
  }
  return amount.toString();
}

}  // namespace

Status LedgerStore::ping() {
  return withConnection<Ok>(pool_, [](pqxx::connection& connection) -> Status {
    pqxx::nontransaction work(connection);
    work.exec("SELECT 1");
    return Ok{};
  });
}

Result<AccountRow> LedgerStore::account(const std::string& account_id) {
  return withConnection<AccountRow>(pool_, [&](pqxx::connection& connection) -> Result<AccountRow> {
    pqxx::nontransaction work(connection);
    const auto rows = work.exec_params(
        std::string("SELECT ") + kAccountColumns + " FROM accounts a WHERE a.account_id = $1",
        account_id);
    if (rows.empty()) return noAccount(account_id);
    return readAccount(rows[0]);
  });
}

Result<std::vector<PositionRow>> LedgerStore::positions(const std::string& account_id) {
  using Rows = std::vector<PositionRow>;
  return withConnection<Rows>(pool_, [&](pqxx::connection& connection) -> Result<Rows> {
    pqxx::nontransaction work(connection);
    if (!accountExists(work, account_id)) return noAccount(account_id);
    Rows positions;
    for (const auto& row :
         work.exec_params("SELECT symbol, quantity, quantity_reserved, cost_basis::text, version "
                          "FROM positions WHERE account_id = $1 ORDER BY symbol",
                          account_id)) {
      positions.push_back(PositionRow{row[0].as<std::string>(), row[1].as<int64_t>(),
                                      row[2].as<int64_t>(), readMoney(row[3]),
                                      row[4].as<int64_t>()});
    }
    return positions;
  });
}

Result<Page> LedgerStore::orders(const std::string& account_id,
                                 const std::optional<std::string>& status, int limit,
                                 const std::optional<int64_t>& cursor) {
  return withConnection<Page>(pool_, [&](pqxx::connection& connection) -> Result<Page> {
    pqxx::nontransaction work(connection);
    if (!accountExists(work, account_id)) return noAccount(account_id);
    // Newest first; the cursor is the seq of the last order of the previous page.
    const auto rows = work.exec_params(
        std::string("SELECT ") + kOrderColumns +
            " FROM orders o WHERE o.account_id = $1 AND ($2 = '' OR o.status = $2)"
            " AND ($3::bigint = 0 OR o.seq < $3::bigint) ORDER BY o.seq DESC LIMIT $4",
        account_id, status.value_or(""), cursor.value_or(0), limit + 1);
    Page page;
    for (int i = 0; i < static_cast<int>(rows.size()) && i < limit; ++i) {
      page.items.push_back(orderJson(readOrder(rows[i])));
    }
    if (static_cast<int>(rows.size()) > limit) {
      page.next_cursor = std::to_string(readOrder(rows[limit - 1]).seq);
    }
    return page;
  });
}

Result<nlohmann::json> LedgerStore::executions(const std::string& order_id) {
  using Json = nlohmann::json;
  return withConnection<Json>(pool_, [&](pqxx::connection& connection) -> Result<Json> {
    pqxx::nontransaction work(connection);
    Json executions = Json::array();
    for (const auto& row : work.exec_params(
             "SELECT exec_id, quantity, price::text, rfc3339(executed_at) FROM executions "
             "WHERE order_id = $1 ORDER BY executed_at, exec_id",
             order_id)) {
      executions.push_back({{"exec_id", row[0].as<std::string>()},
                            {"quantity", row[1].as<int64_t>()},
                            {"price", readMoney(row[2]).toString()},
                            {"executed_at", row[3].as<std::string>()}});
    }
    return executions;
  });
}

Result<nlohmann::json> LedgerStore::history(const std::string& order_id) {
  using Json = nlohmann::json;
  return withConnection<Json>(pool_, [&](pqxx::connection& connection) -> Result<Json> {
    pqxx::nontransaction work(connection);
    Json revisions = Json::array();
    for (const auto& row : work.exec_params(
             "SELECT revision, rfc3339(changed_at), channel, request_id, actor, status, "
             "filled_quantity, reserved_amount::text, version FROM order_revisions "
             "WHERE order_id = $1 ORDER BY revision",
             order_id)) {
      revisions.push_back({{"revision", row[0].as<int64_t>()},
                           {"changed_at", row[1].as<std::string>()},
                           {"channel", row[2].as<std::string>()},
                           {"request_id", row[3].as<std::string>()},
                           {"actor", row[4].as<std::string>()},
                           {"status", row[5].as<std::string>()},
                           {"filled_quantity", row[6].as<int64_t>()},
                           {"reserved_amount", readMoney(row[7]).toString()},
                           {"version", row[8].as<int64_t>()}});
    }
    return revisions;
  });
}

Result<Page> LedgerStore::journal(const std::string& account_id, int limit,
                                  const std::optional<int64_t>& cursor) {
  using Json = nlohmann::json;
  return withConnection<Page>(pool_, [&](pqxx::connection& connection) -> Result<Page> {
    pqxx::nontransaction work(connection);
    if (!accountExists(work, account_id)) return noAccount(account_id);
    const auto rows = work.exec_params(
        "SELECT e.entry_id, e.kind, e.order_id, e.exec_id, rfc3339(e.created_at), l.book, "
        "l.asset, l.amount::text FROM (SELECT * FROM journal_entries WHERE account_id = $1 "
        "AND ($2::bigint = 0 OR entry_id < $2::bigint) ORDER BY entry_id DESC LIMIT $3) e "
        "JOIN journal_lines l USING (entry_id) ORDER BY e.entry_id DESC, l.line_no",
        account_id, cursor.value_or(0), limit + 1);
    Page page;
    int64_t current = -1;
    int entries = 0;
    for (const auto& row : rows) {
      const int64_t entry_id = row[0].as<int64_t>();
      if (entry_id != current) {
        if (++entries > limit) {
          page.next_cursor = std::to_string(current);
          break;
        }
        current = entry_id;
        auto text_or_null = [](const pqxx::field& f) {
          return f.is_null() ? Json(nullptr) : Json(f.as<std::string>());
        };
        page.items.push_back({{"entry_id", std::to_string(entry_id)},
                              {"kind", row[1].as<std::string>()},
                              {"order_id", text_or_null(row[2])},
                              {"exec_id", text_or_null(row[3])},
                              {"created_at", row[4].as<std::string>()},
                              {"lines", Json::array()}});
      }
      const std::string asset = row[6].as<std::string>();
      page.items.back()["lines"].push_back({{"book", row[5].as<std::string>()},
                                            {"asset", asset},
                                            {"amount", journalAmount(asset, row[7])}});
    }
    return page;
  });
}

}  // namespace fbg::ledger
