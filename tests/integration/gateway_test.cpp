// The gateway process against the simulator over a real FIX session, with real PostgreSQL and
// Redis: every order sent once, through restarts, silences and cancels (issue 5).
#include <gtest/gtest.h>

#include <random>
#include <set>

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
  // A window of 100 in flight keeps the reply timeout meaningful while the simulator queues.
  const std::vector<std::string> config = {"ack_timeout_ms = 1000", "retry_backoff_ms_max = 4000",
                                           "retry_count_max = 5", "in_flight_orders_max = 100"};
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

}  // namespace
}  // namespace fbg::test
