// Intake through outages (FLOW.md section 1, step 4): Redis down -> orders still accepted with
// the version check alone, /readyz degraded, the outbox waits and is delivered once when Redis
// returns; PostgreSQL down -> 503 UNAVAILABLE with nothing written, and recovery without a
// restart of the service.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <set>
#include <thread>
#include <vector>

#include "ledger_stack.h"
#include "support/wait.h"

namespace fbg::test {
namespace {

using Json = nlohmann::json;

HttpResponse placeOrder(LedgerStack& stack, const std::string& account, const std::string& key) {
  return stack.request(
      "POST", "/v1/accounts/" + account + "/orders", stack.traderToken({account}),
      R"({"symbol":"MSFT","side":"BUY","type":"LIMIT","quantity":2,"limit_price":"10.00"})",
      {{"Idempotency-Key", key}});
}

std::multiset<std::string> streamOrderIds(LedgerStack& stack, const std::string& stream) {
  std::multiset<std::string> ids;
  const auto entries = stack.redis.command({"XRANGE", stream, "-", "+"});
  for (const auto& entry : entries.elements) {
    const auto fields = entry.elements.at(1).strings();
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
      if (fields[i] == "order_id") ids.insert(fields[i + 1]);
    }
  }
  return ids;
}

std::multiset<std::string> databaseOrderIds(LedgerStack& stack) {
  std::multiset<std::string> ids;
  const std::string joined =
      stack.sql("SELECT coalesce(string_agg(order_id, ','), '') FROM orders");
  std::stringstream parts(joined);
  std::string id;
  while (std::getline(parts, id, ',')) ids.insert(id);
  return ids;
}

std::string readiness(LedgerStack& stack) {
  const auto response = stack.request("GET", "/readyz", "");
  return std::to_string(response.status) + " " +
         Json::parse(response.body)["status"].get<std::string>();
}

TEST(LedgerOutage, RedisDownIntakeContinuesAndOutboxDeliversOnceWhenBack) {
  LedgerStack stack;
  stack.createFundedAccount("ACC-R", "100000.00");
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(placeOrder(stack, "ACC-R", "before-" + std::to_string(i)).status, 202);
  ASSERT_TRUE(waitUntil(
      [&] {
        return stack.redis.command({"XLEN", "orders:SIM-A"}).integer == 5;
      },
      std::chrono::seconds(10)));

  stack.redis.stop();
  for (int i = 0; i < 10; ++i) {
    const auto response = placeOrder(stack, "ACC-R", "during-" + std::to_string(i));
    EXPECT_EQ(response.status, 202) << response.body;
  }
  EXPECT_EQ(readiness(stack), "200 degraded");
  EXPECT_GT(stack.metric("ledger_lock_total", "skipped_redis_down"), 0.0);
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM outbox WHERE sent_at IS NULL"), 10);

  stack.redis.start();
  ASSERT_TRUE(waitUntil(
      [&] { return stack.sqlCount("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0; },
      std::chrono::seconds(15)));
  EXPECT_TRUE(waitUntil([&] { return readiness(stack) == "200 ready"; }, std::chrono::seconds(5)));
  // Every order once, none twice, in outbox order.
  EXPECT_EQ(streamOrderIds(stack, "orders:SIM-A"), databaseOrderIds(stack));
  EXPECT_EQ(stack.redis.command({"XLEN", "orders:SIM-A"}).integer, 15);

  // A crash between XADD and marking the row sent: the re-send is recognised, not doubled.
  stack.sql(
      "WITH x AS (UPDATE outbox SET sent_at = NULL WHERE id IN (SELECT id FROM outbox "
      "ORDER BY id DESC LIMIT 3) RETURNING 1) SELECT count(*) FROM x");
  ASSERT_TRUE(waitUntil(
      [&] { return stack.sqlCount("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0; },
      std::chrono::seconds(10)));
  EXPECT_EQ(stack.redis.command({"XLEN", "orders:SIM-A"}).integer, 15);
  EXPECT_EQ(stack.metric("ledger_outbox_already_in_stream_total"), 3.0);
  EXPECT_EQ(stack.invariantViolations(), std::vector<std::string>{});
}

// Redis down: no account lock, so two requests of one account under one Idempotency-Key, a BUY
// and a SELL, can be read and written at once, each in a batch with other accounts' orders
// (order_intake.h). The key's unique index refuses the second write whole; its batch is placed
// again order by order, so the other accounts' orders are placed and the second request is told
// the key was used for another order.
TEST(LedgerOutage, RedisDownKeyRaceRefusesOneOrderAndSparesItsBatch) {
  LedgerStack stack({"test_transaction_delay_ms = 40"});
  const std::string admin = stack.adminToken();
  for (int a = 0; a < 5; ++a) stack.createFundedAccount("ACC-K" + std::to_string(a), "100000.00");
  const auto deposited =
      stack.request("POST", "/v1/accounts/ACC-K0/security-deposits", admin,
                    R"({"symbol":"MSFT","quantity":100,"price":"10.00","reference":"sd-k0"})");
  ASSERT_EQ(deposited.status, 201) << deposited.body;
  stack.redis.stop();

  constexpr int kRaces = 4;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int race = 0; race < kRaces; ++race) {
    for (const char* side : {"BUY", "SELL"}) {
      threads.emplace_back([&, race, side] {
        const auto response =
            stack.request("POST", "/v1/accounts/ACC-K0/orders", stack.traderToken({"ACC-K0"}),
                          std::string(R"({"symbol":"MSFT","side":")") + side +
                              R"(","type":"LIMIT","quantity":1,"limit_price":"10.00"})",
                          {{"Idempotency-Key", "race-" + std::to_string(race)}});
        const bool placed = response.status == 202;
        const bool refused = response.status == 422 &&
                             response.body.find("IDEMPOTENCY_KEY_REUSED") != std::string::npos;
        if (!placed && !refused) {
          ++wrong;
          ADD_FAILURE() << side << " " << response.status << " " << response.body;
        }
      });
    }
    for (int a = 1; a < 5; ++a) {
      threads.emplace_back([&, race, a] {
        const std::string account = "ACC-K" + std::to_string(a);
        const auto response = placeOrder(stack, account, "other-" + std::to_string(race));
        if (response.status != 202) {
          ++wrong;
          ADD_FAILURE() << account << " " << response.status << " " << response.body;
        }
      });
    }
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  // One order per key: the race's winner, BUY or SELL.
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM orders WHERE account_id = 'ACC-K0'"), kRaces);
  EXPECT_EQ(stack.sqlCount("SELECT count(DISTINCT idempotency_key) FROM orders WHERE "
                           "account_id = 'ACC-K0'"),
            kRaces);
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM orders WHERE account_id <> 'ACC-K0'"), kRaces * 4);
  EXPECT_EQ(stack.invariantViolations(), std::vector<std::string>{});
}

TEST(LedgerOutage, OutboxRowCommittedAfterALaterOneIsStillDeliveredOnce) {
  LedgerStack stack;
  stack.createFundedAccount("ACC-O", "100000.00");
  // A transaction takes an outbox id and holds its commit; a later order takes a larger id,
  // commits first and is relayed. The held row must still reach the stream when it commits.
  pqxx::connection held_connection(stack.postgres.uri("ledger"));
  pqxx::work held(held_connection);
  held.exec0(
      "INSERT INTO outbox (broker, kind, order_id, payload) "
      "VALUES ('SIM-A', 'NEW', 'O-HELD', '{}')");
  ASSERT_EQ(placeOrder(stack, "ACC-O", "later").status, 202);
  ASSERT_TRUE(waitUntil(
      [&] {
        return stack.redis.command({"XLEN", "orders:SIM-A"}).integer == 1;
      },
      std::chrono::seconds(10)));
  held.commit();
  ASSERT_TRUE(waitUntil(
      [&] { return stack.sqlCount("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0; },
      std::chrono::seconds(10)));
  EXPECT_EQ(stack.redis.command({"XLEN", "orders:SIM-A"}).integer, 2);
  EXPECT_EQ(streamOrderIds(stack, "orders:SIM-A").count("O-HELD"), 1u);
  EXPECT_EQ(stack.metric("ledger_outbox_stream_ahead_total"), 0.0);
}

TEST(LedgerOutage, PostgresDownAnswers503AndRecoversWithoutRestart) {
  LedgerStack stack;
  stack.createFundedAccount("ACC-P", "100000.00");
  ASSERT_EQ(placeOrder(stack, "ACC-P", "first").status, 202);
  const long long orders_before = stack.sqlCount("SELECT count(*) FROM orders");
  const long long entries_before = stack.sqlCount("SELECT count(*) FROM journal_entries");

  stack.postgres.stop();
  const auto refused = placeOrder(stack, "ACC-P", "while-down");
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_NE(refused.body.find("UNAVAILABLE"), std::string::npos);
  const auto deposit = stack.request("POST", "/v1/accounts/ACC-P/deposits", stack.adminToken(),
                                     R"({"amount":"5.00","reference":"while-down"})");
  EXPECT_EQ(deposit.status, 503);
  EXPECT_EQ(readiness(stack), "503 unavailable");
  EXPECT_EQ(stack.request("GET", "/healthz", "").status, 200);

  stack.postgres.start();
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM orders"), orders_before);
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM journal_entries"), entries_before);
  // The same service process serves again once the database is back.
  EXPECT_TRUE(waitUntil([&] { return placeOrder(stack, "ACC-P", "after").status == 202; },
                        std::chrono::seconds(30), std::chrono::milliseconds(200)));
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM orders"), orders_before + 1);
  EXPECT_EQ(stack.invariantViolations(), std::vector<std::string>{});
}

TEST(LedgerOutage, PostgresKilledMidBurstKeepsEveryAcceptedOrderAndNoPartialRow) {
  LedgerStack stack;
  stack.createFundedAccount("ACC-K", "1000000.00");
  std::mutex mutex;
  std::set<std::string> accepted;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < 400 && !stop; ++i) {
        const auto response =
            placeOrder(stack, "ACC-K", "k-" + std::to_string(t) + "-" + std::to_string(i));
        if (response.status == 202) {
          std::lock_guard lock(mutex);
          accepted.insert(Json::parse(response.body)["order_id"].get<std::string>());
        } else if (response.status != 503 && response.status != 409) {
          ADD_FAILURE() << response.status << " " << response.body;
        }
      }
    });
  }
  ASSERT_TRUE(waitUntil(
      [&] {
        std::lock_guard lock(mutex);
        return accepted.size() >= 20;
      },
      std::chrono::seconds(30)));
  stack.postgres.kill9();
  stop = true;
  for (auto& client : clients) client.join();
  stack.postgres.start();

  // Synchronous commit: every order answered 202 survived the crash.
  const auto stored = databaseOrderIds(stack);
  for (const auto& id : accepted) EXPECT_EQ(stored.count(id), 1u) << id;
  EXPECT_EQ(stack.invariantViolations(), std::vector<std::string>{});
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM outbox b "
                           "WHERE b.order_id = o.order_id AND b.kind = 'NEW')"),
            0);
}

