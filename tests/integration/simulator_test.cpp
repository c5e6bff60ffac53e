// The simulator process over real FIX sessions: a test initiator on the order-entry session, a
// test acceptor as the drop-copy receiver, the admin API for faults and ground truth.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "fix_engine.h"
#include "support/http_client.h"
#include "support/ports.h"
#include "support/postgres_instance.h"
#include "support/process.h"
#include "support/temp_folder.h"
#include "support/wait.h"

namespace fbg::test {
namespace {

using Json = nlohmann::json;

struct Inbox {
  std::mutex mutex;
  std::vector<fix::Message> messages;
  void add(const fix::Message& message) {
    std::lock_guard lock(mutex);
    messages.push_back(message);
  }
  std::size_t count(const std::string& msg_type, int tag = 0, const std::string& value = "") {
    std::lock_guard lock(mutex);
    std::size_t found = 0;
    for (const auto& message : messages) {
      if (message.msg_type != msg_type) continue;
      if (tag != 0 && (message.find(tag) == nullptr || *message.find(tag) != value)) continue;
      ++found;
    }
    return found;
  }
  std::vector<std::string> values(int tag) {
    std::lock_guard lock(mutex);
    std::vector<std::string> out;
    for (const auto& message : messages) {
      if (message.find(tag)) out.push_back(*message.find(tag));
    }
    return out;
  }
};

std::string clientSettings(bool acceptor, const std::string& sender, const std::string& target,
                           int port) {
  return std::string(
             "[DEFAULT]\nStartTime=00:00:00\nEndTime=00:00:00\nHeartBtInt=5\n"
             "ReconnectInterval=1\nUseDataDictionary=N\n[SESSION]\nBeginString=FIX.4.4\n"
             "ConnectionType=") +
         (acceptor ? "acceptor" : "initiator") + "\nSenderCompID=" + sender +
         "\nTargetCompID=" + target + "\n" +
         (acceptor ? "SocketAcceptPort=" : "SocketConnectHost=127.0.0.1\nSocketConnectPort=") +
         std::to_string(port) + "\n";
}

fix::Message order(const std::string& msg_type, const std::string& cl_ord_id) {
  fix::Message message;
  message.msg_type = msg_type;
  message.set(11, cl_ord_id);
  message.set(55, "AAPL");
  message.set(54, "1");
  if (msg_type == "D") {
    message.set(60, "20261125-17:00:00.000");
    message.set(38, "10");
    message.set(40, "2");
    message.set(44, "200.00");
  }
  return message;
}

class SimulatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    postgres.start();
    postgres.createDatabase("broker_sim");
    postgres.createDatabase("client");
    folder = makeTempFolder("simulator-test");
    order_port = freeLoopbackPort();
    drop_copy_port = freeLoopbackPort();
    http_port = freeLoopbackPort();
  }

  void startSimulator(const std::string& profile) {
    const std::string config = (folder / "simulator.conf").string();
    std::ofstream file(config);
    file << "profile = " << profile << "\npostgres_uri = " << postgres.uri("broker_sim")
         << "\nhttp_port = " << http_port << "\nfix_settings_file = " << FBG_FIX_CONFIG_DIR
         << "/simulator-" << profile << ".cfg\nfix_config_dir = " << FBG_FIX_CONFIG_DIR
         << "\nrun_dir = " << folder.string() << "\nfix_order_port = " << order_port
         << "\nfix_drop_copy_port = " << drop_copy_port << "\n";
    file.close();
    simulator.launch(FBG_SIMULATOR_BINARY, {"serve", "--config", config}, {},
                     folder / "simulator.log");
    ASSERT_TRUE(waitUntil([&] { return httpRequest(http_port, "GET", "/healthz").status == 200; },
                          std::chrono::seconds(30)))
        << logTail(folder / "simulator.log");
  }

  Json admin(const std::string& method, const std::string& path, const std::string& body = "") {
    const auto response = httpRequest(http_port, method, path, {}, body);
    EXPECT_EQ(response.status, 200) << path << " " << response.body;
    return Json::parse(response.body, nullptr, false);
  }

  PostgresInstance postgres;
  std::filesystem::path folder;
  int order_port = 0, drop_copy_port = 0, http_port = 0;
  ChildProcess simulator;
};

