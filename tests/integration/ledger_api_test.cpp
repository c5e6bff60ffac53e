// The ledger's HTTP contract (API.md) through the real service: idempotency, replays, bad input
// with exact codes and no write, authentication and authorisation, cancels, reads.
#include <gtest/gtest.h>

#include <cstdio>
#include <optional>

#include <nlohmann/json.hpp>

#include "common/auth_token.h"
#include "ledger_stack.h"
#include "support/process.h"

namespace fbg::test {
namespace {

using Json = nlohmann::json;

const char* kBuy =
    R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":10,"limit_price":"187.25"})";

class LedgerApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = new LedgerStack();
    stack_->createFundedAccount("ACC-1", "100000.00");
    stack_->createFundedAccount("ACC-2", "1000.00");
  }
  static void TearDownTestSuite() { delete stack_; }

  static HttpResponse order(const std::string& account, const std::string& key,
                            const std::string& body, const std::string& token = "") {
    std::map<std::string, std::string> headers;
    if (!key.empty()) headers["Idempotency-Key"] = key;
    return stack_->request("POST", "/v1/accounts/" + account + "/orders",
                           token.empty() ? stack_->traderToken({account}) : token, body, headers);
  }
  static std::string rowCounts() {
    return stack_->sql(
        "SELECT (SELECT count(*) FROM accounts) || '/' || (SELECT count(*) FROM orders) || '/' || "
        "(SELECT count(*) FROM journal_entries) || '/' || (SELECT count(*) FROM outbox) || '/' || "
        "(SELECT count(*) FROM transfers) || '/' || (SELECT count(*) FROM order_revisions) || '/' "
        "|| (SELECT count(*) FROM account_revisions) || '/' || (SELECT sum(version) FROM "
        "accounts)");
  }
  static std::string errorCode(const HttpResponse& response) {
    const Json body = Json::parse(response.body, nullptr, false);
    if (body.is_discarded() || !body.contains("error"))
      return "<no error body: " + response.body + ">";
    return body["error"]["code"].get<std::string>();
  }

  static LedgerStack* stack_;
};

LedgerStack* LedgerApiTest::stack_ = nullptr;

TEST_F(LedgerApiTest, PlacedOrderIsPendingNewWithReservationRevisionAndJournal) {
  const auto placed = order("ACC-1", "place-1", kBuy);
  ASSERT_EQ(placed.status, 202) << placed.body;
  const Json body = Json::parse(placed.body);
  EXPECT_EQ(body["status"], "PENDING_NEW");
  EXPECT_EQ(body["reserved_amount"], "1872.50");
  EXPECT_EQ(body["time_in_force"], "DAY");
  EXPECT_EQ(body["broker"], "SIM-A");
  EXPECT_LE(body["order_id"].get<std::string>().size(), 20u);
  const std::string id = body["order_id"];
  const auto history = Json::parse(
      stack_->request("GET", "/v1/orders/" + id + "/history", stack_->traderToken({"ACC-1"})).body);
  ASSERT_EQ(history["revisions"].size(), 1u);
  EXPECT_EQ(history["revisions"][0]["status"], "PENDING_NEW");
  EXPECT_EQ(history["revisions"][0]["actor"], "trader-1");
  const auto executions = Json::parse(
      stack_->request("GET", "/v1/orders/" + id + "/executions", stack_->traderToken({"ACC-1"}))
          .body);
  EXPECT_EQ(executions["executions"].size(), 0u);
  EXPECT_EQ(stack_->invariantViolations(), std::vector<std::string>{});
}

TEST_F(LedgerApiTest, IdempotencyKeyReplaysSameOrderAndRefusesOtherBody) {
  const auto first = order("ACC-1", "idem-1", kBuy);
  ASSERT_EQ(first.status, 202);
  const std::string before = rowCounts();
  const auto again = order("ACC-1", "idem-1", kBuy);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.headers.count("idempotent-replayed"), 1u);
  EXPECT_EQ(Json::parse(again.body)["order_id"], Json::parse(first.body)["order_id"]);
  // Same request with fields reordered and the default written out is the same request.
  const auto reordered = order(
      "ACC-1", "idem-1",
      R"({"limit_price":"187.25","quantity":"10","type":"LIMIT","side":"BUY","symbol":"AAPL","time_in_force":"DAY"})");
  EXPECT_EQ(reordered.status, 200) << reordered.body;
  const auto other = order(
      "ACC-1", "idem-1",
      R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":11,"limit_price":"187.25"})");
  EXPECT_EQ(other.status, 422);
  EXPECT_EQ(errorCode(other), "IDEMPOTENCY_KEY_REUSED");
  EXPECT_EQ(rowCounts(), before);
}

