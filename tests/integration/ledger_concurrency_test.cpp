// Concurrency of intake on one account (FLOW.md section 1): the Redis lock and the version
// check together admit exactly what the money covers, and the version check alone still holds
// when the lock expires mid-write.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

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

void placeOrders(LedgerStack& stack, const std::string& account, int threads, int per_thread,
                 const std::string& price, Tally& tally) {
  const std::string token = stack.traderToken({account});
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const std::string key = "c-" + std::to_string(t) + "-" + std::to_string(i);
        const auto response = withBusyRetry([&] {
          return stack.request("POST", "/v1/accounts/" + account + "/orders", token,
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
  placeOrders(stack, "ACC-C", 8, 8, "100.00", tally);

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
  // The lock lives 20 ms but every write pauses 100 ms between read and write: writers overlap
  // for real and only the version check stands between them and a lost update.
  LedgerStack stack({"lock_ttl_ms = 20", "test_transaction_delay_ms = 100",
                     "lock_wait_ms_max = 10000", "version_retry_count_max = 100"});
  stack.createFundedAccount("ACC-X", "");
  const std::string admin = stack.adminToken();
  std::vector<std::thread> workers;
  std::atomic<int> created{0};
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        const std::string reference = "d-" + std::to_string(t) + "-" + std::to_string(i);
        const auto response = withBusyRetry([&] {
          return stack.request("POST", "/v1/accounts/ACC-X/deposits", admin,
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
  placeOrders(stack, "ACC-X", 4, 3, "3.33", tally);  // 6 x 3.33 = 19.98 of 20.00
  EXPECT_EQ(tally.accepted.load(), 6);
  EXPECT_EQ(tally.insufficient.load(), 6);
  const auto after = Json::parse(stack.request("GET", "/v1/accounts/ACC-X", admin).body);
  EXPECT_EQ(after["cash_available"], "0.02");
  EXPECT_EQ(stack.invariantViolations(), std::vector<std::string>{});
}

}  // namespace
}  // namespace fbg::test