TEST_F(SimulatorTest, NewOrderIsAckedFilledInSlicesAndCopiedAndDuplicatesMakeNoSecondOrder) {
  startSimulator("SIM-A");
  admin("PUT", "/v1/faults", R"({"fill_slices": 2})");
  Inbox gateway_inbox, drop_copy_inbox;
  fix::EngineCallbacks gateway_callbacks, drop_copy_callbacks;
  gateway_callbacks.on_app_message = [&](const std::string&, const fix::Message& message) {
    gateway_inbox.add(message);
    return fix::Delivery::Accepted;
  };
  drop_copy_callbacks.on_app_message = [&](const std::string&, const fix::Message& message) {
    drop_copy_inbox.add(message);
    return fix::Delivery::Accepted;
  };
  fix::Engine fills(fix::EngineRole::Acceptor,
                    clientSettings(true, "FILLS", "SIM-A", drop_copy_port), postgres.uri("client"),
                    drop_copy_callbacks);
  fix::Engine gateway(fix::EngineRole::Initiator,
                      clientSettings(false, "GATEWAY", "SIM-A", order_port), postgres.uri("client"),
                      gateway_callbacks);
  fills.start();
  gateway.start();
  ASSERT_TRUE(
      waitUntil([&] { return gateway.sessions().at(0).logged_on; }, std::chrono::seconds(20)));

  ASSERT_TRUE(gateway.send("FIX.4.4:GATEWAY->SIM-A", order("D", "O-1")));
  // Default price 100.00 crosses the 200.00 limit: acknowledgement, then two fills.
  ASSERT_TRUE(
      waitUntil([&] { return gateway_inbox.count("8", 150, "F") == 2; }, std::chrono::seconds(15)));
  EXPECT_EQ(gateway_inbox.count("8", 150, "0"), 1u);
  ASSERT_TRUE(gateway.send("FIX.4.4:GATEWAY->SIM-A", order("D", "O-1")));
  ASSERT_TRUE(
      waitUntil([&] { return gateway_inbox.count("8", 150, "I") == 1; }, std::chrono::seconds(10)));
  ASSERT_TRUE(gateway.send("FIX.4.4:GATEWAY->SIM-A", order("H", "O-1")));
  ASSERT_TRUE(
      waitUntil([&] { return gateway_inbox.count("8", 150, "I") == 2; }, std::chrono::seconds(10)));

  const Json truth = admin("GET", "/v1/orders?cl_ord_id=O-1");
  ASSERT_EQ(truth["orders"].size(), 1u);
  EXPECT_EQ(truth["orders"][0]["cum_qty"], 10);
  EXPECT_EQ(truth["orders"][0]["status"], "FILLED");
  // The drop copy carries exactly the reports ground truth lists.
  const Json executions = admin("GET", "/v1/executions?after=0&limit=100");
  std::vector<std::string> issued;
  for (const auto& execution : executions["executions"]) issued.push_back(execution["exec_id"]);
  ASSERT_EQ(issued.size(), 4u);  // ack, two fills, the duplicate's order status
  // Session-level resends (PossDupFlag=Y) may repeat a report; distinct ExecIDs must be exactly
  // what ground truth lists, in issue order.
  auto distinct = [&] {
    std::vector<std::string> seen;
    for (const auto& id : drop_copy_inbox.values(17)) {
      if (std::find(seen.begin(), seen.end(), id) == seen.end()) seen.push_back(id);
    }
    return seen;
  };
  ASSERT_TRUE(
      waitUntil([&] { return distinct().size() >= issued.size(); }, std::chrono::seconds(15)));
  EXPECT_EQ(distinct(), issued);
  gateway.stop();
  fills.stop();
}

TEST_F(SimulatorTest, KnownClOrdIdAfterAKill9RestartStillMakesNoSecondOrder) {
  startSimulator("SIM-A");
  Inbox inbox;
  fix::EngineCallbacks callbacks;
  callbacks.on_app_message = [&](const std::string&, const fix::Message& message) {
    inbox.add(message);
    return fix::Delivery::Accepted;
  };
  fix::Engine gateway(fix::EngineRole::Initiator,
                      clientSettings(false, "GATEWAY", "SIM-A", order_port), postgres.uri("client"),
                      callbacks);
  gateway.start();
  ASSERT_TRUE(
      waitUntil([&] { return gateway.sessions().at(0).logged_on; }, std::chrono::seconds(20)));
  ASSERT_TRUE(gateway.send("FIX.4.4:GATEWAY->SIM-A", order("D", "O-K")));
  ASSERT_TRUE(waitUntil([&] { return inbox.count("8", 150, "0") == 1; }, std::chrono::seconds(10)));

  simulator.kill9();
  startSimulator("SIM-A");
  // The gateway's session notices the drop and logs on again to the restarted simulator.
  ASSERT_TRUE(waitUntil([&] { return gateway.send("FIX.4.4:GATEWAY->SIM-A", order("D", "O-K")); },
                        std::chrono::seconds(30), std::chrono::milliseconds(100)));
  ASSERT_TRUE(waitUntil([&] { return inbox.count("8", 150, "I") >= 1; }, std::chrono::seconds(15)));
  EXPECT_EQ(admin("GET", "/v1/orders?cl_ord_id=O-K")["orders"].size(), 1u);
  EXPECT_EQ(inbox.count("8", 150, "0"), 1u);  // acknowledged once, ever
  gateway.stop();
}

TEST_F(SimulatorTest, SimBAnswersStatusRequestsWithBusinessMessageReject) {
  startSimulator("SIM-B");
  Inbox gateway_inbox;
  fix::EngineCallbacks callbacks;
  callbacks.on_app_message = [&](const std::string&, const fix::Message& message) {
    gateway_inbox.add(message);
    return fix::Delivery::Accepted;
  };
  fix::Engine gateway(fix::EngineRole::Initiator,
                      clientSettings(false, "GATEWAY", "SIM-B", order_port), postgres.uri("client"),
                      callbacks);
  gateway.start();
  ASSERT_TRUE(
      waitUntil([&] { return gateway.sessions().at(0).logged_on; }, std::chrono::seconds(20)));
  ASSERT_TRUE(gateway.send("FIX.4.4:GATEWAY->SIM-B", order("H", "O-9")));
  ASSERT_TRUE(waitUntil([&] { return gateway_inbox.count("j") == 1; }, std::chrono::seconds(10)));
  EXPECT_EQ(gateway_inbox.count("j", 372, "H"), 1u);
  gateway.stop();
}

}  // namespace
}  // namespace fbg::test
