// The ledger applying broker events through the real service, PostgreSQL and Redis: events are
// written to order-events and executions exactly as the gateway and the fill receiver write
// them (gateway/src/event_relay.h, fill_receiver/src/execution_relay.h).
#include <gtest/gtest.h>

#include <chrono>
#include <future>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "common/time_text.h"
#include "ledger_stack.h"
#include "support/wait.h"

namespace fbg::test {
namespace {

using Json = nlohmann::json;
using std::chrono::seconds;

class LedgerApplyTest : public ::testing::Test {
 protected:
  explicit LedgerApplyTest(std::vector<std::string> extra_config = {})
      : stack(std::move(extra_config)) {}
  void SetUp() override { stack.createFundedAccount("ACC-1", "10000.00"); }

  std::string place(const std::string& body, const std::string& key) {
    const auto placed =
        stack.request("POST", "/v1/accounts/ACC-1/orders", stack.traderToken({"ACC-1"}), body,
                      {{"Idempotency-Key", key}});
    EXPECT_EQ(placed.status, 202) << placed.body;
    return Json::parse(placed.body)["order_id"];
  }

  void orderEvent(const std::string& order_id, const std::string& kind, int64_t cum_qty = 0,
                  const std::string& suffix = "") {
    const std::string event_id = order_id + ":" + kind + suffix;
    const Json payload = {{"event_id", event_id}, {"kind", kind},           {"order_id", order_id},
                          {"broker", "SIM-A"},    {"cum_qty", cum_qty},     {"reason", nullptr},
                          {"cancel_request", 0},  {"broker_order_id", "B1"}};
    stack.redis.command({"XADD", "order-events", "*", "event_id", event_id, "kind", kind,
                         "order_id", order_id, "payload", payload.dump()});
  }

  // One report as the fill receiver publishes it; seq is its arrival number there. A repeated
  // exec_id (a report relayed again under a new seq) is given explicitly.
  // received_at: when the fill receiver stored it (RFC 3339); by default two days before this
  // test's date, an event long behind.
  void execution(const std::string& order_id, const std::string& exec_type, int64_t last_qty,
                 const std::string& last_px, int64_t cum_qty, int64_t leaves_qty,
                 const std::string& repeated_exec_id = "",
                 const std::string& received_at = "2026-11-25T10:00:00.000000Z") {
    const int64_t seq = ++seq_;
    const std::string exec_id =
        repeated_exec_id.empty() ? "E" + std::to_string(seq) : repeated_exec_id;
    const Json payload = {{"seq", seq},
                          {"broker", "SIM-A"},
                          {"exec_id", exec_id},
                          {"order_id", order_id},
                          {"broker_order_id", "B1"},
                          {"exec_type", exec_type},
                          {"ord_status", leaves_qty == 0 && cum_qty > 0 ? "2" : "1"},
                          {"side", "BUY"},
                          {"symbol", "AAPL"},
                          {"last_qty", last_qty},
                          {"last_px", last_px},
                          {"cum_qty", cum_qty},
                          {"leaves_qty", leaves_qty},
                          {"avg_px", last_px},
                          {"transact_time", "20261125-10:00:00.000"},
                          {"received_at", received_at}};
    stack.redis.command({"XADD", "executions", std::to_string(seq) + "-0", "seq",
                         std::to_string(seq), "broker", "SIM-A", "exec_id", exec_id, "order_id",
                         order_id, "payload", payload.dump()});
  }

