// A real ledger stack for one test: a throwaway PostgreSQL and Redis, and the ledger_service
// binary as a child process configured against them. Tokens are minted with the same secret.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "support/http_client.h"
#include "support/postgres_instance.h"
#include "support/process.h"
#include "support/redis_instance.h"

namespace fbg::test {

class LedgerStack {
 public:
  // extra_config: "key = value" lines appended to the service's config file.
  explicit LedgerStack(std::vector<std::string> extra_config = {});
  ~LedgerStack();

  void startLedger();
  void killLedger() { ledger_.kill9(); }
  // A second ledger process on the same database and Redis (its own port and consumer name), as
  // when the ledger runs on two hosts; returns its port. Stopped with the stack.
  int startPeerLedger();

  [[nodiscard]] int port() const { return http_port_; }
  // The service's config file (for running `ledger_service reconcile` against the same setup).
  [[nodiscard]] const std::string& configPath() const { return config_path_; }
  [[nodiscard]] std::string logTail() const;
  [[nodiscard]] std::string adminToken() const;
  [[nodiscard]] std::string traderToken(const std::vector<std::string>& accounts,
                                        const std::string& subject = "trader-1") const;

  HttpResponse request(const std::string& method, const std::string& path, const std::string& token,
                       const std::string& body = {},
                       std::map<std::string, std::string> headers = {}) const;
  // The same, to the ledger process listening on `port` (port() or startPeerLedger()'s).
  HttpResponse requestTo(int port, const std::string& method, const std::string& path,
                         const std::string& token, const std::string& body = {},
                         std::map<std::string, std::string> headers = {}) const;

  // Admin helpers that must succeed (they ASSERT through exceptions on failure).
  void createFundedAccount(const std::string& account_id, const std::string& cash_amount);

  // SQL against the ledger database: the first column of the first row as text.
  std::string sql(const std::string& query) { return postgres.queryScalar("ledger", query); }
  long long sqlCount(const std::string& query) { return std::stoll(sql(query)); }
  // Every invariant of FLOW.md that the ledger's own tables can show; empty when all hold.
  std::vector<std::string> invariantViolations();
  // A metric's value from /metrics (sum over its series whose labels contain label_filter), over
  // every ledger process of the stack.
  double metric(const std::string& name, const std::string& label_filter = "") const;

  PostgresInstance postgres;
  RedisInstance redis;

 private:
  void writeConfig(const std::string& path, int http_port, const std::string& consumer_name) const;
  // Starts ledger_service with the config and waits until it serves on `port` (else throws, with
  // its log).
  static void launch(ChildProcess& process, const std::string& config_path,
                     const std::string& log_path, int port);

  std::vector<std::string> extra_config_;
  std::string config_path_;
  std::string log_path_;
  std::string jwt_secret_ = "integration-test-secret-0123456789";
  int http_port_ = 0;
  ChildProcess ledger_;
  int peer_port_ = 0;  // 0: no peer
  ChildProcess peer_;
};

}  // namespace fbg::test
