// Concurrency of intake on one account (FLOW.md section 1): the account lock and the version
// check together admit exactly what the money covers, and the version check alone still holds
// when the Redis lock expires mid-write between two ledger processes.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>
#include <tuple>

#include "ledger_stack.h"
#include "support/wait.h"

namespace fbg::test {
namespace {

using Json = nlohmann::json;

struct Tally {
  std::atomic<int> accepted{0};
  std::atomic<int> insufficient{0};
  std::atomic<int> other{0};
};

// One request, retried with the same key while the ledger answers ACCOUNT_BUSY (safe to retry).
HttpResponse withBusyRetry(const std::function<HttpResponse()>& send) {
  HttpResponse response;
  for (int attempt = 0; attempt < 200; ++attempt) {
    response = send();
    if (response.status != 409 || response.body.find("ACCOUNT_BUSY") == std::string::npos) break;
  }
  return response;
}

// Thread t sends to ports[t % ports.size()] (one ledger process, or several of one stack).
void placeOrders(LedgerStack& stack, const std::string& account, int threads, int per_thread,
                 const std::string& price, Tally& tally, const std::vector<int>& ports) {
  const std::string token = stack.traderToken({account});
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      const int port = ports[static_cast<std::size_t>(t) % ports.size()];
      for (int i = 0; i < per_thread; ++i) {
        const std::string key = "c-" + std::to_string(t) + "-" + std::to_string(i);
        const auto response = withBusyRetry([&] {
          return stack.requestTo(port, "POST", "/v1/accounts/" + account + "/orders", token,
                                 R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":1,)"
                                 R"("limit_price":")" +
                                     price + R"("})",
                                 {{"Idempotency-Key", key}, {"X-Channel", t % 2 ? "MTS" : "WTS"}});
        });
        if (response.status == 202) {
          ++tally.accepted;
        } else if (response.status == 422 &&
                   response.body.find("INSUFFICIENT_FUNDS") != std::string::npos) {
          ++tally.insufficient;
        } else {
          ++tally.other;
          ADD_FAILURE() << response.status << " " << response.body;
        }
      }
    });
  }
  for (auto& worker : workers) worker.join();
}

TEST(LedgerConcurrency, SixtyFourOrdersFromEightThreadsFundedForTwenty) {
  LedgerStack stack;
  stack.createFundedAccount("ACC-C", "2000.00");  // exactly 20 x (1 x 100.00)
  Tally tally;
  placeOrders(stack, "ACC-C", 8, 8, "100.00", tally, {stack.port()});

  EXPECT_EQ(tally.accepted.load(), 20);
  EXPECT_EQ(tally.insufficient.load(), 44);
  EXPECT_EQ(tally.other.load(), 0);
  const auto account =
      Json::parse(stack.request("GET", "/v1/accounts/ACC-C", stack.adminToken()).body);
  EXPECT_EQ(account["cash_available"], "0.00");
  EXPECT_EQ(account["cash_reserved"], "2000.00");
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM orders"), 20);
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM outbox WHERE kind = 'NEW'"), 20);
  EXPECT_EQ(stack.invariantViolations(), std::vector<std::string>{});
  // The relay delivers each outbox row to the broker's stream once.
  EXPECT_TRUE(waitUntil(
      [&] { return stack.sqlCount("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0; },
      std::chrono::seconds(10)));
  EXPECT_EQ(stack.redis.command({"XLEN", "orders:SIM-A"}).integer, 20);
}

TEST(LedgerConcurrency, LockExpiringMidWriteLosesNoUpdate) {
  // The Redis lock lives 20 ms but every write pauses 100 ms between read and write, and the
  // writers are in two ledger processes (inside one, a writer waits for the other in memory):
  // they overlap for real and only the version check stands between them and a lost update.
  LedgerStack stack({"lock_ttl_ms = 20", "test_transaction_delay_ms = 100",
                     "lock_wait_ms_max = 10000", "version_retry_count_max = 100"});
  const std::vector<int> ports = {stack.port(), stack.startPeerLedger()};
  stack.createFundedAccount("ACC-X", "");
  const std::string admin = stack.adminToken();
  std::vector<std::thread> workers;
  std::atomic<int> created{0};
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&, t] {
      const int port = ports[static_cast<std::size_t>(t) % ports.size()];
      for (int i = 0; i < 5; ++i) {
        const std::string reference = "d-" + std::to_string(t) + "-" + std::to_string(i);
        const auto response = withBusyRetry([&] {
          return stack.requestTo(port, "POST", "/v1/accounts/ACC-X/deposits", admin,
                                 R"({"amount":"1.00","reference":")" + reference + R"("})");
        });
        if (response.status == 201)
          ++created;
        else
          ADD_FAILURE() << response.status << " " << response.body;
      }
    });
  }
  for (auto& worker : workers) worker.join();

  EXPECT_EQ(created.load(), 20);
  const auto account = Json::parse(stack.request("GET", "/v1/accounts/ACC-X", admin).body);
  EXPECT_EQ(account["cash_balance"], "20.00");  // every one of the 20 deposits counted
  EXPECT_EQ(account["version"], 21);
  EXPECT_GT(stack.metric("ledger_version_conflicts_total"), 0.0);
  EXPECT_EQ(stack.invariantViolations(), std::vector<std::string>{});

  // Orders under the same expiring lock: funded for exactly 6 of 12.
  Tally tally;
  placeOrders(stack, "ACC-X", 4, 3, "3.33", tally, ports);  // 6 x 3.33 = 19.98 of 20.00
  EXPECT_EQ(tally.accepted.load(), 6);
  EXPECT_EQ(tally.insufficient.load(), 6);
  const auto after = Json::parse(stack.request("GET", "/v1/accounts/ACC-X", admin).body);
  EXPECT_EQ(after["cash_available"], "0.02");
  EXPECT_EQ(stack.invariantViolations(), std::vector<std::string>{});
}

