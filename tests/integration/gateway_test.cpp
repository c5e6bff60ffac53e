// The gateway process against the simulator over a real FIX session, with real PostgreSQL and
// Redis: every order sent once, through restarts, silences and cancels (issue 5).
#include <gtest/gtest.h>

#include <future>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <thread>

#include "common/pg_pool.h"
#include "gateway_rows.h"
#include "gateway_stack.h"
#include "support/wait.h"

namespace fbg::test {
namespace {

using std::chrono::seconds;

// Quick retries, so silences resolve within a test's bounds.
const std::vector<std::string> kQuickRetries = {
    "ack_timeout_ms = 300", "retry_backoff_multiplier = 2", "retry_backoff_ms_max = 1200",
    "retry_jitter_percent = 10", "retry_count_max = 3"};

// One broker order per ClOrdID, and one ACKED event each.
void expectEachOnceAtTheBroker(GatewayStack& stack, const std::vector<std::string>& order_ids) {
  for (const auto& order_id : order_ids) {
    ASSERT_EQ(stack.brokerOrderCount(order_id), 1u) << order_id;
  }
  std::set<std::string> acked;
  for (const auto& event : stack.events()) {
    if (event.kind == "ACKED") acked.insert(event.order_id);
  }
  for (const auto& order_id : order_ids) EXPECT_EQ(acked.count(order_id), 1u) << order_id;
}

TEST(Gateway, ThousandOrdersAreEachAcknowledgedAndHeldOnceByTheBroker) {
  GatewayStack stack("SIM-A");
  stack.startSimulator();
  stack.startGateway();
  std::vector<std::string> order_ids;
  for (int i = 0; i < 1000; ++i) order_ids.push_back(stack.placeOrder());
  ASSERT_TRUE(waitUntil([&] { return stack.eventCount("ACKED") == 1000; }, seconds(120)))
      << stack.eventCount("ACKED") << " acked\n"
      << stack.gatewayLogTail();
  expectEachOnceAtTheBroker(stack, order_ids);
  EXPECT_EQ(stack.gatewayCount("SELECT count(*) FROM broker_orders"), 1000);
  EXPECT_EQ(stack.gatewayMetric("gateway_orders_sent_total"), 1000);
  const auto order = stack.gatewayGet("/v1/broker-orders/" + order_ids.front());
  ASSERT_EQ(order.status, 200);
  const auto body = nlohmann::json::parse(order.body);
  EXPECT_EQ(body["attempts"], 1);
  EXPECT_EQ(body["broker"], "SIM-A");
  EXPECT_TRUE(body["broker_order_id"].is_string());
  EXPECT_EQ(stack.gatewayGet("/v1/broker-orders/O0000000000000000").status, 404);
}

TEST(Gateway, Kill9DuringAThousandOrdersStillOneBrokerOrderEachAndNoneMissing) {
  GatewayStack stack("SIM-A");
  stack.startSimulator();
  // A window of 100 in flight keeps the reply timeout meaningful while the simulator queues;
  // the retry budget (about a minute) outlasts a slow, sanitized simulator on a busy machine,
  // so UNCONFIRMED here would mean an order really went missing.
  const std::vector<std::string> config = {"ack_timeout_ms = 2000", "retry_backoff_ms_max = 8000",
                                           "retry_count_max = 8", "in_flight_orders_max = 100"};
  stack.startGateway(config);
  std::vector<std::string> order_ids;
  for (int i = 0; i < 1000; ++i) order_ids.push_back(stack.placeOrder());
  std::mt19937 random(20261125);
  int kills = 0;
  for (std::size_t threshold : {100u, 300u, 500u, 700u, 900u}) {
    const std::size_t at = threshold + random() % 80;
    ASSERT_TRUE(waitUntil([&] { return stack.eventCount("ACKED") >= at; }, seconds(120)))
        << stack.gatewayLogTail();
    stack.killGateway();
    ++kills;
    stack.startGateway(config);
  }
  ASSERT_TRUE(waitUntil([&] { return stack.eventCount("ACKED") == 1000; }, seconds(120)))
      << stack.eventCount("ACKED") << " acked after " << kills << " kills\n"
      << stack.gatewayLogTail();
  expectEachOnceAtTheBroker(stack, order_ids);
  EXPECT_EQ(stack.eventCount("UNCONFIRMED"), 0u);
  EXPECT_EQ(stack.gatewayCount("SELECT count(*) FROM broker_orders"), 1000);
}

struct Attempt {
  std::string kind;
  int64_t sent_at_ms;
};

// The recorded sends of an order, in order.
std::vector<Attempt> attemptsOf(GatewayStack& stack, const std::string& order_id) {
  const std::string text = stack.gatewaySql(
      "SELECT string_agg(kind || ':' || (extract(epoch FROM sent_at) * 1000)::bigint, ',' "
      "ORDER BY sent_at) FROM send_attempts WHERE order_id = '" +
      order_id + "'");
  std::vector<Attempt> out;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t comma = text.find(',', at);
    const std::string item = text.substr(at, comma == std::string::npos ? comma : comma - at);
    const std::size_t colon = item.find(':');
    out.push_back({item.substr(0, colon), std::stoll(item.substr(colon + 1))});
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return out;
}

// drop_ack_rate=1: the retries of kQuickRetries (waits 300, 600, 1200, 1200 ms, +-10 %), each
// of `retry_kind`, then UNCONFIRMED.
void expectRetriesThenUnconfirmed(const std::string& broker, const std::string& retry_kind) {
  GatewayStack stack(broker);
  stack.startSimulator();
  stack.simulatorAdmin("PUT", "/v1/faults", R"({"drop_ack_rate": 1})");
  std::vector<std::string> config = kQuickRetries;
  // The relay's idle wait far past the wait below: the sender's UNCONFIRMED must wake it.
  config.push_back("event_idle_wait_ms_max = 60000");
  stack.startGateway(config);
  const std::string order_id = stack.placeOrder(10, "50.00");  // under the market: never fills
  ASSERT_TRUE(
      waitUntil([&] { return stack.eventCount("UNCONFIRMED", order_id) == 1; }, seconds(20)))
      << stack.gatewayLogTail();
  const std::vector<Attempt> attempts = attemptsOf(stack, order_id);
  ASSERT_EQ(attempts.size(), 4u);
  EXPECT_EQ(attempts[0].kind, "NEW");
  const int64_t expected_waits_ms[] = {300, 600, 1200};
  for (std::size_t i = 1; i < attempts.size(); ++i) {
    EXPECT_EQ(attempts[i].kind, retry_kind);
    const int64_t waited_ms = attempts[i].sent_at_ms - attempts[i - 1].sent_at_ms;
    const int64_t expected_ms = expected_waits_ms[i - 1];
    // Jitter (10 %) plus the sender's poll interval (50 ms) and scheduling.
    EXPECT_GE(waited_ms, expected_ms * 9 / 10 - 5) << "retry " << i;
    EXPECT_LE(waited_ms, expected_ms * 11 / 10 + 150) << "retry " << i;
  }
  EXPECT_EQ(stack.eventCount("ACKED", order_id), 0u);
  EXPECT_EQ(stack.brokerOrderCount(order_id), 1u);  // the broker took it; only replies were lost
  EXPECT_EQ(stack.gatewayMetric("gateway_orders_unconfirmed_total"), 1);
  const auto body = nlohmann::json::parse(stack.gatewayGet("/v1/broker-orders/" + order_id).body);
  EXPECT_EQ(body["state"], "UNCONFIRMED");
  EXPECT_EQ(body["attempts"], 4);
}

TEST(Gateway, SimBSilentBrokerGetsPossResendRetriesAtTheConfiguredSpacingThenUnconfirmed) {
  expectRetriesThenUnconfirmed("SIM-B", "RESEND");
}

TEST(Gateway, SimASilentBrokerGetsStatusRequestsAtTheConfiguredSpacingThenUnconfirmed) {
  expectRetriesThenUnconfirmed("SIM-A", "STATUS");
}

// With nothing in flight the sender is told about new work (stream entries, resends, a logon)
// and otherwise sleeps sender_idle_wait_ms_max: it used to claim every 50 ms, 20 statements a
// second per gateway with nothing to do. With an order in flight it sleeps to the reply
// deadline (the retry spacing tests above fail if it sleeps the idle bound instead).
TEST(Gateway, AnIdleSenderAndRelaySleepToTheirIdleBoundAndANewOrderStillGoesAtOnce) {
  GatewayStack stack("SIM-A");
  stack.startSimulator();
  stack.startGateway({"sender_poll_interval_ms = 50", "sender_idle_wait_ms_max = 10000",
                      "event_poll_interval_ms = 100", "event_idle_wait_ms_max = 10000"});
  const std::string first = stack.placeOrder(10, "50.00");
  ASSERT_TRUE(waitUntil([&] { return stack.eventCount("ACKED", first) == 1; }, seconds(30)))
      << stack.gatewayLogTail();
  const double rounds_before = stack.gatewayMetric("gateway_sender_rounds_total");
  const double relay_rounds_before = stack.gatewayMetric("gateway_event_relay_rounds_total");
  // A measurement window, not a synchronisation: the 50 ms poll made about 60 rounds in it,
  // and the relay's 100 ms poll 30; now at most the sender's one at the first order's reply
  // deadline and the relay's one that marks the ACKED event.
  std::this_thread::sleep_for(seconds(3));
  EXPECT_LE(stack.gatewayMetric("gateway_sender_rounds_total") - rounds_before, 3)
      << "the sender polled while nothing was in flight";
  EXPECT_LE(stack.gatewayMetric("gateway_event_relay_rounds_total") - relay_rounds_before, 3)
      << "the relay polled while nothing was unpublished";
  const auto placed = std::chrono::steady_clock::now();
  const std::string second = stack.placeOrder(10, "50.00");
  ASSERT_TRUE(waitUntil([&] { return stack.eventCount("ACKED", second) == 1; }, seconds(30)))
      << stack.gatewayLogTail();
  // The sender woken by the stream entry, the relay by the reply: either idle bound would have
  // held the ACKED event up to 10 s.
  EXPECT_LT(std::chrono::steady_clock::now() - placed, seconds(5));
  EXPECT_EQ(attemptsOf(stack, second).size(), 1u);
}

// SIM-B answers no status request, so an unanswered order is retried with PossResend. Once the
// customer asks to cancel it, the NewOrderSingle must never go out again: a resend after the
// cancel can reach the broker after the cancel's "unknown order" reject settled it CANCELED, and
// then fill (CI found three such orders). So the retries after the cancel only ask status.
TEST(Gateway, SimBAfterACancelRequestAnUnansweredOrderIsAskedAboutNeverSentAgain) {
  GatewayStack stack("SIM-B");
  stack.startSimulator();
  // The broker's session thread holds each NewOrderSingle 2 s before answering, so the retries
  // and the cancel queue behind it; then it acknowledges, and cancels.
  stack.simulatorAdmin("PUT", "/v1/faults", R"({"ack_delay_ms": 2000})");
  stack.startGateway({"ack_timeout_ms = 300", "retry_backoff_multiplier = 2",
                      "retry_backoff_ms_max = 1200", "retry_jitter_percent = 10",
                      "retry_count_max = 8"});
  const std::string order_id = stack.placeOrder(10, "50.00");  // under the market: rests
  ASSERT_TRUE(waitUntil([&] { return attemptsOf(stack, order_id).size() >= 2; }, seconds(30)))
      << stack.gatewayLogTail();
  ASSERT_EQ(attemptsOf(stack, order_id)[1].kind, "RESEND");  // SIM-B: PossResend retries
  stack.requestCancel(order_id, 1);  // well before the next retry (600 ms after the first)
  ASSERT_TRUE(waitUntil([&] { return stack.eventCount("CANCELED", order_id) == 1; }, seconds(60)))
      << stack.gatewayLogTail();
  const std::vector<Attempt> attempts = attemptsOf(stack, order_id);
  int64_t cancel_sent_ms = -1;
  for (const auto& attempt : attempts) {
    if (attempt.kind == "CANCEL" && cancel_sent_ms < 0) cancel_sent_ms = attempt.sent_at_ms;
  }
  ASSERT_GE(cancel_sent_ms, 0) << "the cancel was never sent";
  int status_after_cancel = 0;
  for (const auto& attempt : attempts) {
    if (attempt.kind == "NEW" || attempt.kind == "RESEND") {
      EXPECT_LT(attempt.sent_at_ms, cancel_sent_ms) << attempt.kind << " after the cancel";
    }
    if (attempt.kind == "STATUS" && attempt.sent_at_ms > cancel_sent_ms) ++status_after_cancel;
  }
  EXPECT_GE(status_after_cancel, 1);
  EXPECT_EQ(stack.brokerOrderCount(order_id), 1u);
  const auto at_broker = stack.simulatorAdmin("GET", "/v1/orders?cl_ord_id=" + order_id);
  EXPECT_EQ(at_broker["orders"][0]["status"], "CANCELED");
}

// The broker answers every order, in order, but each 100 ms after the one before: the last of
// 20 waits about 2 s, far past the 300 ms reply timeout. It is behind, not deaf, and every
// reply shows it, so no order is asked about (without the retry gate of broker_progress.h
// about 17 of them were, each status request queuing behind the same backlog).
TEST(Gateway, ABrokerBehindButAnsweringInOrderGetsNoRetries) {
  GatewayStack stack("SIM-A");
  stack.startSimulator();
  stack.simulatorAdmin("PUT", "/v1/faults", R"({"ack_delay_ms": 100})");
  stack.startGateway({"ack_timeout_ms = 300", "retry_backoff_ms_max = 1200",
                      "retry_jitter_percent = 10", "retry_count_max = 8"});
  std::vector<std::string> order_ids;
  for (int i = 0; i < 20; ++i) order_ids.push_back(stack.placeOrder(10, "50.00"));
  ASSERT_TRUE(waitUntil([&] { return stack.eventCount("ACKED") == 20; }, seconds(60)))
      << stack.gatewayLogTail();
  expectEachOnceAtTheBroker(stack, order_ids);
  const long long slowest_ms = stack.gatewayCount(
      "SELECT (extract(epoch FROM max(last_reply_at - first_sent_at)) * 1000)::bigint "
      "FROM broker_orders");
  EXPECT_GT(slowest_ms, 900) << "the broker was not behind: the test shows nothing";
  EXPECT_EQ(stack.gatewayCount("SELECT count(*) FROM send_attempts WHERE kind <> 'NEW'"), 0);
  EXPECT_EQ(stack.gatewayCount("SELECT count(*) FROM broker_orders WHERE attempts <> 1"), 0);
}

// The broker took the order but its acknowledgement was lost; later orders keep the session
// busy, so the broker is never silent. Their replies show it took everything sent before them,
// so the lost answer is asked for at its timeout, not after retry_hold_ms_max (a minute here).
TEST(Gateway, ALostAcknowledgementIsAskedForWhileTheBrokerKeepsAnsweringOthers) {
  GatewayStack stack("SIM-A");
  stack.startSimulator();
  stack.simulatorAdmin("PUT", "/v1/faults", R"({"drop_ack_rate": 1})");
  stack.startGateway({"ack_timeout_ms = 300", "retry_backoff_ms_max = 1200", "retry_count_max = 8",
                      "retry_hold_ms_max = 60000"});
  const std::string lost = stack.placeOrder(10, "50.00");  // under the market: rests unfilled
  ASSERT_TRUE(waitUntil([&] { return stack.brokerOrderCount(lost) == 1; }, seconds(30)));
  stack.simulatorAdmin("PUT", "/v1/faults", R"({"drop_ack_rate": 0})");
  std::vector<std::string> others;
  const auto deadline = std::chrono::steady_clock::now() + seconds(30);
  while (stack.eventCount("ACKED", lost) == 0 && std::chrono::steady_clock::now() < deadline) {
    others.push_back(stack.placeOrder(10, "50.00"));
    ASSERT_TRUE(
        waitUntil([&] { return stack.eventCount("ACKED", others.back()) == 1; }, seconds(30)));
  }
  ASSERT_EQ(stack.eventCount("ACKED", lost), 1u) << stack.gatewayLogTail();
  const std::vector<Attempt> attempts = attemptsOf(stack, lost);
  ASSERT_GE(attempts.size(), 2u);
  EXPECT_EQ(attempts[1].kind, "STATUS");
  EXPECT_LT(attempts[1].sent_at_ms - attempts[0].sent_at_ms, 10'000)
      << "asked only after the hold: the replies to later orders did not count";
  expectEachOnceAtTheBroker(stack, {lost});
  for (const auto& order_id : others) EXPECT_EQ(attemptsOf(stack, order_id).size(), 1u);
}

// Replies dropped until every order was retried at least once, then restored.
void expectRetriedOrdersConfirmedOnce(const std::string& broker) {
  GatewayStack stack(broker);
  stack.startSimulator();
  stack.simulatorAdmin("PUT", "/v1/faults", R"({"drop_ack_rate": 1})");
  stack.startGateway(
      {"ack_timeout_ms = 300", "retry_backoff_ms_max = 600", "retry_count_max = 50"});
  std::vector<std::string> order_ids;
  // Under the market price: they rest, so only replies to the order or its retries confirm them.
  for (int i = 0; i < 20; ++i) order_ids.push_back(stack.placeOrder(10, "50.00"));
  ASSERT_TRUE(waitUntil(
      [&] {
        return stack.gatewayCount("SELECT count(*) FROM broker_orders WHERE attempts >= 2") == 20;
      },
      seconds(30)));
  EXPECT_EQ(stack.eventCount("ACKED"), 0u);
  stack.simulatorAdmin("PUT", "/v1/faults", R"({"drop_ack_rate": 0})");
  ASSERT_TRUE(waitUntil([&] { return stack.eventCount("ACKED") == 20; }, seconds(30)))
      << stack.gatewayLogTail();
  expectEachOnceAtTheBroker(stack, order_ids);
  EXPECT_EQ(stack.eventCount("UNCONFIRMED"), 0u);
}

TEST(Gateway, SimBDroppedRepliesThenRestoredConfirmsEveryRetriedOrderOnce) {
  expectRetriedOrdersConfirmedOnce("SIM-B");
}

TEST(Gateway, SimADroppedRepliesThenRestoredConfirmsEveryRetriedOrderOnce) {
  expectRetriedOrdersConfirmedOnce("SIM-A");
}

TEST(Gateway, BrokerDownAtStartOrdersWaitAndFlowAfterLogon) {
  GatewayStack stack("SIM-A");
  stack.startGateway();
  std::vector<std::string> order_ids;
  for (int i = 0; i < 50; ++i) order_ids.push_back(stack.placeOrder());
  ASSERT_TRUE(waitUntil(
      [&] {
        return stack.gatewayCount("SELECT count(*) FROM broker_orders WHERE state = 'RECEIVED'") ==
               50;
      },
      seconds(30)));
  const auto not_ready = stack.gatewayGet("/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_NE(not_ready.body.find("logged_off"), std::string::npos);
  EXPECT_EQ(stack.gatewayCount("SELECT count(*) FROM send_attempts"), 0);
  stack.startSimulator();
  ASSERT_TRUE(waitUntil([&] { return stack.eventCount("ACKED") == 50; }, seconds(60)))
      << stack.gatewayLogTail();
  expectEachOnceAtTheBroker(stack, order_ids);
  EXPECT_EQ(stack.gatewayGet("/readyz").status, 200);
}

// Redis down: no new orders can arrive, but the session and the database still work, so the
// gateway says degraded (200), not unavailable; with Redis back, orders flow again.
TEST(Gateway, RedisDownIsDegradedAndOrdersFlowAgainAfterIt) {
  GatewayStack stack;
  stack.startSimulator();
  stack.startGateway();
  const std::string before = stack.placeOrder();
  ASSERT_TRUE(waitUntil([&] { return stack.eventCount("ACKED", before) == 1; }, seconds(30)))
      << stack.gatewayLogTail();
  EXPECT_NE(stack.gatewayGet("/readyz").body.find("\"ready\""), std::string::npos);
  stack.redis.stop();
  ASSERT_TRUE(waitUntil(
      [&] {
        const auto answer = stack.gatewayGet("/readyz");
        return answer.status == 200 && answer.body.find("\"degraded\"") != std::string::npos;
      },
      seconds(10)));
  EXPECT_NE(stack.gatewayGet("/readyz").body.find("\"redis\":\"down\""), std::string::npos);
  stack.redis.start();
  const std::string after = stack.placeOrder();
  ASSERT_TRUE(waitUntil([&] { return stack.eventCount("ACKED", after) == 1; }, seconds(30)))
      << stack.gatewayLogTail();
  EXPECT_EQ(stack.gatewayGet("/readyz").status, 200);
  expectEachOnceAtTheBroker(stack, {before, after});
}

// An event written while Redis is down waits in order_events; the relay's failed rounds come
// at the short poll, so it goes out soon after Redis is back even with nothing new to wake the
// relay (a failed round once counted as "nothing to publish" and waited the idle bound).
TEST(Gateway, AnEventWrittenWhileRedisIsDownIsPublishedSoonAfterItReturns) {
  GatewayStack stack;
  stack.startSimulator();
  // The acknowledgement comes 3 s after the order (under the 5 s reply timeout): Redis is down
  // by then.
  stack.simulatorAdmin("PUT", "/v1/faults", R"({"ack_delay_ms": 3000})");
  stack.startGateway({"event_poll_interval_ms = 100", "event_idle_wait_ms_max = 60000"});
  const std::string order_id = stack.placeOrder(10, "50.00");  // rests: one event, ACKED
  ASSERT_TRUE(waitUntil(
      [&] {
        return stack.gatewayCount("SELECT count(*) FROM broker_orders WHERE state = 'SENT'") == 1;
      },
      seconds(30)))
      << stack.gatewayLogTail();
  stack.redis.stop();
  ASSERT_TRUE(waitUntil(
      [&] {
        return stack.gatewayCount(
                   "SELECT count(*) FROM order_events WHERE kind = 'ACKED' "
                   "AND published_at IS NULL") == 1;
      },
      seconds(30)))
      << stack.gatewayLogTail();
  stack.redis.start();
  EXPECT_TRUE(waitUntil([&] { return stack.eventCount("ACKED", order_id) == 1; }, seconds(10)))
      << "the event waited for the relay's idle bound\n"
      << stack.gatewayLogTail();
}

TEST(Gateway, SimBDownDoesNotHoldUpTheSimAGateway) {
  GatewayStack stack("SIM-A");
  stack.startSimulator();
  // Timeouts here would mean SIM-A's gateway waited on something; a generous timeout keeps a
  // merely slow (sanitized, shared) simulator from looking like that.
  stack.startGateway({"ack_timeout_ms = 30000", "retry_backoff_ms_max = 30000"});
  stack.startPeerGateway("SIM-B");
  for (int i = 0; i < 500; ++i) (void)stack.placeOrderFor("SIM-B");
  std::vector<std::string> order_ids;
  for (int i = 0; i < 200; ++i) order_ids.push_back(stack.placeOrder());
  ASSERT_TRUE(waitUntil([&] { return stack.eventCount("ACKED") == 200; }, seconds(60)))
      << stack.gatewayLogTail();
  expectEachOnceAtTheBroker(stack, order_ids);
  EXPECT_EQ(stack.gatewayMetric("gateway_ack_timeouts_total"), 0);
  const auto peer = stack.peerGatewayGet("/readyz");
  EXPECT_EQ(peer.status, 503);  // its broker is down: its 500 orders wait
  EXPECT_EQ(stack.postgres.queryScalar(
                "gateway_peer", "SELECT count(*) FROM broker_orders WHERE state = 'RECEIVED'"),
            "500");
}

TEST(Gateway, CancelsOfALiveAFilledAndANeverSentOrder) {
  GatewayStack stack("SIM-A");
  // Idle waits far past the waits below: the events written by the intake (the never-sent
  // order's CANCELED) must wake the relay.
  stack.startGateway({"event_idle_wait_ms_max = 60000", "sender_idle_wait_ms_max = 60000"});
  // Never sent: the broker is down, so the cancel completes without it.
  const std::string unsent = stack.placeOrder();
  ASSERT_TRUE(waitUntil(
      [&] { return stack.gatewayCount("SELECT count(*) FROM broker_orders") == 1; }, seconds(30)));
  stack.requestCancel(unsent, 1);
  ASSERT_TRUE(waitUntil([&] { return stack.eventCount("CANCELED", unsent) == 1; }, seconds(20)))
      << "the intake's event waited for the relay's idle bound";
  stack.startSimulator();
  // Live: a limit under the market price (100.00) rests; filled: over it fills at once.
  const std::string live = stack.placeOrder(10, "50.00");
  const std::string filled = stack.placeOrder(10, "200.00");
  ASSERT_TRUE(waitUntil(
      [&] {
        return stack.eventCount("ACKED", live) == 1 &&
               stack.gatewaySql("SELECT state FROM broker_orders WHERE order_id = '" + filled +
                                "'") == "FILLED";
      },
      seconds(30)))
      << stack.gatewayLogTail();
  stack.requestCancel(live, 1);
  stack.requestCancel(filled, 1);
  ASSERT_TRUE(waitUntil(
      [&] {
        return stack.eventCount("CANCELED", live) == 1 &&
               stack.eventCount("CANCEL_REJECTED", filled) == 1;
      },
      seconds(30)))
      << stack.gatewayLogTail();
  const auto live_at_broker = stack.simulatorAdmin("GET", "/v1/orders?cl_ord_id=" + live);
  EXPECT_EQ(live_at_broker["orders"][0]["status"], "CANCELED");
  EXPECT_EQ(stack.brokerOrderCount(unsent), 0u);  // never reached the broker
  EXPECT_EQ(stack.eventCount("ACKED", unsent), 0u);
  EXPECT_EQ(
      stack.gatewayCount("SELECT count(*) FROM send_attempts WHERE order_id = '" + unsent + "'"),
      0);
  const auto cancel_sends = stack.gatewaySql(
      "SELECT cl_ord_id FROM send_attempts WHERE kind = 'CANCEL' AND order_id = '" + live + "'");
  EXPECT_EQ(cancel_sends, live + "-C1");
}

// A reply batch is written by one statement without a transaction around it (write_replies,
// gateway_rows.cpp): the batch's rows and events must all be written or none, so that a batch
// read again after a conflict is not applied twice in part. Two orders, B changed by another
// writer after the read: whether committed before the statement or while it waits for B's row
// lock, nothing is written (A stays SENT, no event); with B read again, both are.
TEST(Gateway, ReplyBatchWriteIsAllOrNothingWhenARowChangedSinceItWasRead) {
  GatewayStack stack("SIM-A");
  stack.startGateway();  // creates the tables; no broker, so nothing is sent
  const std::string a = stack.placeOrder();
  const std::string b = stack.placeOrder();
  ASSERT_TRUE(waitUntil(
      [&] { return stack.gatewayCount("SELECT count(*) FROM broker_orders") == 2; }, seconds(30)));
  ASSERT_TRUE(stack.stopGateway());
  stack.postgres.exec("gateway", "UPDATE broker_orders SET state = 'SENT'");
  pqxx::connection connection(stack.postgres.uri("gateway"));
  gateway::prepareGatewayStatements(connection);
  const auto xmin = [&](const std::string& id) {
    return stack.gatewaySql("SELECT xmin FROM broker_orders WHERE order_id = '" + id + "'");
  };
  // Events in the array's order, B's first: relay_seq must follow it.
  const nlohmann::json events = {
      {{"event_id", b + ":ACKED"}, {"order_id", b}, {"kind", "ACKED"}, {"payload", "{}"}},
      {{"event_id", a + ":ACKED"}, {"order_id", a}, {"kind", "ACKED"}, {"payload", "{}"}}};
  const auto write = [&](pqxx::connection& on, const std::string& xmin_a,
                         const std::string& xmin_b) {
    pqxx::nontransaction work(on);
    return work
        .exec_prepared("write_replies", pgArrayLiteral({a, b}), "{ACKED,ACKED}", "{0,0}",
                       "{B-1,B-2}", "{0,0}", "{NONE,NONE}", "{f,f}", "{f,f}",
                       pgArrayLiteral({xmin_a, xmin_b}), events.dump())[0][0]
        .as<int>();
  };
  const auto nothing_written = [&] {
    EXPECT_EQ(stack.gatewayCount("SELECT count(*) FROM broker_orders WHERE state = 'SENT'"), 2);
    EXPECT_EQ(stack.gatewayCount("SELECT count(*) FROM order_events"), 0);
  };
  const std::string read_a = xmin(a);
  const std::string read_b = xmin(b);
  stack.postgres.exec("gateway",
                      "UPDATE broker_orders SET cancel_request = 1 WHERE order_id = '" + b + "'");
  EXPECT_EQ(write(connection, read_a, read_b), 0);
  nothing_written();

  // B changed by a transaction that commits while the statement waits for B's row.
  const std::string reread_b = xmin(b);
  pqxx::connection other(stack.postgres.uri("gateway"));
  pqxx::work changing(other);
  changing.exec("UPDATE broker_orders SET cancel_request = 2 WHERE order_id = '" + b + "'");
  auto waiting = std::async(std::launch::async, [&] {
    pqxx::connection own(stack.postgres.uri("gateway"));
    gateway::prepareGatewayStatements(own);
    return write(own, read_a, reread_b);
  });
  ASSERT_TRUE(waitUntil(
      [&] {
        return stack.gatewayCount(
                   "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'") == 1;
      },
      seconds(10)));
  changing.commit();
  EXPECT_EQ(waiting.get(), 0);
  nothing_written();

  EXPECT_EQ(write(connection, read_a, xmin(b)), 2);
  EXPECT_EQ(stack.gatewayCount("SELECT count(*) FROM broker_orders WHERE state = 'ACKED'"), 2);
  EXPECT_EQ(stack.gatewaySql("SELECT string_agg(order_id, ',' ORDER BY relay_seq) FROM "
                             "order_events"),
            b + "," + a);
}

// The event_ids of the order-events entries, in stream order.
std::vector<std::string> streamEventIds(const GatewayStack& stack) {
  std::vector<std::string> ids;
  for (const auto& event : stack.events()) ids.push_back(event.event_id);
  return ids;
}

// Redis lost order-events entries it had acknowledged (the relay marked their rows published
// with their entry ids). The restarted gateway's event sweep publishes the lost ones again,
// once each, and leaves the kept one alone.
TEST(Gateway, PublishedEventsTheStreamLostArePublishedAgain) {
  GatewayStack stack("SIM-A");
  stack.startSimulator();
  const std::vector<std::string> sweep = {"event_sweep_interval_ms = 200",
                                          "event_sweep_grace_ms = 1000"};
  stack.startGateway(sweep);
  for (int i = 0; i < 3; ++i) stack.placeOrder();
  ASSERT_TRUE(waitUntil(
      [&] {
        return stack.eventCount("ACKED") == 3 &&
               stack.gatewayCount(
                   "SELECT count(*) FROM order_events WHERE stream_entry_id IS NOT "
                   "NULL") == stack.gatewayCount("SELECT count(*) FROM order_events");
      },
      seconds(60)))
      << stack.gatewayLogTail();
  const std::vector<std::string> published = streamEventIds(stack);

  // The loss, while the gateway is down (its sweep sees it only after): all but the last entry.
  stack.killGateway();
  const auto entries = stack.redis.command({"XRANGE", "order-events", "-", "+"});
  ASSERT_EQ(entries.elements.size(), published.size());
  for (std::size_t i = 0; i + 1 < entries.elements.size(); ++i) {
    stack.redis.command({"XDEL", "order-events", entries.elements[i].elements.at(0).text});
  }
  ASSERT_EQ(streamEventIds(stack), std::vector<std::string>{published.back()});
  stack.startGateway(sweep);

  ASSERT_TRUE(
      waitUntil([&] { return streamEventIds(stack).size() == published.size(); }, seconds(60)))
      << stack.gatewayLogTail();
  const std::vector<std::string> healed = streamEventIds(stack);
  EXPECT_EQ(std::multiset<std::string>(healed.begin(), healed.end()),
            std::multiset<std::string>(published.begin(), published.end()));
  // Counted after XADD's reply, so the counter may trail the entries seen above.
  const double lost = static_cast<double>(published.size() - 1);
  EXPECT_TRUE(
      waitUntil([&] { return stack.gatewayMetric("gateway_events_republished_total") >= lost; },
                seconds(30)));
  EXPECT_EQ(stack.gatewayMetric("gateway_events_republished_total"), lost);
  ASSERT_TRUE(waitUntil(
      [&] {
        return stack.gatewaySql("SELECT position FROM event_sweep_mark") ==
               stack.gatewaySql("SELECT max(relay_seq) FROM order_events");
      },
      seconds(30)));
  EXPECT_EQ(streamEventIds(stack).size(), published.size());  // nothing published twice
}

}  // namespace
}  // namespace fbg::test
