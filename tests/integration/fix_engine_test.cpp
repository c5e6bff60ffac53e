// The FIX engine over loopback with the PostgreSQL store: logon, application messages both
// ways, and a storage failure in the receiver that must not lose the message.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "fix_engine.h"
#include "support/ports.h"
#include "support/postgres_instance.h"
#include "support/wait.h"

namespace fbg::test {
namespace {

using fix::Delivery;
using fix::Engine;
using fix::EngineCallbacks;
using fix::EngineRole;
using fix::Message;

// extra_defaults: more [DEFAULT] lines, each ending in "\n"; ReconnectInterval is 1 unless it
// names another.
std::string settings(EngineRole role, int port, const std::string& extra_defaults = "") {
  const bool acceptor = role == EngineRole::Acceptor;
  const bool interval_given = extra_defaults.find("ReconnectInterval=") != std::string::npos;
  return std::string("[DEFAULT]\nConnectionType=") + (acceptor ? "acceptor" : "initiator") +
         "\nStartTime=00:00:00\nEndTime=00:00:00\nHeartBtInt=5\n" +
         (interval_given ? "" : "ReconnectInterval=1\n") + extra_defaults +
         "UseDataDictionary=N\nSocketAcceptPort=" + std::to_string(port) +
         "\nSocketConnectHost=127.0.0.1\nSocketConnectPort=" + std::to_string(port) +
         "\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=" + (acceptor ? "SIM-A" : "GATEWAY") +
         "\nTargetCompID=" + (acceptor ? "GATEWAY" : "SIM-A") + "\n";
}

Message newOrderSingle(const std::string& cl_ord_id) {
  Message message;
  message.msg_type = "D";
  message.set(11, cl_ord_id);
  message.set(55, "AAPL");
  message.set(54, "1");
  message.set(60, "20261125-17:00:00.000");
  message.set(38, "10");
  message.set(40, "2");
  message.set(44, "187.25");
  return message;
}

struct Received {
  std::mutex mutex;
  std::vector<std::string> cl_ord_ids;
  std::size_t count() {
    std::lock_guard lock(mutex);
    return cl_ord_ids.size();
  }
};

class FixEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    postgres.start();
    postgres.createDatabase("fix");
    port = freeLoopbackPort();
  }
  bool bothLoggedOn(Engine& a, Engine& b) {
    return a.sessions().at(0).logged_on && b.sessions().at(0).logged_on;
  }
  PostgresInstance postgres;
  int port = 0;
};

TEST_F(FixEngineTest, MessagesFlowBothWaysAndSequenceNumbersAdvance) {
  Received at_broker;
  Received at_gateway;
  Engine* broker_engine = nullptr;
  EngineCallbacks broker_callbacks;
  broker_callbacks.on_app_message = [&](const std::string& session, const Message& message) {
    {
      std::lock_guard lock(at_broker.mutex);
      at_broker.cl_ord_ids.push_back(*message.find(11));
    }
    Message report;
    report.msg_type = "8";
    report.set(37, "B1");
    report.set(11, *message.find(11));
    report.set(17, "E1");
    report.set(150, "0");
    report.set(39, "0");
    EXPECT_TRUE(broker_engine->send(session, report));
    return Delivery::Accepted;
  };
  Engine broker(EngineRole::Acceptor, settings(EngineRole::Acceptor, port), postgres.uri("fix"),
                broker_callbacks);
  broker_engine = &broker;
  EngineCallbacks gateway_callbacks;
  gateway_callbacks.on_app_message = [&](const std::string&, const Message& message) {
    std::lock_guard lock(at_gateway.mutex);
    at_gateway.cl_ord_ids.push_back(*message.find(11));
    return Delivery::Accepted;
  };
  Engine gateway(EngineRole::Initiator, settings(EngineRole::Initiator, port), postgres.uri("fix"),
                 gateway_callbacks);
  broker.start();
  gateway.start();
  ASSERT_TRUE(waitUntil([&] { return bothLoggedOn(broker, gateway); }, std::chrono::seconds(15)));

  ASSERT_TRUE(gateway.send("FIX.4.4:GATEWAY->SIM-A", newOrderSingle("O-1")));
  ASSERT_TRUE(waitUntil([&] { return at_gateway.count() == 1; }, std::chrono::seconds(10)));
  EXPECT_EQ(at_broker.cl_ord_ids, std::vector<std::string>{"O-1"});
  EXPECT_EQ(at_gateway.cl_ord_ids, std::vector<std::string>{"O-1"});
  const auto status = gateway.sessions().at(0);
  EXPECT_EQ(status.session_id, "FIX.4.4:GATEWAY->SIM-A");
  EXPECT_EQ(status.next_sender_seq_num, 3);  // logon, order
  EXPECT_EQ(status.next_target_seq_num, 3);  // logon, report
  EXPECT_FALSE(gateway.send("FIX.4.4:GATEWAY->NOBODY", newOrderSingle("O-2")));
  gateway.stop();
  broker.stop();
}