// The intake places the orders of different accounts that arrive together in one read and one
// write (order_intake.h). One batch at a time, each pausing between its read and its write, so
// that the requests of twelve accounts queue behind it and go together: every order gets its
// own answer, and every balance, reservation and journal line is as if each went alone.
TEST(LedgerConcurrency, OrdersOfTwelveAccountsPlacedTogetherKeepEveryBalance) {
  LedgerStack stack({"intake_batches_in_flight_max = 1", "test_transaction_delay_ms = 30"});
  const std::string admin = stack.adminToken();
  constexpr int kAccounts = 12;
  for (int a = 0; a < kAccounts; ++a) {
    const std::string account = "ACC-G" + std::to_string(a);
    stack.createFundedAccount(account, "1000.00");
    const auto deposited = stack.request(
        "POST", "/v1/accounts/" + account + "/security-deposits", admin,
        R"({"symbol":"AAPL","quantity":50,"price":"90.00","reference":"sd-)" + account + R"("})");
    ASSERT_EQ(deposited.status, 201) << deposited.body;
  }
  const std::string buy = R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":1,)"
                          R"("limit_price":"100.00"})";
  const std::string sell = R"({"symbol":"AAPL","side":"SELL","type":"LIMIT","quantity":5,)"
                           R"("limit_price":"99.00"})";
  const std::string too_big = R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":10,)"
                              R"("limit_price":"100.00"})";
  std::atomic<int> unexpected{0};
  std::vector<std::thread> workers;
  for (int a = 0; a < kAccounts; ++a) {
    workers.emplace_back([&, a] {
      const std::string account = "ACC-G" + std::to_string(a);
      const std::string token = stack.traderToken({account});
      const auto place = [&](const std::string& key, const std::string& body) {
        return withBusyRetry([&] {
          return stack.request("POST", "/v1/accounts/" + account + "/orders", token, body,
                               {{"Idempotency-Key", key}});
        });
      };
      // Three BUYs (300.00 of 1000.00), three SELLs (15 of 50 shares), one BUY the cash left
      // (700.00) does not cover, and the first BUY again under its key.
      const std::vector<std::tuple<std::string, std::string, int>> steps = {
          {"b-0", buy, 202},     {"s-0", sell, 202}, {"b-1", buy, 202},  {"s-1", sell, 202},
          {"big", too_big, 422}, {"b-2", buy, 202},  {"s-2", sell, 202}, {"b-0", buy, 200}};
      for (const auto& [key, body, status] : steps) {
        const auto response = place(key, body);
        if (response.status != status) {
          ++unexpected;
          ADD_FAILURE() << account << " " << key << ": " << response.status << " " << response.body;
        }
      }
    });
  }
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(unexpected.load(), 0);

  for (int a = 0; a < kAccounts; ++a) {
    const std::string account = "ACC-G" + std::to_string(a);
    const auto cash = Json::parse(stack.request("GET", "/v1/accounts/" + account, admin).body);
    EXPECT_EQ(cash["cash_reserved"], "300.00") << account;
    EXPECT_EQ(cash["cash_available"], "700.00") << account;
    const auto positions =
        Json::parse(stack.request("GET", "/v1/accounts/" + account + "/positions", admin).body);
    ASSERT_EQ(positions["positions"].size(), 1u) << account;
    EXPECT_EQ(positions["positions"][0]["quantity_reserved"], 15) << account;
  }
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM orders"), kAccounts * 6);
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM outbox WHERE kind = 'NEW'"), kAccounts * 6);
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM order_revisions"), kAccounts * 6);
  // One reservation entry of two lines per order, each against the order's own account.
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM journal_entries e JOIN orders o USING "
                           "(order_id) WHERE e.kind = 'ORDER_RESERVE' AND e.account_id = "
                           "o.account_id"),
            kAccounts * 6);
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM journal_lines l JOIN journal_entries e USING "
                           "(entry_id) WHERE e.kind = 'ORDER_RESERVE'"),
            kAccounts * 12);
  // Each revision of a holder is the row as written: the account revisions' last versions.
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM accounts a WHERE a.version <> (SELECT "
                           "max(r.version) FROM account_revisions r WHERE r.account_id = "
                           "a.account_id) OR a.cash_reserved <> (SELECT (r.row_data->>"
                           "'cash_reserved')::numeric FROM account_revisions r WHERE "
                           "r.account_id = a.account_id ORDER BY r.version DESC LIMIT 1)"),
            0);
  EXPECT_EQ(stack.invariantViolations(), std::vector<std::string>{});
  // The orders went in batches: fewer batches than orders.
  const double batches = stack.metric("ledger_intake_batches_total");
  const double batched = stack.metric("ledger_intake_batch_orders_total");
  EXPECT_EQ(batched, kAccounts * 8.0);
  EXPECT_LT(batches, batched / 2) << "batches " << batches << " for " << batched << " orders";
}

}  // namespace
}  // namespace fbg::test
