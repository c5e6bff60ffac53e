#include "reconcile.h"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <set>

#include "executions_client.h"

namespace fbg::ledger {
namespace {

using Json = nlohmann::json;

// Invariants 4 and 5, one query each: the rows (as text) that break it.
const std::vector<std::pair<std::string, std::string>>& ledgerChecks() {
  static const std::vector<std::pair<std::string, std::string>> checks = {
      {"journal entry not summing to zero per asset",
       "SELECT entry_id || ' ' || asset FROM journal_lines GROUP BY entry_id, asset "
       "HAVING sum(amount) <> 0"},
      {"cash_available negative",
       "SELECT account_id FROM accounts WHERE cash_balance < cash_reserved"},
      {"cash_balance differs from its journal lines",
       "SELECT a.account_id FROM accounts a WHERE a.cash_balance <> (SELECT "
       "coalesce(sum(l.amount), "
       "0) FROM journal_lines l JOIN journal_entries e USING (entry_id) WHERE e.account_id = "
       "a.account_id AND l.book IN ('cash.available', 'cash.reserved'))"},
      {"cash_reserved differs from its journal lines",
       "SELECT a.account_id FROM accounts a WHERE a.cash_reserved <> (SELECT coalesce(sum("
       "l.amount), 0) FROM journal_lines l JOIN journal_entries e USING (entry_id) WHERE "
       "e.account_id = a.account_id AND l.book = 'cash.reserved')"},
      {"cash_reserved differs from the orders' reserved_amount",
       "SELECT a.account_id FROM accounts a WHERE a.cash_reserved <> (SELECT coalesce(sum("
       "o.reserved_amount), 0) FROM orders o WHERE o.account_id = a.account_id)"},
      {"finished order still holding a reservation (fills outstanding?)",
       "SELECT order_id FROM orders WHERE status IN ('FILLED', 'CANCELED', 'REJECTED', "
       "'EXPIRED') AND (reserved_amount <> 0 OR reserved_quantity <> 0)"},
      {"position quantity differs from its journal lines",
       "SELECT p.account_id || ' ' || p.symbol FROM positions p WHERE p.quantity <> (SELECT "
       "coalesce(sum(l.amount), 0) FROM journal_lines l JOIN journal_entries e USING (entry_id) "
       "WHERE e.account_id = p.account_id AND l.asset = p.symbol AND l.book IN "
       "('securities.available', 'securities.reserved'))"},
      {"position quantity differs from transfers + bought - sold",
       "SELECT p.account_id || ' ' || p.symbol FROM positions p WHERE p.quantity <> (SELECT "
       "coalesce(sum(l.amount), 0) FROM journal_lines l JOIN journal_entries e USING (entry_id) "
       "WHERE e.account_id = p.account_id AND l.asset = p.symbol AND e.kind <> 'FILL' AND "
       "l.book = 'external') * -1 + (SELECT coalesce(sum(CASE o.side WHEN 'BUY' THEN x.quantity "
       "ELSE -x.quantity END), 0) FROM executions x JOIN orders o USING (order_id) WHERE x.booked "
       "AND o.account_id = p.account_id AND o.symbol = p.symbol)"},
      {"quantity_reserved out of range",
       "SELECT account_id || ' ' || symbol FROM positions WHERE quantity_reserved < 0 OR "
       "quantity_reserved > quantity"},
      {"filled_quantity differs from the booked fills",
       "SELECT o.order_id FROM orders o WHERE o.filled_quantity <> (SELECT coalesce(sum("
       "x.quantity), 0) FROM executions x WHERE x.order_id = o.order_id AND x.booked)"},
      {"fill recorded but not booked (overfill or unpaid: operator)",
       "SELECT broker || ':' || exec_id || ' ' || coalesce(alarm, '') FROM executions "
       "WHERE NOT booked"},
  };
  return checks;
}

void checkLedger(pqxx::connection& connection, ReconcileReport& report) {
  pqxx::nontransaction work(connection);
  for (const auto& [what, query] : ledgerChecks()) {
    for (const auto& row : work.exec(query + " LIMIT 100")) {
      report.differences.push_back(what + ": " + row[0].as<std::string>());
    }
  }
}

// reconcile reads pages back to back and is not in a hurry: a slow fill receiver is waited for.
constexpr int kFetchTimeoutMs = 10'000;

Result<Json> fetchPage(const ReconcileSettings& settings, int64_t after) {
  return fetchExecutionsPage(
      {settings.fill_receiver_host, settings.fill_receiver_port, kFetchTimeoutMs}, after,
      settings.page_size);
}

// Invariant 2, the ledger's half: every stored report applied once (fills in executions,
// the rest in applied_events), for orders this ledger holds.
void checkReport(pqxx::nontransaction& work, const IncomingEvent& e, ReconcileReport& report) {
  if (work.exec_params("SELECT 1 FROM orders WHERE order_id = $1", e.order_id).empty()) return;
  const auto found =
      e.is_fill
          ? work.exec_params(
                "SELECT count(*) FROM executions WHERE broker = $1 AND "
                "exec_id = $2",
                e.broker, e.exec_id)
          : work.exec_params("SELECT count(*) FROM applied_events WHERE event_id = $1", e.dedup_id);
  if (found[0][0].as<int64_t>() != 1) {
    report.differences.push_back("report " + e.dedup_id + " of order " + e.order_id + " applied " +
                                 found[0][0].as<std::string>() + " times");
  }
}

Status walkReports(const ReconcileSettings& settings, pqxx::connection& connection,
                   EventApplier& applier, ReconcileReport& report) {
  std::set<std::string> unconfirmed;
  {
    pqxx::nontransaction work(connection);
    for (const auto& row : work.exec("SELECT order_id FROM orders WHERE status = 'UNCONFIRMED'"))
      unconfirmed.insert(row[0].as<std::string>());
  }
  std::set<std::string> settled;  // UNCONFIRMED orders a report was applied to
  for (int64_t after = 0; report.reports_checked < settings.reports_max;) {
    auto page = fetchPage(settings, after);
    if (!page) return page.error();
    if ((*page)["executions"].empty()) break;
    for (const auto& item : (*page)["executions"]) {
      auto event = parseExecution(item.dump());
      after = item.value("seq", after);
      ++report.reports_checked;
      if (!event) {
        report.differences.push_back("unreadable report at seq " + std::to_string(after));
        continue;
      }
      if (unconfirmed.count(event->order_id) != 0) {
        if (auto applied = applier.apply(*event); !applied) return applied.error();
        settled.insert(event->order_id);
      }
      pqxx::nontransaction work(connection);
      checkReport(work, *event, report);
    }
  }
  // Settled: the orders whose reports moved them out of UNCONFIRMED (a report that changes
  // nothing, such as a status answer for an order the broker rejected, leaves it for an operator).
  pqxx::nontransaction work(connection);
  for (const auto& order_id : settled) {
    const auto row = work.exec_params("SELECT status FROM orders WHERE order_id = $1", order_id);
    if (!row.empty() && row[0][0].as<std::string>() != "UNCONFIRMED") ++report.unconfirmed_settled;
  }
  report.unconfirmed_left = static_cast<int64_t>(unconfirmed.size()) - report.unconfirmed_settled;
  return Ok{};
}

}  // namespace

Result<ReconcileReport> reconcile(const ReconcileSettings& settings, EventApplier& applier) {
  ReconcileReport report;
  try {
    pqxx::connection connection(settings.postgres_uri);
    if (auto walked = walkReports(settings, connection, applier, report); !walked) {
      return walked.error();
    }
    checkLedger(connection, report);
  } catch (const pqxx::broken_connection& failure) {
    return makeError(ErrorCode::Unavailable, failure.what());
  }
  return report;
}

}  // namespace fbg::ledger