TEST_F(LedgerApiTest, DepositAndWithdrawalReferencesReplay) {
  const std::string admin = stack_->adminToken();
  const auto deposit = stack_->request("POST", "/v1/accounts/ACC-2/deposits", admin,
                                       R"({"amount":"50.00","reference":"dep-r"})");
  ASSERT_EQ(deposit.status, 201) << deposit.body;
  const std::string after_deposit = rowCounts();
  const auto replay = stack_->request("POST", "/v1/accounts/ACC-2/deposits", admin,
                                      R"({"amount":"50.00","reference":"dep-r"})");
  EXPECT_EQ(replay.status, 200);
  EXPECT_EQ(replay.body, deposit.body);
  EXPECT_EQ(rowCounts(), after_deposit);
  const auto reused = stack_->request("POST", "/v1/accounts/ACC-2/deposits", admin,
                                      R"({"amount":"51.00","reference":"dep-r"})");
  EXPECT_EQ(errorCode(reused), "IDEMPOTENCY_KEY_REUSED");

  const auto withdrawal = stack_->request("POST", "/v1/accounts/ACC-2/withdrawals", admin,
                                          R"({"amount":"25.00","reference":"wd-r"})");
  ASSERT_EQ(withdrawal.status, 201) << withdrawal.body;
  const auto withdrawal_replay = stack_->request("POST", "/v1/accounts/ACC-2/withdrawals", admin,
                                                 R"({"amount":"25.00","reference":"wd-r"})");
  EXPECT_EQ(withdrawal_replay.status, 200);
  EXPECT_EQ(withdrawal_replay.body, withdrawal.body);
  const auto too_much = stack_->request("POST", "/v1/accounts/ACC-2/withdrawals", admin,
                                        R"({"amount":"99999.00","reference":"wd-big"})");
  EXPECT_EQ(too_much.status, 422);
  EXPECT_EQ(errorCode(too_much), "INSUFFICIENT_FUNDS");
  const Json account = Json::parse(stack_->request("GET", "/v1/accounts/ACC-2", admin).body);
  EXPECT_EQ(account["cash_balance"], "1025.00");
  EXPECT_EQ(stack_->invariantViolations(), std::vector<std::string>{});
}

TEST_F(LedgerApiTest, SecurityDepositThenSellReservesShares) {
  const std::string admin = stack_->adminToken();
  const auto deposited =
      stack_->request("POST", "/v1/accounts/ACC-1/security-deposits", admin,
                      R"({"symbol":"MSFT","quantity":100,"price":"150.00","reference":"sd-1"})");
  ASSERT_EQ(deposited.status, 201) << deposited.body;
  EXPECT_EQ(Json::parse(deposited.body)["average_cost"], "150.00");
  const auto sell =
      order("ACC-1", "sell-1", R"({"symbol":"MSFT","side":"SELL","type":"MARKET","quantity":40})");
  ASSERT_EQ(sell.status, 202) << sell.body;
  const auto too_many = order(
      "ACC-1", "sell-2",
      R"({"symbol":"MSFT","side":"SELL","type":"LIMIT","quantity":61,"limit_price":"200.00"})");
  EXPECT_EQ(errorCode(too_many), "INSUFFICIENT_POSITION");
  const Json positions = Json::parse(
      stack_->request("GET", "/v1/accounts/ACC-1/positions", stack_->traderToken({"ACC-1"})).body);
  ASSERT_EQ(positions["positions"].size(), 1u);
  EXPECT_EQ(positions["positions"][0]["quantity"], 100);
  EXPECT_EQ(positions["positions"][0]["quantity_reserved"], 40);
  EXPECT_EQ(positions["positions"][0]["quantity_available"], 60);
  EXPECT_EQ(stack_->invariantViolations(), std::vector<std::string>{});
}