  Json order(const std::string& order_id) {
    return Json::parse(stack.request("GET", "/v1/orders/" + order_id, stack.adminToken()).body);
  }
  Json account() {
    return Json::parse(stack.request("GET", "/v1/accounts/ACC-1", stack.adminToken()).body);
  }
  // A BUY of 10 AAPL at 100.00 on ACC-1 and one on a new ACC-2 (funded like ACC-1); their ids.
  std::pair<std::string, std::string> buyOnTwoAccounts(const std::string& key_prefix) {
    stack.createFundedAccount("ACC-2", "10000.00");
    const std::string body =
        R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":10,"limit_price":"100.00"})";
    const std::string first = place(body, key_prefix + "-1");
    const auto placed =
        stack.request("POST", "/v1/accounts/ACC-2/orders", stack.traderToken({"ACC-2"}), body,
                      {{"Idempotency-Key", key_prefix + "-2"}});
    EXPECT_EQ(placed.status, 202) << placed.body;
    return {first, Json::parse(placed.body).value("order_id", "")};
  }
  bool waitForStatus(const std::string& order_id, const std::string& status) {
    return waitUntil([&] { return order(order_id)["status"] == status; }, seconds(30));
  }

  LedgerStack stack;
  int64_t seq_ = 0;
};

TEST_F(LedgerApplyTest, BuyPartiallyFilledAtABetterPriceThenCanceledReleasesTheRest) {
  const std::string id =
      place(R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":10,"limit_price":"100.00"})",
            "buy-1");
  orderEvent(id, "ACKED");
  execution(id, "0", 0, "0.00", 0, 10);
  execution(id, "F", 4, "99.50", 4, 6);
  ASSERT_TRUE(waitForStatus(id, "PARTIALLY_FILLED")) << order(id).dump();
  EXPECT_EQ(account()["cash_balance"], "9602.00");  // 10000 - 4 x 99.50
  EXPECT_EQ(account()["cash_reserved"], "600.00");  // 6 x 100.00 still held
  orderEvent(id, "CANCELED", 4, ":1");
  ASSERT_TRUE(waitForStatus(id, "CANCELED"));
  const Json done = order(id);
  EXPECT_EQ(done["filled_quantity"], 4);
  EXPECT_EQ(done["average_fill_price"], "99.50");
  EXPECT_EQ(done["reserved_amount"], "0.00");
  EXPECT_EQ(account()["cash_reserved"], "0.00");
  EXPECT_EQ(account()["cash_available"], "9602.00");
  const Json positions =
      Json::parse(stack.request("GET", "/v1/accounts/ACC-1/positions", stack.adminToken()).body);
  EXPECT_EQ(positions["positions"][0]["quantity"], 4);
  EXPECT_EQ(positions["positions"][0]["average_cost"], "99.50");
  EXPECT_TRUE(stack.invariantViolations().empty());
}

TEST_F(LedgerApplyTest, SellFromASecurityDepositBooksProceeds) {
  const auto deposited =
      stack.request("POST", "/v1/accounts/ACC-1/security-deposits", stack.adminToken(),
                    R"({"symbol":"AAPL","quantity":20,"price":"50.00","reference":"sd-1"})");
  ASSERT_EQ(deposited.status, 201) << deposited.body;
  const std::string id =
      place(R"({"symbol":"AAPL","side":"SELL","type":"LIMIT","quantity":10,"limit_price":"60.00"})",
            "sell-1");
  execution(id, "F", 10, "61.00", 10, 0);  // a fill before any acknowledgement
  ASSERT_TRUE(waitForStatus(id, "FILLED")) << order(id).dump();
  orderEvent(id, "ACKED");  // late: changes nothing
  EXPECT_EQ(account()["cash_balance"], "10610.00");
  const Json positions =
      Json::parse(stack.request("GET", "/v1/accounts/ACC-1/positions", stack.adminToken()).body);
  EXPECT_EQ(positions["positions"][0]["quantity"], 10);
  EXPECT_EQ(positions["positions"][0]["quantity_reserved"], 0);
  EXPECT_EQ(positions["positions"][0]["average_cost"], "50.00");
  ASSERT_TRUE(waitUntil([&] { return stack.sqlCount("SELECT count(*) FROM applied_events") == 1; },
                        seconds(30)));
  EXPECT_EQ(order(id)["status"], "FILLED");
  EXPECT_TRUE(stack.invariantViolations().empty());
}

TEST_F(LedgerApplyTest, DuplicatesAndAnOverfillAreNeverBookedTwice) {
  const std::string id =
      place(R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":10,"limit_price":"100.00"})",
            "buy-2");
  execution(id, "F", 10, "100.00", 10, 0);
  ASSERT_TRUE(waitForStatus(id, "FILLED"));  // consumers run in parallel: fix the order here
  // The same report again (a drop-copy duplicate relayed twice under a new stream id is
  // impossible: the fill receiver dedups; here the stream entry itself is delivered again).
  stack.redis.command({"XADD", "executions", "100-0", "seq", "1", "broker", "SIM-A", "exec_id",
                       "E1", "order_id", id, "payload",
                       Json{{"seq", 1},
                            {"broker", "SIM-A"},
                            {"exec_id", "E1"},
                            {"order_id", id},
                            {"exec_type", "F"},
                            {"ord_status", "2"},
                            {"last_qty", 10},
                            {"last_px", "100.00"},
                            {"cum_qty", 10},
                            {"leaves_qty", 0}}
                           .dump()});
  seq_ = 100;
  execution(id, "F", 1, "100.00", 11, 0);  // a broker error: one share too many
  // Consumers run in parallel: the repeated report and the overfill may be taken in any order.
  ASSERT_TRUE(waitUntil(
      [&] {
        return stack.metric("ledger_fill_alarms_total") == 1 &&
               stack.metric("ledger_events_duplicate_total") == 1;
      },
      seconds(30)));
  const Json done = order(id);
  EXPECT_EQ(done["status"], "FILLED");
  EXPECT_EQ(done["filled_quantity"], 10);
  EXPECT_EQ(account()["cash_balance"], "9000.00");
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM executions WHERE NOT booked"), 1);
  EXPECT_TRUE(stack.invariantViolations().empty());
}

TEST_F(LedgerApplyTest, LedgerKilledMidBatchAppliesEachFillOnceAfterRestart) {
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) {
    ids.push_back(place(
        R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":10,"limit_price":"20.00"})",
        "many-" + std::to_string(i)));
  }
  for (const auto& id : ids) {
    for (int slice = 1; slice <= 5; ++slice) {
      execution(id, "F", 2, "19.00", 2 * slice, 10 - 2 * slice);
    }
  }
  ASSERT_TRUE(waitUntil([&] { return stack.sqlCount("SELECT count(*) FROM executions") >= 20; },
                        seconds(30)));
  stack.killLedger();
  stack.startLedger();
  ASSERT_TRUE(waitUntil([&] { return stack.sqlCount("SELECT count(*) FROM executions") == 200; },
                        seconds(60)));
  ASSERT_TRUE(waitUntil(
      [&] { return stack.sqlCount("SELECT count(*) FROM orders WHERE status = 'FILLED'") == 40; },
      seconds(30)));
  EXPECT_EQ(account()["cash_balance"], "2400.00");  // 10000 - 400 x 19.00
  EXPECT_EQ(account()["cash_reserved"], "0.00");
  EXPECT_TRUE(stack.invariantViolations().empty());
}

// One stream read holding two accounts' fills interleaved, a report repeated inside the read, and
// a report for an order the ledger does not hold: grouped by account, each applied once, in
// order, and the polling cursor at the highest seq after the commits.
TEST_F(LedgerApplyTest, OneReadOfTwoAccountsWithARepeatAppliesEachReportOnce) {
  const auto [first, second] = buyOnTwoAccounts("batch");
  stack.killLedger();  // the entries below wait in the stream and come in one read
  execution(first, "F", 4, "100.00", 4, 6);        // seq 1, E1
  execution(second, "F", 5, "99.00", 5, 5);        // seq 2
  execution(first, "F", 4, "100.00", 4, 6, "E1");  // seq 3: E1 again
  execution("O-NOT-HELD", "F", 1, "1.00", 1, 0);   // seq 4
  execution(first, "F", 6, "100.00", 10, 0);       // seq 5
  execution(second, "F", 5, "99.00", 10, 0);       // seq 6
  stack.startLedger();
  ASSERT_TRUE(waitForStatus(first, "FILLED")) << order(first).dump();
  ASSERT_TRUE(waitForStatus(second, "FILLED")) << order(second).dump();
  ASSERT_TRUE(waitUntil(
      [&] {
        return stack.sqlCount("SELECT position FROM consumer_cursors WHERE name = 'executions'") ==
               6;
      },
      seconds(30)));
  EXPECT_EQ(account()["cash_balance"], "9000.00");
  const Json other =
      Json::parse(stack.request("GET", "/v1/accounts/ACC-2", stack.adminToken()).body);
  EXPECT_EQ(other["cash_balance"], "9010.00");  // 10 x 99.00
  EXPECT_EQ(other["cash_reserved"], "0.00");
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM executions"), 4);
  EXPECT_EQ(stack.metric("ledger_events_duplicate_total"), 1);
  EXPECT_EQ(stack.metric("ledger_events_unknown_order_total"), 1);
  // Both accounts' fills went in one write: each journal entry on its own account.
  EXPECT_GE(stack.metric("ledger_event_batches_across_accounts_total"), 1);
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM journal_entries WHERE account_id = 'ACC-1' "
                           "AND exec_id IS NOT NULL"),
            2);
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM journal_entries WHERE account_id = 'ACC-2' "
                           "AND exec_id IS NOT NULL"),
            2);
  EXPECT_TRUE(stack.invariantViolations().empty());
}