TEST_F(FixEngineTest, StorageFailureDisconnectsAndTheResendDeliversTheMessageOnce) {
  Received at_broker;
  std::atomic<int> failures_left{1};
  EngineCallbacks broker_callbacks;
  broker_callbacks.on_app_message = [&](const std::string&, const Message& message) {
    if (failures_left.fetch_sub(1) > 0) return Delivery::StorageFailed;
    std::lock_guard lock(at_broker.mutex);
    at_broker.cl_ord_ids.push_back(*message.find(11));
    return Delivery::Accepted;
  };
  Engine broker(EngineRole::Acceptor, settings(EngineRole::Acceptor, port), postgres.uri("fix"),
                broker_callbacks);
  Engine gateway(EngineRole::Initiator, settings(EngineRole::Initiator, port), postgres.uri("fix"),
                 EngineCallbacks{});
  broker.start();
  gateway.start();
  ASSERT_TRUE(waitUntil([&] { return bothLoggedOn(broker, gateway); }, std::chrono::seconds(15)));
  ASSERT_TRUE(gateway.send("FIX.4.4:GATEWAY->SIM-A", newOrderSingle("O-9")));
  // The first delivery fails: the session drops, reconnects, and the gap is resent.
  ASSERT_TRUE(waitUntil([&] { return at_broker.count() >= 1; }, std::chrono::seconds(20)));
  EXPECT_EQ(at_broker.cl_ord_ids, std::vector<std::string>{"O-9"});
  gateway.stop();
  broker.stop();
}