TEST_F(LedgerApiTest, CancelMovesToPendingCancelOnceAndWritesOutbox) {
  const auto placed = order("ACC-1", "cancel-1", kBuy);
  ASSERT_EQ(placed.status, 202);
  const std::string id = Json::parse(placed.body)["order_id"];
  const std::string token = stack_->traderToken({"ACC-1"});
  const auto canceled = stack_->request("DELETE", "/v1/orders/" + id, token);
  EXPECT_EQ(canceled.status, 202) << canceled.body;
  EXPECT_EQ(Json::parse(canceled.body)["status"], "PENDING_CANCEL");
  const auto again = stack_->request("DELETE", "/v1/orders/" + id, token);
  EXPECT_EQ(again.status, 202);
  EXPECT_EQ(stack_->sqlCount("SELECT count(*) FROM outbox WHERE kind = 'CANCEL' AND order_id = '" +
                             id + "'"),
            1);
  // A filled order is terminal: 409 ORDER_NOT_CANCELABLE, nothing written.
  stack_->sql(
      "UPDATE orders SET status = 'FILLED', filled_quantity = quantity, reserved_amount = 0 "
      "WHERE order_id = '" +
      id + "' RETURNING 1");
  const auto filled = stack_->request("DELETE", "/v1/orders/" + id, token);
  EXPECT_EQ(filled.status, 409);
  EXPECT_EQ(errorCode(filled), "ORDER_NOT_CANCELABLE");
  stack_->sql(
      "UPDATE orders SET status = 'PENDING_CANCEL', filled_quantity = 0, reserved_amount = 1872.50 "
      "WHERE order_id = '" +
      id + "' RETURNING 1");
}

TEST_F(LedgerApiTest, ListsPageWithCursorsAndFilterByStatus) {
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(order("ACC-1", "page-" + std::to_string(i), kBuy).status, 202);
  const std::string token = stack_->traderToken({"ACC-1"});
  std::set<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    const auto page =
        Json::parse(stack_
                        ->request("GET",
                                  "/v1/accounts/ACC-1/orders?status=PENDING_NEW&limit=2" +
                                      (cursor.empty() ? "" : "&cursor=" + cursor),
                                  token)
                        .body);
    for (const auto& item : page["orders"]) {
      EXPECT_EQ(item["status"], "PENDING_NEW");
      EXPECT_TRUE(seen.insert(item["order_id"].get<std::string>()).second);
    }
    cursor = page["next_cursor"].is_null() ? "" : page["next_cursor"].get<std::string>();
    ++pages;
  } while (!cursor.empty() && pages < 100);
  EXPECT_EQ(
      static_cast<long long>(seen.size()),
      stack_->sqlCount(
          "SELECT count(*) FROM orders WHERE account_id = 'ACC-1' AND status = 'PENDING_NEW'"));
  const auto journal =
      Json::parse(stack_->request("GET", "/v1/accounts/ACC-1/journal?limit=3", token).body);
  ASSERT_EQ(journal["entries"].size(), 3u);
  for (const auto& entry : journal["entries"]) EXPECT_EQ(entry["lines"].size(), 2u);
  EXPECT_FALSE(journal["next_cursor"].is_null());
}

struct BadRequest {
  std::string name;
  std::string method;
  std::string path;
  std::string body;
  std::map<std::string, std::string> headers;
  int status;
  std::string code;
};