// Waits for an account lock for up to 20 s, so that a lock held elsewhere (as by an intake
// request) would hold up the whole read for that long if the applier waited for it first.
class LedgerApplyLongLockWaitTest : public LedgerApplyTest {
 protected:
  LedgerApplyLongLockWaitTest() : LedgerApplyTest({"lock_wait_ms_max = 20000"}) {}
};

// A lock held elsewhere holds up that account's events only (event_applier.h): in one read, the
// other account's fill is applied while the lock is held, and the held account's once it is
// released. Before the applier took locks in rounds, the held account came first in this read
// and its lock was waited for before anything else.
TEST_F(LedgerApplyLongLockWaitTest, ALockHeldElsewhereHoldsUpOnlyThatAccountsEvents) {
  const auto [first, second] = buyOnTwoAccounts("held");
  stack.killLedger();  // the entries below wait in the stream and come in one read
  execution(first, "F", 10, "100.00", 10, 0);  // seq 1: the held account first
  execution(second, "F", 10, "99.00", 10, 0);  // seq 2
  stack.redis.command({"SET", "lock:account:ACC-1", "held-by-the-test", "PX", "60000"});
  stack.startLedger();
  // A structured binding is captured by name (clang before 16 cannot capture it otherwise).
  ASSERT_TRUE(waitUntil([&, id = second] { return order(id)["status"] == "FILLED"; }, seconds(10)))
      << order(second).dump();
  EXPECT_EQ(stack.redis.command({"EXISTS", "lock:account:ACC-1"}).integer, 1);
  EXPECT_EQ(order(first)["status"], "PENDING_NEW") << order(first).dump();
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM executions WHERE order_id = '" + first + "'"), 0);
  stack.redis.command({"DEL", "lock:account:ACC-1"});
  ASSERT_TRUE(waitForStatus(first, "FILLED")) << order(first).dump();
  EXPECT_EQ(account()["cash_balance"], "9000.00");
  EXPECT_TRUE(stack.invariantViolations().empty());
}