// The stream entries of sent outbox rows, in stream order: "KIND order_id" each.
std::vector<std::string> streamEntries(LedgerStack& stack, const std::string& stream) {
  std::vector<std::string> out;
  const auto entries = stack.redis.command({"XRANGE", stream, "-", "+"});
  for (const auto& entry : entries.elements) {
    std::map<std::string, std::string> fields;
    const auto texts = entry.elements.at(1).strings();
    for (std::size_t i = 0; i + 1 < texts.size(); i += 2) fields[texts[i]] = texts[i + 1];
    out.push_back(fields["kind"] + " " + fields["order_id"]);
  }
  return out;
}

// Redis lost entries it had acknowledged (the relay marked their rows sent). No gateway runs,
// so orders stay as the ledger left them. The outbox sweep publishes again the entries of orders
// that still wait for their gateway: A's NEW; C's NEW and then its CANCEL. B's NEW was taken by
// its gateway (B is NEW now) and D's entry was not lost: neither is published again. The relay's
// next entry still goes in after them.
TEST(LedgerOutage, SentOrdersWhoseStreamEntriesWereLostArePublishedAgain) {
  LedgerStack stack({"outbox_sweep_interval_ms = 200", "outbox_sweep_grace_ms = 1000"});
  stack.createFundedAccount("ACC-L", "100000.00");
  std::vector<std::string> ids;  // A, B, C, D
  for (const char* key : {"lost-a", "lost-b", "lost-c", "kept-d"}) {
    const auto placed = placeOrder(stack, "ACC-L", key);
    ASSERT_EQ(placed.status, 202) << placed.body;
    ids.push_back(Json::parse(placed.body)["order_id"]);
  }
  const std::string &a = ids[0], &b = ids[1], &c = ids[2], &d = ids[3];
  const std::string b_event = b + ":ACKED";
  const Json b_payload = {{"event_id", b_event}, {"kind", "ACKED"},
                          {"order_id", b},       {"broker", "SIM-A"},
                          {"cum_qty", 0},        {"reason", nullptr},
                          {"cancel_request", 0}, {"broker_order_id", "B-1"}};
  stack.redis.command({"XADD", "order-events", "*", "event_id", b_event, "kind", "ACKED",
                       "order_id", b, "payload", b_payload.dump()});
  const auto canceled = stack.request("DELETE", "/v1/orders/" + c, stack.traderToken({"ACC-L"}));
  ASSERT_EQ(canceled.status, 202) << canceled.body;
  const std::vector<std::string> sent = {"NEW " + a, "NEW " + b, "NEW " + c, "NEW " + d,
                                         "CANCEL " + c};
  // Every row marked sent too: the relay marks a round's rows in its next round, and a row
  // killed before its mark is delivered again at the start, not swept (a different case).
  ASSERT_TRUE(waitUntil(
      [&] {
        return streamEntries(stack, "orders:SIM-A") == sent &&
               stack.sql("SELECT status FROM orders WHERE order_id = '" + b + "'") == "NEW" &&
               stack.sql("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == "0";
      },
      std::chrono::seconds(30)))
      << stack.logTail();

  // The loss: every entry but D's, while the ledger is down (its sweep sees them only after).
  stack.killLedger();
  const RedisReply entries = stack.redis.command({"XRANGE", "orders:SIM-A", "-", "+"});
  for (const auto& entry : entries.elements) {
    const auto texts = entry.elements.at(1).strings();
    if (std::find(texts.begin(), texts.end(), d) != texts.end()) continue;
    stack.redis.command({"XDEL", "orders:SIM-A", entry.elements.at(0).text});
  }
  ASSERT_EQ(streamEntries(stack, "orders:SIM-A"), std::vector<std::string>{"NEW " + d});
  stack.startLedger();

  const std::vector<std::string> healed = {"NEW " + d, "NEW " + a, "NEW " + c, "CANCEL " + c};
  ASSERT_TRUE(waitUntil([&] { return streamEntries(stack, "orders:SIM-A") == healed; },
                        std::chrono::seconds(30)))
      << stack.logTail();
  // Counted after the script's reply, so the counter may trail the entries seen above.
  EXPECT_TRUE(waitUntil([&] { return stack.metric("ledger_outbox_republished_total") >= 3; },
                        std::chrono::seconds(30)));
  EXPECT_EQ(stack.metric("ledger_outbox_republished_total"), 3);
  ASSERT_TRUE(waitUntil(
      [&] {
        return stack.sql("SELECT position FROM consumer_cursors WHERE name = 'outbox_swept'") ==
               stack.sql("SELECT max(relay_seq) FROM outbox");
      },
      std::chrono::seconds(30)));

  // The relay goes on after the entries published again, with no alarm.
  const auto after = placeOrder(stack, "ACC-L", "after-e");
  ASSERT_EQ(after.status, 202) << after.body;
  const std::string e = Json::parse(after.body)["order_id"];
  ASSERT_TRUE(waitUntil([&] { return streamEntries(stack, "orders:SIM-A").size() == 5; },
                        std::chrono::seconds(30)));
  EXPECT_EQ(streamEntries(stack, "orders:SIM-A").back(), "NEW " + e);
  EXPECT_EQ(stack.metric("ledger_outbox_stream_ahead_total"), 0);
  EXPECT_EQ(stack.metric("ledger_outbox_republished_total"), 3);
}

}  // namespace
}  // namespace fbg::test