std::vector<BadRequest> badRequests() {
  const std::string orders = "/v1/accounts/ACC-1/orders";
  const std::map<std::string, std::string> key = {{"Idempotency-Key", "bad-1"}};
  auto buy = [](const std::string& fields) {
    return R"({"symbol":"AAPL","side":"BUY","type":"LIMIT",)" + fields + "}";
  };
  return {
      {"malformed json", "POST", orders, "{\"symbol\":", key, 400, "INVALID_REQUEST"},
      {"not an object", "POST", orders, "[1,2]", key, 400, "INVALID_REQUEST"},
      {"empty body", "POST", orders, "", key, 400, "INVALID_REQUEST"},
      {"quantity zero", "POST", orders, buy(R"("quantity":0,"limit_price":"1.00")"), key, 400,
       "INVALID_REQUEST"},
      {"quantity negative", "POST", orders, buy(R"("quantity":-5,"limit_price":"1.00")"), key, 400,
       "INVALID_REQUEST"},
      {"quantity float", "POST", orders, buy(R"("quantity":1.5,"limit_price":"1.00")"), key, 400,
       "INVALID_REQUEST"},
      {"quantity too large", "POST", orders, buy(R"("quantity":1000001,"limit_price":"0.01")"), key,
       400, "INVALID_REQUEST"},
      {"quantity overflow", "POST", orders,
       buy(R"("quantity":99999999999999999999999,"limit_price":"1.00")"), key, 400,
       "INVALID_REQUEST"},
      {"quantity bool", "POST", orders, buy(R"("quantity":true,"limit_price":"1.00")"), key, 400,
       "INVALID_REQUEST"},
      {"quantity text", "POST", orders, buy(R"("quantity":"ten","limit_price":"1.00")"), key, 400,
       "INVALID_REQUEST"},
      {"sub-penny above 1.00", "POST", orders, buy(R"("quantity":1,"limit_price":"187.251")"), key,
       400, "INVALID_REQUEST"},
      {"5 decimals below 1.00", "POST", orders, buy(R"("quantity":1,"limit_price":"0.12345")"), key,
       400, "INVALID_REQUEST"},
      {"price as number", "POST", orders, buy(R"("quantity":1,"limit_price":187.25)"), key, 400,
       "INVALID_REQUEST"},
      {"price zero", "POST", orders, buy(R"("quantity":1,"limit_price":"0")"), key, 400,
       "INVALID_REQUEST"},
      {"price negative", "POST", orders, buy(R"("quantity":1,"limit_price":"-1.00")"), key, 400,
       "INVALID_REQUEST"},
      {"price overflow", "POST", orders,
       buy(R"("quantity":1,"limit_price":"99999999999999999999.00")"), key, 400, "INVALID_REQUEST"},
      {"price exponent", "POST", orders, buy(R"("quantity":1,"limit_price":"1e3")"), key, 400,
       "INVALID_REQUEST"},
      {"notional over max", "POST", orders, buy(R"("quantity":10000,"limit_price":"100.01")"), key,
       400, "INVALID_REQUEST"},
      {"limit without price", "POST", orders, buy(R"("quantity":1)"), key, 400, "INVALID_REQUEST"},
      {"market with price", "POST", orders,
       R"({"symbol":"AAPL","side":"SELL","type":"MARKET","quantity":1,"limit_price":"1.00"})", key,
       400, "INVALID_REQUEST"},
      {"market buy", "POST", orders,
       R"({"symbol":"AAPL","side":"BUY","type":"MARKET","quantity":1})", key, 422,
       "UNSUPPORTED_ORDER"},
      {"non-ascii symbol", "POST", orders,
       R"({"symbol":"ÄAPL","side":"BUY","type":"LIMIT","quantity":1,"limit_price":"1.00"})", key,
       400, "INVALID_REQUEST"},
      {"lowercase symbol", "POST", orders,
       R"({"symbol":"aapl","side":"BUY","type":"LIMIT","quantity":1,"limit_price":"1.00"})", key,
       400, "INVALID_REQUEST"},
      {"symbol too long", "POST", orders,
       R"({"symbol":"ABCDEFGHIJK","side":"BUY","type":"LIMIT","quantity":1,"limit_price":"1.00"})",
       key, 400, "INVALID_REQUEST"},
      {"missing symbol", "POST", orders,
       R"({"side":"BUY","type":"LIMIT","quantity":1,"limit_price":"1.00"})", key, 400,
       "INVALID_REQUEST"},
      {"missing side", "POST", orders,
       R"({"symbol":"AAPL","type":"LIMIT","quantity":1,"limit_price":"1.00"})", key, 400,
       "INVALID_REQUEST"},
      {"unknown side", "POST", orders,
       R"({"symbol":"AAPL","side":"SHORT","type":"LIMIT","quantity":1,"limit_price":"1.00"})", key,
       400, "INVALID_REQUEST"},
      {"unknown type", "POST", orders,
       R"({"symbol":"AAPL","side":"BUY","type":"STOP","quantity":1,"limit_price":"1.00"})", key,
       400, "INVALID_REQUEST"},
      {"unknown time in force", "POST", orders,
       buy(R"("quantity":1,"limit_price":"1.00","time_in_force":"FOK")"), key, 400,
       "INVALID_REQUEST"},
      {"unknown broker", "POST", orders,
       buy(R"("quantity":1,"limit_price":"1.00","broker":"NOPE")"), key, 400, "INVALID_REQUEST"},
      {"unknown field", "POST", orders, buy(R"("quantity":1,"limit_price":"1.00","leverage":10)"),
       key, 400, "INVALID_REQUEST"},
      {"missing idempotency key",
       "POST",
       orders,
       buy(R"("quantity":1,"limit_price":"1.00")"),
       {},
       400,
       "INVALID_REQUEST"},
      {"over-long idempotency key",
       "POST",
       orders,
       buy(R"("quantity":1,"limit_price":"1.00")"),
       {{"Idempotency-Key", std::string(65, 'k')}},
       400,
       "INVALID_REQUEST"},
      {"idempotency key bad chars",
       "POST",
       orders,
       buy(R"("quantity":1,"limit_price":"1.00")"),
       {{"Idempotency-Key", "a b"}},
       400,
       "INVALID_REQUEST"},
      {"bad channel",
       "POST",
       orders,
       buy(R"("quantity":1,"limit_price":"1.00")"),
       {{"Idempotency-Key", "bad-2"}, {"X-Channel", "FAX"}},
       400,
       "INVALID_REQUEST"},
      {"1 MiB body", "POST", orders, std::string(1024 * 1024, ' '), key, 413, "PAYLOAD_TOO_LARGE"},
      {"insufficient funds", "POST", "/v1/accounts/ACC-2/orders",
       buy(R"("quantity":1000,"limit_price":"999.00")"), key, 422, "INSUFFICIENT_FUNDS"},
      {"unknown account", "GET", "/v1/accounts/NOPE", "", {}, 404, "NOT_FOUND"},
      {"unknown order", "GET", "/v1/orders/O00000000000000Z", "", {}, 404, "NOT_FOUND"},
      {"deposit with zero",
       "POST",
       "/v1/accounts/ACC-1/deposits",
       R"({"amount":"0.00","reference":"z"})",
       {},
       400,
       "INVALID_REQUEST"},
      {"deposit sub-cent",
       "POST",
       "/v1/accounts/ACC-1/deposits",
       R"({"amount":"1.001","reference":"z"})",
       {},
       400,
       "INVALID_REQUEST"},
      {"deposit unknown account",
       "POST",
       "/v1/accounts/NOPE/deposits",
       R"({"amount":"1.00","reference":"z"})",
       {},
       404,
       "NOT_FOUND"},
      {"account exists",
       "POST",
       "/v1/accounts",
       R"({"account_id":"ACC-1","currency":"USD"})",
       {},
       409,
       "ALREADY_EXISTS"},
      {"account bad currency",
       "POST",
       "/v1/accounts",
       R"({"account_id":"ACC-9","currency":"XXX"})",
       {},
       400,
       "INVALID_REQUEST"},
      {"bad list limit",
       "GET",
       "/v1/accounts/ACC-1/orders?limit=0",
       "",
       {},
       400,
       "INVALID_REQUEST"},
      {"bad status filter",
       "GET",
       "/v1/accounts/ACC-1/orders?status=DONE",
       "",
       {},
       400,
       "INVALID_REQUEST"},
  };
}