// Fills first (event_lag.h), with both waits far beyond the test's deadlines, so that only the
// reader's progress can end them. One reader per stream: a reader that is behind is its whole
// stream, a queue.
class LedgerFillsFirstTest : public LedgerApplyTest {
 protected:
  explicit LedgerFillsFirstTest(const std::string& consumer_threads = "1")
      : LedgerApplyTest({"lock_wait_ms_max = 60000", "intake_events_lag_ms_max = 100",
                         "intake_events_lag_wait_ms_max = 60000",
                         "consumer_threads = " + consumer_threads}) {}
};

// The same with two readers per stream (the default).
class LedgerFillsFirstTwoReadersTest : public LedgerFillsFirstTest {
 protected:
  LedgerFillsFirstTwoReadersTest() : LedgerFillsFirstTest("2") {}
};

// The stream's one reader stuck on a fill received long ago (its account's lock held elsewhere)
// holds back new orders of every account; they are placed as soon as that fill is applied.
TEST_F(LedgerFillsFirstTest, ANewOrderWaitsWhileTheReadersAreBehind) {
  const auto [first, second] = buyOnTwoAccounts("lag");
  stack.redis.command({"SET", "lock:account:ACC-1", "held-by-the-test", "PX", "60000"});
  execution(first, "F", 10, "100.00", 10, 0);  // received_at two days before this test's date
  const std::string body =
      R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":1,"limit_price":"100.00"})";
  auto placed = std::async(std::launch::async, [&] {
    return stack.request("POST", "/v1/accounts/ACC-2/orders", stack.traderToken({"ACC-2"}), body,
                         {{"Idempotency-Key", "lag-3"}});
  });
  ASSERT_TRUE(waitUntil([&] { return stack.metric("ledger_intake_event_lag_waits_total") == 1; },
                        seconds(10)))
      << stack.logTail();
  EXPECT_EQ(placed.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  EXPECT_EQ(order(first)["status"], "PENDING_NEW");
  // Reads do not wait.
  EXPECT_EQ(stack.request("GET", "/v1/orders/" + second, stack.adminToken()).status, 200);
  stack.redis.command({"DEL", "lock:account:ACC-1"});
  ASSERT_EQ(placed.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  const auto answer = placed.get();
  EXPECT_EQ(answer.status, 202) << answer.body;
  EXPECT_EQ(order(first)["status"], "FILLED");
  EXPECT_EQ(stack.metric("ledger_intake_event_lag_waits_total"), 1);
  EXPECT_TRUE(stack.invariantViolations().empty());
}

// A fill read as soon as it was stored, then stuck on its account's lock for longer than
// intake_events_lag_ms_max while the stream's other reader is free: one slow event, not a queue.
// A new order on another account is placed at once (it would wait 60 s otherwise), and the fill
// is applied once the lock is free.
TEST_F(LedgerFillsFirstTwoReadersTest, ANewOrderDoesNotWaitForOneSlowEvent) {
  const auto [first, second] = buyOnTwoAccounts("slow");
  stack.redis.command({"SET", "lock:account:ACC-1", "held-by-the-test", "PX", "60000"});
  // Stored 50 ms before it reaches the stream: a reader that takes it shows a lag of 50 ms or
  // more (the gauge), well under the bound.
  const auto stored = std::chrono::system_clock::now() - std::chrono::milliseconds(50);
  execution(first, "F", 10, "100.00", 10, 0, "", rfc3339Timestamp(stored));
  // A reader is applying it (stuck on the lock), and it is older than the lag bound (100 ms).
  ASSERT_TRUE(waitUntil(
      [&] {
        return stack.metric("ledger_event_lag_ms") >= 50 &&
               std::chrono::system_clock::now() - stored > std::chrono::milliseconds(300);
      },
      seconds(10)))
      << stack.logTail();
  const std::string body =
      R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":1,"limit_price":"100.00"})";
  auto placed = std::async(std::launch::async, [&] {
    return stack.request("POST", "/v1/accounts/ACC-2/orders", stack.traderToken({"ACC-2"}), body,
                         {{"Idempotency-Key", "slow-3"}});
  });
  ASSERT_EQ(placed.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  const auto answer = placed.get();
  EXPECT_EQ(answer.status, 202) << answer.body;
  EXPECT_EQ(stack.metric("ledger_intake_event_lag_waits_total"), 0);
  EXPECT_EQ(order(first)["status"], "PENDING_NEW");  // still stuck behind the lock
  stack.redis.command({"DEL", "lock:account:ACC-1"});
  ASSERT_TRUE(waitForStatus(first, "FILLED")) << order(first).dump();
  EXPECT_TRUE(stack.invariantViolations().empty());
}

// The group's one write (migration 004): a row another writer changed since the read makes the
// whole statement roll back, the writes before it included, with the error GuardedWriter reads
// as a conflict to retry.
TEST_F(LedgerApplyTest, AWriteAtAVersionNoLongerHeldRollsBackTheWholeGroup) {
  const std::string order_id =
      place(R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":10,"limit_price":"100.00"})",
            "k1");
  const std::string account_version =
      stack.sql("SELECT version FROM accounts WHERE account_id = 'ACC-1'");
  const std::string order_version =
      stack.sql("SELECT version FROM orders WHERE order_id = '" + order_id + "'");
  const long long revisions_before = stack.sqlCount("SELECT count(*) FROM account_revisions");
  const Json ops = Json::array({{{"row", "account"},
                                 {"id", "ACC-1"},
                                 {"actor", "test"},
                                 {"request_id", "r1"},
                                 {"cash_balance", "1.00"},
                                 {"cash_reserved", "0"},
                                 {"version", std::stoll(account_version)}},
                                {{"row", "order"},
                                 {"id", order_id},
                                 {"actor", "test"},
                                 {"request_id", "r1"},
                                 {"status", "NEW"},
                                 {"filled_quantity", 0},
                                 {"fill_notional", "0"},
                                 {"reserved_amount", "0"},
                                 {"reserved_quantity", 0},
                                 {"reject_reason", ""},
                                 {"version", std::stoll(order_version) + 1}}});
  pqxx::connection connection(stack.postgres.uri("ledger"));
  pqxx::nontransaction statement(connection);
  EXPECT_THROW(statement.exec_params("SELECT apply_row_writes($1::jsonb)", ops.dump()),
               pqxx::serialization_failure);
  EXPECT_EQ(stack.sql("SELECT version FROM accounts WHERE account_id = 'ACC-1'"), account_version);
  EXPECT_EQ(stack.sql("SELECT cash_balance::text FROM accounts WHERE account_id = 'ACC-1'"),
            "10000.0000");
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM account_revisions"), revisions_before);
  // At the versions held, the same writes go through, each with its revision.
  Json held = ops;
  held[1]["version"] = std::stoll(order_version);
  EXPECT_EQ(statement.exec_params1("SELECT apply_row_writes($1::jsonb)", held.dump())[0].as<int>(),
            2);
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM account_revisions"), revisions_before + 1);
  EXPECT_EQ(stack.sql("SELECT version FROM orders WHERE order_id = '" + order_id + "'"),
            std::to_string(std::stoll(order_version) + 1));
}

// apply_row_writes' contract: a group's ops in one call leave the same rows and the same history
// as the same ops one per call. A change that writes a row once per call (tried on 2026-11-26
// as migration 007: no gain measured, withdrawn) must keep it; the comparison is with a twin
// account, ids and times aside. The ops cover an order written four times with a reject reason
// set midway, two orders interleaved, the account twice, a position created and changed in one
// call and, in a second call, changed from the version held.
TEST_F(LedgerApplyTest, ARowWrittenSeveralTimesInOneCallKeepsEveryRevision) {
  stack.createFundedAccount("ACC-2", "10000.00");
  struct Twin {
    std::string account, first, second;
  };
  const auto placeOn = [&](const std::string& account, const std::string& body,
                           const std::string& key) {
    const auto placed =
        stack.request("POST", "/v1/accounts/" + account + "/orders", stack.traderToken({account}),
                      body, {{"Idempotency-Key", key}});
    EXPECT_EQ(placed.status, 202) << placed.body;
    return Json::parse(placed.body)["order_id"].get<std::string>();
  };
  const std::string buy_aapl =
      R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":10,"limit_price":"100.00"})";
  const std::string buy_msft =
      R"({"symbol":"MSFT","side":"BUY","type":"LIMIT","quantity":10,"limit_price":"50.00"})";
  std::vector<Twin> twins;
  for (const std::string account : {"ACC-1", "ACC-2"}) {
    twins.push_back({account, placeOn(account, buy_aapl, account + "-a"),
                     placeOn(account, buy_msft, account + "-m")});
  }
  const auto version = [&](const std::string& table, const std::string& where) {
    return std::stoll(stack.sql("SELECT version FROM " + table + " WHERE " + where));
  };
  const auto orderOp = [](const std::string& id, const std::string& request, const char* status,
                          int64_t filled, const char* notional, const char* reserved,
                          const char* reason, int64_t held) {
    return Json{{"row", "order"},
                {"id", id},
                {"actor", "test"},
                {"request_id", request},
                {"status", status},
                {"filled_quantity", filled},
                {"fill_notional", notional},
                {"reserved_amount", reserved},
                {"reserved_quantity", 0},
                {"reject_reason", reason},
                {"version", held}};
  };
  const auto accountOp = [](const std::string& id, const std::string& request, const char* balance,
                            const char* reserved, int64_t held) {
    return Json{{"row", "account"},        {"id", id},
                {"actor", "test"},         {"request_id", request},
                {"cash_balance", balance}, {"cash_reserved", reserved},
                {"version", held}};
  };
  const auto positionOp = [](const std::string& id, const std::string& request, int64_t quantity,
                             const char* cost, int64_t held) {
    return Json{{"row", "position"},      {"id", id},
                {"symbol", "AAPL"},       {"actor", "test"},
                {"request_id", request},  {"quantity", quantity},
                {"quantity_reserved", 0}, {"cost_basis", cost},
                {"version", held}};
  };
  const auto opsOf = [&](const Twin& t) {
    const int64_t o1 = version("orders", "order_id = '" + t.first + "'");
    const int64_t o2 = version("orders", "order_id = '" + t.second + "'");
    const int64_t a = version("accounts", "account_id = '" + t.account + "'");
    const Json first_call = Json::array(
        {orderOp(t.first, "r1", "NEW", 0, "0", "1000", "", o1),
         orderOp(t.second, "r2", "NEW", 0, "0", "500", "", o2),
         orderOp(t.first, "r3", "PARTIALLY_FILLED", 4, "399.9", "600", "", o1 + 1),
         accountOp(t.account, "r3", "9600.1", "1100", a),
         positionOp(t.account, "r3", 4, "399.9", 0),
         orderOp(t.first, "r4", "CANCELED", 4, "399.9", "0", "canceled by the broker", o1 + 2),
         accountOp(t.account, "r4", "9600.1", "500", a + 1),
         positionOp(t.account, "r4", 7, "699.9", 1),
         orderOp(t.first, "r5", "CANCELED", 4, "399.9", "0", "", o1 + 3),
         orderOp(t.second, "r6", "FILLED", 10, "500", "0", "", o2 + 1)});
    const Json second_call = Json::array(
        {positionOp(t.account, "r7", 9, "899.9", 2), positionOp(t.account, "r8", 10, "999.9", 3)});
    return std::pair{first_call, second_call};
  };
  pqxx::connection connection(stack.postgres.uri("ledger"));
  pqxx::nontransaction statement(connection);
  const auto apply = [&](const Json& ops) {
    return statement.exec_params1("SELECT apply_row_writes($1::jsonb)", ops.dump())[0].as<int>();
  };
  const auto [together_first, together_second] = opsOf(twins[0]);
  EXPECT_EQ(apply(together_first), 10);
  EXPECT_EQ(apply(together_second), 2);
  const auto [alone_first, alone_second] = opsOf(twins[1]);
  for (const Json& op : alone_first) EXPECT_EQ(apply(Json::array({op})), 1);
  for (const Json& op : alone_second) EXPECT_EQ(apply(Json::array({op})), 1);

  // Everything of an account's rows and revisions but ids and times, in revision order.
  const auto history = [&](const Twin& t) {
    const std::string volatile_keys =
        " - 'order_id' - 'account_id' - 'seq' - 'idempotency_key' - 'request_fingerprint'"
        " - 'created_at' - 'updated_at'";
    const auto orderHistory = [&](const std::string& id) {
      return stack.sql(
                 "SELECT string_agg(concat_ws('|', request_id, status, filled_quantity, "
                 "reserved_amount, version, row_data" +
                 volatile_keys +
                 "), E'\\n' ORDER BY revision) FROM order_revisions WHERE actor = 'test' AND "
                 "order_id = '" +
                 id + "'") +
             "\n" +
             stack.sql("SELECT to_jsonb(o.*)" + volatile_keys +
                       " FROM orders o WHERE order_id = '" + id + "'");
    };
    const std::string where = " WHERE account_id = '" + t.account + "'";
    const std::string ours = where + " AND actor = 'test'";
    return orderHistory(t.first) + "\n" + orderHistory(t.second) + "\n" +
           stack.sql("SELECT string_agg(concat_ws('|', request_id, version, row_data" +
                     volatile_keys + "), E'\\n' ORDER BY revision) FROM account_revisions" + ours) +
           "\n" + stack.sql("SELECT to_jsonb(a.*)" + volatile_keys + " FROM accounts a" + where) +
           "\n" +
           stack.sql("SELECT string_agg(concat_ws('|', request_id, symbol, version, row_data" +
                     volatile_keys + "), E'\\n' ORDER BY revision) FROM position_revisions" +
                     ours) +
           "\n" + stack.sql("SELECT to_jsonb(p.*)" + volatile_keys + " FROM positions p" + where);
  };
  const std::string together = history(twins[0]);
  EXPECT_EQ(together, history(twins[1]));
  // The comparison holds something: the last of the first order's five revisions (placed,
  // then four ops) kept the reason set two ops before it, and the position is at version 4.
  EXPECT_NE(together.find("r5|CANCELED|4|0.0000|5|"), std::string::npos) << together;
  EXPECT_NE(together.find("\"reject_reason\": \"canceled by the broker\""), std::string::npos);
  EXPECT_EQ(version("positions", "account_id = 'ACC-1' AND symbol = 'AAPL'"), 4);
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM order_revisions WHERE order_id = '" +
                           twins[0].first + "'"),
            5);
}

// Migrations 007 and 008 (docs/performance.md, "Autovacuum at 150/s"): autoanalyze skips the
// wide columns no statement filters on, and rfc3339() is inlined into the statements that call
// it. Declared IMMUTABLE, it ran as a function call of its own (EXPLAIN shows "rfc3339(").
TEST_F(LedgerApplyTest, WideColumnsHaveNoStatisticsAndRfc3339IsInlined) {
  EXPECT_EQ(
      stack.sql(
          "SELECT string_agg(attrelid::regclass || '.' || attname, ',' ORDER BY "
          "attrelid::regclass::text) FROM pg_attribute WHERE attnum > 0 AND attstattarget = 0 AND "
          "attrelid::regclass::text IN ('order_revisions', 'account_revisions', "
          "'position_revisions', 'outbox')"),
      "account_revisions.row_data,order_revisions.row_data,outbox.payload,"
      "position_revisions.row_data");
  pqxx::connection connection(stack.postgres.uri("ledger"));
  pqxx::nontransaction statement(connection);
  std::string explained;
  for (const auto& row :
       statement.exec("EXPLAIN (VERBOSE, COSTS OFF) SELECT rfc3339(created_at) FROM orders"))
    explained += row[0].as<std::string>() + "\n";
  EXPECT_NE(explained.find("to_char("), std::string::npos) << explained;
  EXPECT_EQ(explained.find("rfc3339("), std::string::npos) << explained;
  EXPECT_EQ(stack.sql("SELECT rfc3339('2026-11-27 05:00:00.123456+00')"),
            "2026-11-27T05:00:00.123456Z");
}

}  // namespace
}  // namespace fbg::test