TEST_F(FixEngineTest, DisconnectFromTheCallbackKeepsTheReplyAndCountsTheMessage) {
  Received at_broker;
  Received at_gateway;
  std::atomic<int> gateway_logons{0};
  Engine* broker_engine = nullptr;
  EngineCallbacks broker_callbacks;
  broker_callbacks.on_app_message = [&](const std::string& session, const Message& message) {
    {
      std::lock_guard lock(at_broker.mutex);
      at_broker.cl_ord_ids.push_back(*message.find(11));
    }
    Message report;
    report.msg_type = "8";
    report.set(37, "B-" + *message.find(11));
    report.set(11, *message.find(11));
    report.set(17, "E-" + *message.find(11));
    report.set(150, "0");
    report.set(39, "0");
    EXPECT_TRUE(broker_engine->send(session, report));
    EXPECT_TRUE(broker_engine->disconnect(session));
    EXPECT_FALSE(broker_engine->disconnect(session));  // no longer logged on
    return Delivery::Accepted;
  };
  Engine broker(EngineRole::Acceptor, settings(EngineRole::Acceptor, port), postgres.uri("fix"),
                broker_callbacks);
  broker_engine = &broker;
  EngineCallbacks gateway_callbacks;
  gateway_callbacks.on_logon = [&](const std::string&) { ++gateway_logons; };
  gateway_callbacks.on_app_message = [&](const std::string&, const Message& message) {
    std::lock_guard lock(at_gateway.mutex);
    at_gateway.cl_ord_ids.push_back(*message.find(11));
    return Delivery::Accepted;
  };
  Engine gateway(EngineRole::Initiator, settings(EngineRole::Initiator, port), postgres.uri("fix"),
                 gateway_callbacks);
  broker.start();
  gateway.start();
  ASSERT_TRUE(waitUntil([&] { return bothLoggedOn(broker, gateway); }, std::chrono::seconds(15)));
  EXPECT_FALSE(broker.disconnect("FIX.4.4:SIM-A->NOBODY"));

  ASSERT_TRUE(gateway.send("FIX.4.4:GATEWAY->SIM-A", newOrderSingle("O-1")));
  // The initiator reconnects by itself (ReconnectInterval=1); the reply sent before the drop
  // arrives, directly or as the answer to its ResendRequest.
  ASSERT_TRUE(waitUntil([&] { return gateway_logons.load() >= 2 && at_gateway.count() >= 1; },
                        std::chrono::seconds(20)));
  ASSERT_TRUE(
      waitUntil([&] { return gateway.send("FIX.4.4:GATEWAY->SIM-A", newOrderSingle("O-2")); },
                std::chrono::seconds(20), std::chrono::milliseconds(50)));
  ASSERT_TRUE(waitUntil([&] { return at_gateway.count() >= 2; }, std::chrono::seconds(20)));
  // O-1 counted as received before the drop: the gateway had no reason to send it again.
  EXPECT_EQ(at_broker.cl_ord_ids, (std::vector<std::string>{"O-1", "O-2"}));
  EXPECT_EQ(at_gateway.cl_ord_ids, (std::vector<std::string>{"O-1", "O-2"}));
  // O-2 dropped the session too, and the initiator comes back again.
  EXPECT_TRUE(waitUntil([&] { return gateway_logons.load() >= 3; }, std::chrono::seconds(20)));
  gateway.stop();
  broker.stop();
}

// The broker of these tests drops the session on the first order, after acknowledging it.
struct DroppingBroker {
  Received orders;
  Engine* engine = nullptr;
  std::atomic<int> drops{0};
  EngineCallbacks callbacks() {
    EngineCallbacks broker_callbacks;
    broker_callbacks.on_app_message = [this](const std::string& session, const Message& message) {
      {
        std::lock_guard lock(orders.mutex);
        orders.cl_ord_ids.push_back(*message.find(11));
      }
      if (drops.fetch_add(1) == 0) {
        EXPECT_TRUE(engine->disconnect(session));
      }
      return Delivery::Accepted;
    };
    return broker_callbacks;
  }
};

constexpr const char* kGatewaySession = "FIX.4.4:GATEWAY->SIM-A";

// The dropping broker and a gateway that counts its logons, gateway_defaults added to the
// gateway's [DEFAULT] section.
struct DroppingPair {
  DroppingPair(int port, const std::string& uri, const std::string& gateway_defaults)
      : broker(EngineRole::Acceptor, settings(EngineRole::Acceptor, port), uri,
               dropping.callbacks()),
        gateway(EngineRole::Initiator, settings(EngineRole::Initiator, port, gateway_defaults), uri,
                countingLogons()) {
    dropping.engine = &broker;
    broker.start();
    gateway.start();
  }
  ~DroppingPair() {
    gateway.stop();
    broker.stop();
  }
  EngineCallbacks countingLogons() {
    EngineCallbacks callbacks;
    callbacks.on_logon = [this](const std::string&) { ++logons; };
    return callbacks;
  }
  DroppingBroker dropping;
  std::atomic<int> logons{0};
  Engine broker;
  Engine gateway;
};