TEST_F(LedgerApiTest, BadRequestsGetExactStatusAndCodeAndChangeNothing) {
  const auto cases = badRequests();
  ASSERT_GE(cases.size(), 30u);
  const std::string admin = stack_->adminToken();
  const std::string before = rowCounts();
  for (const auto& bad : cases) {
    const auto response = stack_->request(bad.method, bad.path, admin, bad.body, bad.headers);
    EXPECT_EQ(response.status, bad.status) << bad.name << ": " << response.body;
    EXPECT_EQ(errorCode(response), bad.code) << bad.name;
    EXPECT_EQ(rowCounts(), before) << bad.name;
  }
  // The service is still serving.
  EXPECT_EQ(stack_->request("GET", "/healthz", "").status, 200);
}

TEST_F(LedgerApiTest, AuthenticationAndAuthorization) {
  const std::string orders = "/v1/accounts/ACC-1/orders";
  const std::map<std::string, std::string> key = {{"Idempotency-Key", "auth-1"}};
  const std::string before = rowCounts();
  EXPECT_EQ(errorCode(stack_->request("POST", orders, "", kBuy, key)), "UNAUTHENTICATED");
  // A character inside the signature: the last one carries 2 unused bits (43 base64url
  // characters for 32 bytes), so changing it from 'A' to 'B' can leave the signature as it was.
  std::string forged = stack_->traderToken({"ACC-1"});
  char& inside = forged[forged.rfind('.') + 1];
  inside = inside == 'A' ? 'B' : 'A';
  EXPECT_EQ(errorCode(stack_->request("POST", orders, forged, kBuy, key)), "UNAUTHENTICATED");
  const std::string wrong_secret =
      fbg::mintToken(fbg::Principal{"x", fbg::Role::Admin, {}}, "another-secret-0123456789",
                     std::time(nullptr) + 60);
  EXPECT_EQ(errorCode(stack_->request("GET", "/v1/accounts/ACC-1", wrong_secret)),
            "UNAUTHENTICATED");
  const std::string expired =
      fbg::mintToken(fbg::Principal{"x", fbg::Role::Admin, {}},
                     "integration-test-secret-0123456789", std::time(nullptr) - 5);
  const auto expired_response = stack_->request("GET", "/v1/accounts/ACC-1", expired);
  EXPECT_EQ(expired_response.status, 401);
  EXPECT_EQ(errorCode(expired_response), "UNAUTHENTICATED");
  const auto other_account =
      stack_->request("POST", orders, stack_->traderToken({"ACC-2"}), kBuy, key);
  EXPECT_EQ(other_account.status, 403);
  EXPECT_EQ(errorCode(other_account), "FORBIDDEN");
  const auto trader_admin_route =
      stack_->request("POST", "/v1/accounts/ACC-1/deposits", stack_->traderToken({"ACC-1"}),
                      R"({"amount":"1.00","reference":"t"})");
  EXPECT_EQ(trader_admin_route.status, 403);
  EXPECT_EQ(errorCode(stack_->request("POST", "/v1/accounts", stack_->traderToken({"ACC-1"}),
                                      R"({"account_id":"T-1","currency":"USD"})")),
            "FORBIDDEN");
  EXPECT_EQ(rowCounts(), before);
  // The operations routes need no token.
  EXPECT_EQ(stack_->request("GET", "/healthz", "").status, 200);
  EXPECT_EQ(stack_->request("GET", "/readyz", "").status, 200);
  EXPECT_EQ(stack_->request("GET", "/metrics", "").status, 200);
}

// A second ledger started on the port of a running one (the same config, say) must refuse to
// start and say why. Poco's ServerSocket(address) sets SO_REUSEPORT, with which the second one
// listened beside the first and the kernel split the connections between them.
TEST_F(LedgerApiTest, ASecondLedgerOnTheSamePortSaysWhyAndExits) {
  const std::string log_path = testing::TempDir() + "second-ledger.log";
  std::remove(log_path.c_str());
  ChildProcess second;
  second.launch(FBG_LEDGER_BINARY, {"serve", "--config", stack_->configPath()}, {}, log_path);
  EXPECT_EQ(second.waitForExit(30'000), std::optional<int>(1)) << logTail(log_path);
  EXPECT_NE(
      logTail(log_path).find("cannot listen on 127.0.0.1:" + std::to_string(stack_->port()) + ": "),
      std::string::npos)
      << logTail(log_path);
  EXPECT_EQ(logTail(log_path).find("Sanitizer"), std::string::npos) << logTail(log_path);
  EXPECT_EQ(stack_->request("GET", "/healthz", "").status, 200);
}

}  // namespace
}  // namespace fbg::test
