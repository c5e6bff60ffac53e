#include "ledger_stack.h"

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/auth_token.h"
#include "support/ports.h"
#include "support/serving.h"
#include "support/wait.h"

namespace fbg::test {
namespace {

int64_t inOneHour() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() +
         3600;
}

}  // namespace

LedgerStack::LedgerStack(std::vector<std::string> extra_config)
    : extra_config_(std::move(extra_config)) {
  postgres.start();
  postgres.createDatabase("ledger");
  redis.start();
  http_port_ = freeLoopbackPort();
  config_path_ = (postgres.folder() / "ledger.conf").string();
  log_path_ = (postgres.folder() / "ledger.log").string();
  writeConfig(config_path_, http_port_, "ledger-1");
  startLedger();
}

LedgerStack::~LedgerStack() {
  if (peer_port_ != 0) peer_.terminate(5000);
  ledger_.terminate(5000);
}

void LedgerStack::writeConfig(const std::string& path, int http_port,
                              const std::string& consumer_name) const {
  std::ofstream config(path);
  config << "http_port = " << http_port << "\n"
         << "postgres_uri = " << postgres.uri("ledger") << "\n"
         << "redis_port = " << redis.port() << "\n"
         << "jwt_secret = " << jwt_secret_ << "\n"
         << "consumer_name = " << consumer_name << "\n"
         << "outbox_poll_interval_ms = 20\n";
  for (const auto& line : extra_config_) config << line << "\n";
}

int LedgerStack::startPeerLedger() {
  if (peer_port_ != 0) return peer_port_;
  const int port = freeLoopbackPort();
  const std::string config_path = (postgres.folder() / "ledger-peer.conf").string();
  const std::string log_path = (postgres.folder() / "ledger-peer.log").string();
  writeConfig(config_path, port, "ledger-2");
  launch(peer_, config_path, log_path, port);
  peer_port_ = port;
  return port;
}

void LedgerStack::launch(ChildProcess& process, const std::string& config_path,
                         const std::string& log_path, int port) {
  process.launch(FBG_LEDGER_BINARY, {"serve", "--config", config_path}, {}, log_path);
  if (!waitUntilServing(process, port)) {
    std::ifstream log(log_path);
    std::stringstream text;
    text << log.rdbuf();
    throw std::runtime_error("ledger_service did not start; log:\n" + text.str());
  }
}

void LedgerStack::startLedger() {
  launch(ledger_, config_path_, log_path_, http_port_);
}

std::string LedgerStack::logTail() const {
  return fbg::test::logTail(log_path_);
}

std::string LedgerStack::adminToken() const {
  return mintToken(Principal{"admin-1", Role::Admin, {}}, jwt_secret_, inOneHour());
}

std::string LedgerStack::traderToken(const std::vector<std::string>& accounts,
                                     const std::string& subject) const {
  return mintToken(Principal{subject, Role::Trader, accounts}, jwt_secret_, inOneHour());
}

HttpResponse LedgerStack::request(const std::string& method, const std::string& path,
                                  const std::string& token, const std::string& body,
                                  std::map<std::string, std::string> headers) const {
  return requestTo(http_port_, method, path, token, body, std::move(headers));
}

HttpResponse LedgerStack::requestTo(int port, const std::string& method, const std::string& path,
                                    const std::string& token, const std::string& body,
                                    std::map<std::string, std::string> headers) const {
  if (!token.empty()) headers["Authorization"] = "Bearer " + token;
  return httpRequest(port, method, path, headers, body);
}

void LedgerStack::createFundedAccount(const std::string& account_id,
                                      const std::string& cash_amount) {
  const auto created = request("POST", "/v1/accounts", adminToken(),
                               R"({"account_id":")" + account_id + R"(","currency":"USD"})");
  if (created.status != 201) throw std::runtime_error("create account: " + created.body);
  if (cash_amount.empty()) return;
  const auto deposited =
      request("POST", "/v1/accounts/" + account_id + "/deposits", adminToken(),
              R"({"amount":")" + cash_amount + R"(","reference":"fund-)" + account_id + R"("})");
  if (deposited.status != 201) throw std::runtime_error("deposit: " + deposited.body);
}

std::vector<std::string> LedgerStack::invariantViolations() {
  // Each query counts the rows that break one invariant.
  const std::vector<std::pair<std::string, std::string>> checks = {
      {"journal entry not summing to zero per asset",
       "SELECT count(*) FROM (SELECT entry_id, asset FROM journal_lines GROUP BY 1, 2 "
       "HAVING sum(amount) <> 0) x"},
      {"cash_balance differs from its journal lines",
       "SELECT count(*) FROM accounts a WHERE a.cash_balance <> (SELECT coalesce(sum(l.amount), 0) "
       "FROM journal_lines l JOIN journal_entries e USING (entry_id) WHERE e.account_id = "
       "a.account_id AND l.book IN ('cash.available', 'cash.reserved'))"},
      {"cash_reserved differs from its journal lines",
       "SELECT count(*) FROM accounts a WHERE a.cash_reserved <> (SELECT coalesce(sum(l.amount), "
       "0) "
       "FROM journal_lines l JOIN journal_entries e USING (entry_id) WHERE e.account_id = "
       "a.account_id AND l.book = 'cash.reserved')"},
      {"cash_reserved differs from open orders' reserved_amount",
       "SELECT count(*) FROM accounts a WHERE a.cash_reserved <> (SELECT coalesce(sum("
       "o.reserved_amount), 0) FROM orders o WHERE o.account_id = a.account_id AND o.status NOT IN "
       "('FILLED', 'CANCELED', 'REJECTED', 'EXPIRED'))"},
      {"cash_available negative",
       "SELECT count(*) FROM accounts WHERE cash_balance < cash_reserved"},
      {"position quantity differs from its journal lines",
       "SELECT count(*) FROM positions p WHERE p.quantity <> (SELECT coalesce(sum(l.amount), 0) "
       "FROM journal_lines l JOIN journal_entries e USING (entry_id) WHERE e.account_id = "
       "p.account_id AND l.asset = p.symbol AND l.book IN ('securities.available', "
       "'securities.reserved'))"},
      {"quantity_reserved out of range",
       "SELECT count(*) FROM positions WHERE quantity_reserved < 0 OR quantity_reserved > "
       "quantity"},
  };
  std::vector<std::string> violations;
  for (const auto& [what, query] : checks) {
    const long long broken = sqlCount(query);
    if (broken != 0) violations.push_back(what + ": " + std::to_string(broken) + " row(s)");
  }
  return violations;
}

double LedgerStack::metric(const std::string& name, const std::string& label_filter) const {
  double total = 0;
  for (const int port : {http_port_, peer_port_}) {
    if (port == 0) continue;
    const auto response = httpRequest(port, "GET", "/metrics");
    std::istringstream lines(response.body);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind(name, 0) != 0) continue;
      const char after = line.size() > name.size() ? line[name.size()] : '\0';
      if (after != ' ' && after != '{') continue;
      if (!label_filter.empty() && line.find(label_filter) == std::string::npos) continue;
      total += std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return total;
}

}  // namespace fbg::test