// QuickFIX alone would wait ReconnectInterval (30 s here) before trying again.
TEST_F(FixEngineTest, ASessionLoggedOnLongEnoughIsReconnectedAtOnceAfterADrop) {
  DroppingPair pair(port, postgres.uri("fix"),
                    "ReconnectInterval=30\nPromptReconnectMinLogonMs=0\n");
  ASSERT_TRUE(
      waitUntil([&] { return bothLoggedOn(pair.broker, pair.gateway); }, std::chrono::seconds(15)));
  ASSERT_TRUE(pair.gateway.send(kGatewaySession, newOrderSingle("O-1")));
  EXPECT_TRUE(
      waitUntil([&] { return pair.logons.load() == 2 && bothLoggedOn(pair.broker, pair.gateway); },
                std::chrono::seconds(10)))
      << "logons " << pair.logons.load();
  EXPECT_EQ(pair.dropping.orders.cl_ord_ids, std::vector<std::string>{"O-1"});
}

// A session dropped sooner than PromptReconnectMinLogonMs after its logon (a peer that logs it
// out at once) waits ReconnectInterval, so a refusing peer never makes a tight loop.
TEST_F(FixEngineTest, ASessionDroppedSoonAfterItsLogonWaitsTheReconnectInterval) {
  DroppingPair pair(port, postgres.uri("fix"),
                    "ReconnectInterval=30\nPromptReconnectMinLogonMs=600000\n");
  ASSERT_TRUE(
      waitUntil([&] { return bothLoggedOn(pair.broker, pair.gateway); }, std::chrono::seconds(15)));
  ASSERT_TRUE(pair.gateway.send(kGatewaySession, newOrderSingle("O-1")));
  ASSERT_TRUE(waitUntil([&] { return !pair.gateway.sessions().at(0).logged_on; },
                        std::chrono::seconds(10)));
  EXPECT_TRUE(holdsFor(std::chrono::seconds(3), [&] { return pair.logons.load() == 1; }));
}

// QuickFIX 1.15.1 takes a refused non-blocking connect for a connection and stores and sends a
// Logon into it, a sender sequence number for each try. The probe before each try spares them:
// only the first try at start is QuickFIX's own.
TEST_F(FixEngineTest, APortThatRefusesConnectionsCostsNoSequenceNumbers) {
  Engine gateway(EngineRole::Initiator, settings(EngineRole::Initiator, port), postgres.uri("fix"),
                 EngineCallbacks{});
  gateway.start();
  // ReconnectInterval=1: four seconds are three or four tries.
  EXPECT_TRUE(holdsFor(std::chrono::seconds(4), [&] {
    return gateway.sessions().at(0).next_sender_seq_num <= 2;
  })) << gateway.sessions().at(0).next_sender_seq_num;
  const int before_logon = gateway.sessions().at(0).next_sender_seq_num;

  Engine broker(EngineRole::Acceptor, settings(EngineRole::Acceptor, port), postgres.uri("fix"),
                EngineCallbacks{});
  broker.start();
  ASSERT_TRUE(waitUntil([&] { return bothLoggedOn(broker, gateway); }, std::chrono::seconds(15)));
  EXPECT_EQ(gateway.sessions().at(0).next_sender_seq_num, before_logon + 1);  // its Logon
  gateway.stop();
  broker.stop();
}

TEST_F(FixEngineTest, ABadReconnectSettingStopsTheStartNamingTheKey) {
  for (const std::string line : {"ReconnectProbeTimeoutMs=0\n", "ReconnectProbeTimeoutMs=9000\n",
                                 "PromptReconnectMinLogonMs=soon\n"}) {
    Engine gateway(EngineRole::Initiator, settings(EngineRole::Initiator, port, line),
                   postgres.uri("fix"), EngineCallbacks{});
    try {
      gateway.start();
      ADD_FAILURE() << "started with " << line;
    } catch (const std::runtime_error& failure) {
      EXPECT_NE(std::string(failure.what()).find(line.substr(0, line.find('='))), std::string::npos)
          << failure.what();
    }
  }
}

}  // namespace
}  // namespace fbg::test
