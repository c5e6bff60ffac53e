// The simulator process over real FIX sessions: a test initiator on the order-entry session, a
// test acceptor as the drop-copy receiver, the admin API for faults and ground truth.
#include <gtest/gtest.h>

#include <Poco/Net/ServerSocket.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "common/money.h"
#include "fix_engine.h"
#include "support/http_client.h"
#include "support/ports.h"
#include "support/postgres_instance.h"
#include "support/process.h"
#include "support/raw_fix_client.h"
#include "support/serving.h"
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
  // Copies of the messages of msg_type whose body has every (tag, value) given.
  std::vector<fix::Message> matching(const std::string& msg_type, const FixFields& conditions) {
    std::lock_guard lock(mutex);
    std::vector<fix::Message> out;
    for (const auto& message : messages) {
      if (message.msg_type != msg_type) continue;
      const bool all = std::all_of(conditions.begin(), conditions.end(), [&](const auto& wanted) {
        const std::string* value = message.find(wanted.first);
        return value != nullptr && *value == wanted.second;
      });
      if (all) out.push_back(message);
    }
    return out;
  }
  std::size_t countFor(const std::string& cl_ord_id) {
    std::lock_guard lock(mutex);
    return static_cast<std::size_t>(
        std::count_if(messages.begin(), messages.end(), [&](const fix::Message& message) {
          return message.find(11) != nullptr && *message.find(11) == cl_ord_id;
        }));
  }
  void clear() {
    std::lock_guard lock(mutex);
    messages.clear();
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
                           int port, int heart_beat_s = 5) {
  return "[DEFAULT]\nStartTime=00:00:00\nEndTime=00:00:00\nHeartBtInt=" +
         std::to_string(heart_beat_s) +
         "\nReconnectInterval=1\nUseDataDictionary=N\n[SESSION]\nBeginString=FIX.4.4\n"
         "ConnectionType=" +
         (acceptor ? "acceptor" : "initiator") + "\nSenderCompID=" + sender +
         "\nTargetCompID=" + target + "\n" +
         (acceptor ? "SocketAcceptPort=" : "SocketConnectHost=127.0.0.1\nSocketConnectPort=") +
         std::to_string(port) + "\n";
}

constexpr auto kLogonDeadline = std::chrono::seconds(20);
constexpr auto kReplyDeadline = std::chrono::seconds(15);
// A FIX session drop and the initiator's reconnect (ReconnectInterval=1) fit well inside this.
constexpr auto kReconnectDeadline = std::chrono::seconds(30);
// Against the default price 100.00 (no walk): a BUY at 50.00 stays open, one at 200.00 fills.
const std::string kBelowMarket = "50.00";
const std::string kAboveMarket = "200.00";
const std::string kTransactTime = "20261125-17:00:00.000";

fix::Message order(const std::string& msg_type, const std::string& cl_ord_id) {
  fix::Message message;
  message.msg_type = msg_type;
  message.set(11, cl_ord_id);
  message.set(55, "AAPL");
  message.set(54, "1");
  if (msg_type == "D") {
    message.set(60, kTransactTime);
    message.set(38, "10");
    message.set(40, "2");
    message.set(44, kAboveMarket);
  }
  return message;
}

// NewOrderSingle (35=D): BUY 10 AAPL, LIMIT at limit_price.
FixFields limitBuyFields(const std::string& cl_ord_id, const std::string& limit_price) {
  return {{11, cl_ord_id}, {55, "AAPL"}, {54, "1"},        {60, kTransactTime},
          {38, "10"},      {40, "2"},    {44, limit_price}};
}

fix::Message limitBuy(const std::string& cl_ord_id, const std::string& limit_price) {
  fix::Message message;
  message.msg_type = "D";
  for (const auto& [tag, value] : limitBuyFields(cl_ord_id, limit_price)) message.set(tag, value);
  return message;
}

// OrderCancelRequest (35=F) with every field FIX44.xml requires.
fix::Message cancelRequest(const std::string& orig_cl_ord_id, const std::string& cl_ord_id) {
  fix::Message message;
  message.msg_type = "F";
  message.set(41, orig_cl_ord_id);
  message.set(11, cl_ord_id);
  message.set(55, "AAPL");
  message.set(54, "1");
  message.set(60, kTransactTime);
  message.set(38, "10");
  return message;
}

// The field's value, or a text no field has (so a comparison with it fails, and says why).
template <typename AnyMessage>
std::string valueOr(const AnyMessage& message, int tag) {
  const std::string* value = message.find(tag);
  return value ? *value : "<absent " + std::to_string(tag) + ">";
}

// ExecID -> the MsgSeqNums it arrived with. A session-level resend (PossDupFlag=Y, answering a
// ResendRequest) repeats a FIX message with its original MsgSeqNum, so it adds nothing here: it
// is the same report delivered again, not a second report. The duplicate_report_rate fault sends
// the report again as a new message (a new MsgSeqNum, the same ExecID): that counts twice.
std::map<std::string, std::set<int>> copiesByExecId(Inbox& inbox) {
  std::map<std::string, std::set<int>> copies;
  for (const auto& report : inbox.matching("8", {})) {
    if (report.find(17)) copies[*report.find(17)].insert(report.msg_seq_num);
  }
  return copies;
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

  void TearDown() override {
    gateway.reset();
    fills.reset();
    simulator.kill9();
    // Kept when the test failed: the simulator's log and FIX logs are the evidence.
    if (!HasFailure()) {
      std::error_code ignored;
      std::filesystem::remove_all(folder, ignored);
    }
  }

  // extra_config: more "key = value" lines for the simulator's configuration file.
  void startSimulator(const std::string& profile, const std::string& extra_config = "") {
    launchSimulator(profile, extra_config);
    ASSERT_TRUE(waitUntilServing(simulator, http_port)) << logTail(folder / "simulator.log");
  }

  // Writes the configuration and starts the process, without waiting for it to serve.
  void launchSimulator(const std::string& profile, const std::string& extra_config = "") {
    const std::string config = (folder / "simulator.conf").string();
    std::ofstream file(config);
    file << "profile = " << profile << "\npostgres_uri = " << postgres.uri("broker_sim")
         << "\nhttp_port = " << http_port << "\nfix_settings_file = " << FBG_FIX_CONFIG_DIR
         << "/simulator-" << profile << ".cfg\nfix_config_dir = " << FBG_FIX_CONFIG_DIR
         << "\nrun_dir = " << folder.string() << "\nfix_order_port = " << order_port
         << "\nfix_drop_copy_port = "
         << drop_copy_port
         // The tests count sequence numbers across kills: the peer's is stored on each message.
         << "\nfix_store_target_seq_write_every_messages = 1\n"
         << extra_config;
    file.close();
    simulator.launch(FBG_SIMULATOR_BINARY, {"serve", "--config", config}, {},
                     folder / "simulator.log");
  }

  // The test's gateway on the profile's order session (store in database "client"): replies go
  // to gateway_inbox, logons and its own PossDupFlag resends are counted.
  void connectGateway(const std::string& profile = "SIM-A", int heart_beat_s = 5) {
    order_session = "FIX.4.4:GATEWAY->" + profile;
    fix::EngineCallbacks callbacks;
    callbacks.on_logon = [this](const std::string&) { ++gateway_logons; };
    callbacks.on_app_message = [this](const std::string&, const fix::Message& message) {
      gateway_inbox.add(message);
      return fix::Delivery::Accepted;
    };
    callbacks.before_app_send = [this](const std::string&, const fix::Message&,
                                       bool possible_duplicate) {
      if (possible_duplicate) ++gateway_resends;
      return true;
    };
    gateway = std::make_unique<fix::Engine>(
        fix::EngineRole::Initiator,
        clientSettings(false, "GATEWAY", profile, order_port, heart_beat_s), postgres.uri("client"),
        callbacks);
    gateway->start();
    ASSERT_TRUE(waitUntil([&] { return gateway->sessions().at(0).logged_on; }, kLogonDeadline))
        << logTail(folder / "simulator.log");
  }

  // The test's fill receiver: acceptor of the SIM-A drop copy; reports go to drop_copy_inbox.
  void listenForDropCopy() {
    fix::EngineCallbacks callbacks;
    callbacks.on_app_message = [this](const std::string&, const fix::Message& message) {
      drop_copy_inbox.add(message);
      return fix::Delivery::Accepted;
    };
    fills = std::make_unique<fix::Engine>(fix::EngineRole::Acceptor,
                                          clientSettings(true, "FILLS", "SIM-A", drop_copy_port),
                                          postgres.uri("client"), callbacks);
    fills->start();
  }

  // Sends on the order session, waiting out a reconnect (send() refuses while logged off).
  bool sendOrderMessage(const fix::Message& message) {
    return waitUntil([&] { return gateway->send(order_session, message); }, kReconnectDeadline,
                     std::chrono::milliseconds(20));
  }

  // The ExecutionReport for cl_ord_id with ExecType exec_type, once it has arrived.
  std::optional<fix::Message> awaitReport(const std::string& cl_ord_id,
                                          const std::string& exec_type) {
    std::optional<fix::Message> found;
    waitUntil(
        [&] {
          const auto reports = gateway_inbox.matching("8", {{11, cl_ord_id}, {150, exec_type}});
          if (!reports.empty()) found = reports.front();
          return found.has_value();
        },
        kReplyDeadline);
    return found;
  }

  Json admin(const std::string& method, const std::string& path, const std::string& body = "") {
    const auto response = httpRequest(http_port, method, path, {}, body);
    EXPECT_EQ(response.status, 200) << path << " " << response.body;
    return Json::parse(response.body, nullptr, false);
  }

  // Ground truth: the orders the simulator holds for cl_ord_id.
  Json orders(const std::string& cl_ord_id) {
    return admin("GET", "/v1/orders?cl_ord_id=" + cl_ord_id)["orders"];
  }

  // Ground truth: every execution report the simulator issued, in issue order.
  std::vector<Json> executions() {
    std::vector<Json> all;
    int64_t after = 0;
    for (int page = 0; page < 100; ++page) {
      const Json body =
          admin("GET", "/v1/executions?after=" + std::to_string(after) + "&limit=1000");
      if (!body.contains("executions") || body["executions"].empty()) break;
      for (const auto& execution : body["executions"]) all.push_back(execution);
      after = body["next_after"].get<int64_t>();
    }
    return all;
  }

  // A counter from GET /metrics, -1 if it is not there.
  int64_t metric(const std::string& name) {
    const std::string text = httpRequest(http_port, "GET", "/metrics").body;
    const std::size_t at = text.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stoll(text.substr(at + name.size() + 2));
  }

  PostgresInstance postgres;
  std::filesystem::path folder;
  int order_port = 0, drop_copy_port = 0, http_port = 0;
  ChildProcess simulator;
  // Declared before the engines, so the engines (whose callbacks write here) go first.
  Inbox gateway_inbox, drop_copy_inbox;
  std::atomic<int> gateway_logons{0};
  std::atomic<int> gateway_resends{0};
  std::string order_session;
  std::unique_ptr<fix::Engine> fills;
  std::unique_ptr<fix::Engine> gateway;
};

TEST_F(SimulatorTest, NewOrderIsAckedFilledInSlicesAndCopiedAndDuplicatesMakeNoSecondOrder) {
  startSimulator("SIM-A");
  admin("PUT", "/v1/faults", R"({"fill_slices": 2})");
  listenForDropCopy();
  connectGateway();

  ASSERT_TRUE(sendOrderMessage(order("D", "O-1")));
  // Default price 100.00 crosses the 200.00 limit: acknowledgement, then two fills.
  ASSERT_TRUE(waitUntil([&] { return gateway_inbox.count("8", 150, "F") == 2; }, kReplyDeadline));
  EXPECT_EQ(gateway_inbox.count("8", 150, "0"), 1u);
  ASSERT_TRUE(sendOrderMessage(order("D", "O-1")));
  ASSERT_TRUE(waitUntil([&] { return gateway_inbox.count("8", 150, "I") == 1; }, kReplyDeadline));
  ASSERT_TRUE(sendOrderMessage(order("H", "O-1")));
  ASSERT_TRUE(waitUntil([&] { return gateway_inbox.count("8", 150, "I") == 2; }, kReplyDeadline));

  const Json truth = orders("O-1");
  ASSERT_EQ(truth.size(), 1u);
  EXPECT_EQ(truth[0]["cum_qty"], 10);
  EXPECT_EQ(truth[0]["status"], "FILLED");
  // The drop copy carries exactly the reports ground truth lists.
  std::vector<std::string> issued;
  for (const auto& execution : executions()) issued.push_back(execution["exec_id"]);
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
  ASSERT_TRUE(waitUntil([&] { return distinct().size() >= issued.size(); }, kReplyDeadline));
  EXPECT_EQ(distinct(), issued);
}

TEST_F(SimulatorTest, KnownClOrdIdAfterAKill9RestartStillMakesNoSecondOrder) {
  startSimulator("SIM-A");
  connectGateway();
  ASSERT_TRUE(sendOrderMessage(order("D", "O-K")));
  ASSERT_TRUE(waitUntil([&] { return gateway_inbox.count("8", 150, "0") == 1; }, kReplyDeadline));

  simulator.kill9();
  startSimulator("SIM-A");
  // The gateway's session notices the drop and logs on again to the restarted simulator.
  ASSERT_TRUE(sendOrderMessage(order("D", "O-K")));
  ASSERT_TRUE(waitUntil([&] { return gateway_inbox.count("8", 150, "I") >= 1; }, kReplyDeadline));
  EXPECT_EQ(orders("O-K").size(), 1u);
  EXPECT_EQ(gateway_inbox.count("8", 150, "0"), 1u);  // acknowledged once, ever
}

// Commit before send: every report the order session saw is in ground truth after a kill -9
// right behind it. The drop copy carries each report in issue order: before the kill (from
// memory, as reports are recorded), after the restart (from the store, behind the carried
// position) and for reports recorded after the restart.
TEST_F(SimulatorTest, Kill9LosesNoSentReportAndTheDropCopyCarriesEveryReportInOrder) {
  startSimulator("SIM-A");
  admin("PUT", "/v1/faults", R"({"fill_slices": 2})");
  listenForDropCopy();
  connectGateway();
  const std::vector<std::string> before = {"KD-1", "KD-2", "KD-3"};
  for (const auto& id : before) ASSERT_TRUE(sendOrderMessage(limitBuy(id, kAboveMarket)));
  ASSERT_TRUE(waitUntil([&] { return gateway_inbox.count("8", 150, "F") == 6; }, kReplyDeadline));
  simulator.kill9();  // right behind the last fill it sent

  startSimulator("SIM-A");
  admin("PUT", "/v1/faults", R"({"fill_slices": 2})");
  std::set<std::string> issued_before;
  for (const auto& execution : executions()) issued_before.insert(execution["exec_id"]);
  for (const auto& id : gateway_inbox.values(17)) {
    EXPECT_TRUE(issued_before.count(id)) << id << " was sent but not booked";
  }
  EXPECT_EQ(issued_before.size(), 9u);  // an acknowledgement and two fills per order

  ASSERT_TRUE(sendOrderMessage(limitBuy("KD-4", kAboveMarket)));
  std::vector<std::string> issued;
  ASSERT_TRUE(waitUntil(
      [&] {
        issued.clear();
        for (const auto& execution : executions()) issued.push_back(execution["exec_id"]);
        return issued.size() == 12u;
      },
      kReplyDeadline));
  // Reports carried before the kill may come again after it (the carried position is written
  // now and then); distinct ExecIDs, in the order they first arrived, are ground truth's.
  const auto distinct = [&] {
    std::vector<std::string> seen;
    for (const auto& id : drop_copy_inbox.values(17)) {
      if (std::find(seen.begin(), seen.end(), id) == seen.end()) seen.push_back(id);
    }
    return seen;
  };
  ASSERT_TRUE(waitUntil([&] { return distinct().size() >= issued.size(); }, kReconnectDeadline));
  EXPECT_EQ(distinct(), issued);
}

TEST_F(SimulatorTest, SimBAnswersStatusRequestsWithBusinessMessageReject) {
  startSimulator("SIM-B");
  connectGateway("SIM-B");
  ASSERT_TRUE(sendOrderMessage(order("H", "O-9")));
  ASSERT_TRUE(waitUntil([&] { return gateway_inbox.count("j") == 1; }, kReplyDeadline));
  EXPECT_EQ(gateway_inbox.count("j", 372, "H"), 1u);
}

TEST_F(SimulatorTest, CancelOfALiveOrderIsCanceledAndOfAFilledOrderIsRejected) {
  startSimulator("SIM-A");
  connectGateway();
  ASSERT_TRUE(sendOrderMessage(limitBuy("O-LIVE", kBelowMarket)));
  ASSERT_TRUE(sendOrderMessage(limitBuy("O-DONE", kAboveMarket)));
  const auto ack = awaitReport("O-LIVE", "0");
  ASSERT_TRUE(ack);
  ASSERT_TRUE(waitUntil(
      [&] {
        return !gateway_inbox.matching("8", {{11, "O-DONE"}, {39, "2"}}).empty();
      },
      kReplyDeadline));

  ASSERT_TRUE(sendOrderMessage(cancelRequest("O-LIVE", "O-LIVE-C1")));
  const auto canceled = awaitReport("O-LIVE-C1", "4");
  ASSERT_TRUE(canceled) << "no ExecType=4 for the cancel of a live order";
  EXPECT_EQ(valueOr(*canceled, 39), "4");
  EXPECT_EQ(valueOr(*canceled, 41), "O-LIVE");
  EXPECT_EQ(valueOr(*canceled, 37), valueOr(*ack, 37));  // the same broker order
  EXPECT_EQ(valueOr(*canceled, 14), "0");
  EXPECT_EQ(valueOr(*canceled, 151), "0");

  ASSERT_TRUE(sendOrderMessage(cancelRequest("O-DONE", "O-DONE-C1")));
  ASSERT_TRUE(
      waitUntil([&] { return gateway_inbox.count("9", 11, "O-DONE-C1") == 1; }, kReplyDeadline))
      << "no OrderCancelReject for the cancel of a filled order";
  const fix::Message reject = gateway_inbox.matching("9", {{11, "O-DONE-C1"}}).front();
  EXPECT_EQ(valueOr(reject, 41), "O-DONE");
  EXPECT_EQ(valueOr(reject, 39), "2");   // still filled
  EXPECT_EQ(valueOr(reject, 434), "1");  // in answer to an OrderCancelRequest
  EXPECT_NE(reject.find(58), nullptr);   // with the reason
  EXPECT_TRUE(gateway_inbox.matching("8", {{11, "O-DONE-C1"}}).empty());

  const Json live = orders("O-LIVE");
  const Json done = orders("O-DONE");
  ASSERT_EQ(live.size(), 1u);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(live[0]["status"], "CANCELED");
  EXPECT_EQ(live[0]["cum_qty"], 0);
  EXPECT_EQ(done[0]["status"], "FILLED");
  EXPECT_EQ(done[0]["cum_qty"], 10);
}

TEST_F(SimulatorTest, DroppedAcknowledgementIsBookedButNeverSentWhileALaterOrderIsAnswered) {
  startSimulator("SIM-A");
  connectGateway();
  admin("PUT", "/v1/faults", R"({"drop_ack_rate": 1})");
  ASSERT_TRUE(sendOrderMessage(limitBuy("O-MUTE", kBelowMarket)));  // stays open: no fill either
  ASSERT_TRUE(waitUntil([&] { return orders("O-MUTE").size() == 1; }, kReplyDeadline));
  admin("PUT", "/v1/faults", R"({"drop_ack_rate": 0})");
  ASSERT_TRUE(sendOrderMessage(limitBuy("O-PROBE", kBelowMarket)));
  // The session is in order and the simulator answers it on one thread: once the later order's
  // acknowledgement is here, one for O-MUTE would have been here before it.
  ASSERT_TRUE(awaitReport("O-PROBE", "0"));
  EXPECT_EQ(gateway_inbox.countFor("O-MUTE"), 0u);
  EXPECT_EQ(orders("O-MUTE")[0]["status"], "NEW");
  EXPECT_EQ(metric("sim_dropped_acks_total"), 1);
  // Issued all the same (the drop copy carries it); only the order session never saw it.
  const auto issued = executions();
  EXPECT_EQ(std::count_if(
                issued.begin(), issued.end(),
                [](const Json& e) { return e["cl_ord_id"] == "O-MUTE" && e["exec_type"] == "0"; }),
            1);
}

TEST_F(SimulatorTest, RejectRateRejectsTheOrderWithAText) {
  startSimulator("SIM-A");
  connectGateway();
  admin("PUT", "/v1/faults", R"({"reject_rate": 1})");
  ASSERT_TRUE(sendOrderMessage(limitBuy("O-NO", kAboveMarket)));
  const auto rejected = awaitReport("O-NO", "8");
  ASSERT_TRUE(rejected);
  EXPECT_EQ(valueOr(*rejected, 39), "8");
  ASSERT_NE(rejected->find(58), nullptr);
  EXPECT_FALSE(rejected->find(58)->empty());
  EXPECT_EQ(valueOr(*rejected, 14), "0");
  EXPECT_EQ(valueOr(*rejected, 151), "0");
  const Json truth = orders("O-NO");
  ASSERT_EQ(truth.size(), 1u);
  EXPECT_EQ(truth[0]["status"], "REJECTED");
  EXPECT_TRUE(gateway_inbox.matching("8", {{11, "O-NO"}, {150, "0"}}).empty());
}

TEST_F(SimulatorTest, DropCopyCarriesEachReportOnceOrTwiceWithDuplicateReportRate) {
  startSimulator("SIM-A");
  listenForDropCopy();
  connectGateway();
  const auto issuedIds = [&] {
    std::set<std::string> ids;
    for (const auto& execution : executions()) ids.insert(execution["exec_id"]);
    return ids;
  };
  const auto placeFilled = [&](const std::vector<std::string>& ids) {
    for (const auto& id : ids) ASSERT_TRUE(sendOrderMessage(limitBuy(id, kAboveMarket)));
    for (const auto& id : ids) {
      ASSERT_TRUE(waitUntil([&] { return orders(id)[0]["status"] == "FILLED"; }, kReplyDeadline));
    }
  };

  // duplicate_report_rate 0: every report ground truth lists, each exactly once.
  ASSERT_NO_FATAL_FAILURE(placeFilled({"DC-1", "DC-2"}));
  const std::set<std::string> first = issuedIds();
  ASSERT_EQ(first.size(), 4u);  // an acknowledgement and a fill per order
  ASSERT_TRUE(
      waitUntil([&] { return copiesByExecId(drop_copy_inbox).size() >= 4; }, kReplyDeadline));
  for (const auto& [exec_id, seqs] : copiesByExecId(drop_copy_inbox)) {
    EXPECT_TRUE(first.count(exec_id)) << exec_id << " is not in ground truth";
    EXPECT_EQ(seqs.size(), 1u) << exec_id;
  }

  // duplicate_report_rate 1: each new report twice, the same ExecID in two messages.
  admin("PUT", "/v1/faults", R"({"duplicate_report_rate": 1})");
  ASSERT_NO_FATAL_FAILURE(placeFilled({"DC-3", "DC-4"}));
  const std::set<std::string> all = issuedIds();
  ASSERT_EQ(all.size(), 8u);
  const auto carried = [&](const std::string& exec_id, std::size_t times) {
    const auto copies = copiesByExecId(drop_copy_inbox);
    const auto found = copies.find(exec_id);
    return found != copies.end() && found->second.size() >= times;
  };
  for (const auto& exec_id : all) {
    const std::size_t times = first.count(exec_id) ? 1 : 2;
    ASSERT_TRUE(waitUntil([&] { return carried(exec_id, times); }, kReplyDeadline)) << exec_id;
  }
  const auto copies = copiesByExecId(drop_copy_inbox);
  EXPECT_EQ(copies.size(), all.size());
  for (const auto& [exec_id, seqs] : copies) {
    EXPECT_TRUE(all.count(exec_id)) << exec_id << " is not in ground truth";
    EXPECT_EQ(seqs.size(), first.count(exec_id) ? 1u : 2u) << exec_id;
  }
}

TEST_F(SimulatorTest, DisconnectEveryMessagesDropsTheSessionAndNoOrderIsLostOrDoubled) {
  constexpr int kEvery = 3;
  constexpr int kOrders = 7;
  startSimulator("SIM-A");
  connectGateway();
  admin("PUT", "/v1/faults", R"({"disconnect_every_messages": 3})");
  // Sent back to back, so some are in flight when the session drops and come back through the
  // gateway's store (the simulator's ResendRequest after the logon).
  std::vector<std::string> ids;
  for (int i = 1; i <= kOrders; ++i) {
    ids.push_back("DX-" + std::to_string(i));
    ASSERT_TRUE(sendOrderMessage(limitBuy(ids.back(), kBelowMarket)));
  }
  for (const auto& id : ids) ASSERT_TRUE(awaitReport(id, "0")) << id << " never acknowledged";
  // Dropped after messages 3 and 6; the gateway logged on again after each.
  EXPECT_EQ(metric("sim_fault_disconnects_total"), kOrders / kEvery);
  EXPECT_TRUE(
      waitUntil([&] { return gateway_logons.load() >= 1 + kOrders / kEvery; }, kReconnectDeadline))
      << gateway_logons.load() << " logons";

  const auto issued = executions();
  for (const auto& id : ids) {
    EXPECT_EQ(orders(id).size(), 1u) << id;
    // One acknowledgement issued per order, and none arrived twice as two different reports.
    EXPECT_EQ(std::count_if(issued.begin(), issued.end(),
                            [&](const Json& e) { return e["cl_ord_id"] == id; }),
              1)
        << id;
    std::set<std::string> acks;
    for (const auto& report : gateway_inbox.matching("8", {{11, id}}))
      acks.insert(valueOr(report, 17));
    EXPECT_EQ(acks.size(), 1u) << id;
  }
  // No NewOrderSingle was processed twice (that would have issued an order status, 150=I).
  EXPECT_TRUE(std::none_of(issued.begin(), issued.end(),
                           [](const Json& e) { return e["exec_type"] == "I"; }));
}

TEST_F(SimulatorTest, PricesWalkEachTickAndASetPriceIsTheNewStart) {
  startSimulator("SIM-A", "price_walk_seed = 7\nprice_walk_step_bps = 50\n");
  const auto priceOf = [&](const std::string& symbol) {
    return Money::parse(admin("GET", "/v1/prices/" + symbol)["price"].get<std::string>()).value();
  };
  admin("PUT", "/v1/prices/AAPL", R"({"price": "100.00"})");
  std::set<int64_t> seen;
  ASSERT_TRUE(waitUntil(
      [&] {
        const Money price = priceOf("AAPL");
        EXPECT_TRUE(price.isPositive());
        seen.insert(price.units());
        return seen.size() >= 5;
      },
      kReplyDeadline));
  // A symbol nobody set and nobody trades does not walk: it keeps the default price.
  EXPECT_EQ(priceOf("MSFT").toString(), "100.00");

  // One tick a second from now on, so the next read is at most a few steps from the set price
  // (at 0.5% a step, 5% is ten steps: ten seconds).
  admin("PUT", "/v1/faults", R"({"fill_delay_ms": 1000})");
  admin("PUT", "/v1/prices/AAPL", R"({"price": "500.00"})");
  const Money after_set = priceOf("AAPL");
  EXPECT_GE(after_set, Money::fromWhole(475)) << after_set.toString();
  EXPECT_LE(after_set, Money::fromWhole(525)) << after_set.toString();
}

// Sorted by tag: QuickFIX may write a re-parsed message's fields in another order.
std::vector<std::pair<int, std::string>> sortedBody(const fix::Message& message) {
  std::vector<std::pair<int, std::string>> fields;
  for (const auto& field : message.body) fields.emplace_back(field.tag, field.value);
  std::sort(fields.begin(), fields.end());
  return fields;
}

TEST_F(SimulatorTest, Kill9KeepsTheSessionNumbersAndTheStoreAnswersTheResendRequest) {
  // Heartbeats slower than the test, so only the messages below move the sequence numbers.
  constexpr int kQuietHeartBeatS = 60;
  const std::string session_row = "FROM fix_sessions WHERE session_id = 'FIX.4.4:SIM-A->GATEWAY'";
  const auto stored = [&](const std::string& column) {
    return std::stoi(postgres.queryScalar("broker_sim", "SELECT " + column + " " + session_row));
  };
  startSimulator("SIM-A");
  connectGateway("SIM-A", kQuietHeartBeatS);
  const std::vector<std::string> ids = {"K-1", "K-2", "K-3"};
  for (const auto& id : ids) ASSERT_TRUE(sendOrderMessage(limitBuy(id, kBelowMarket)));
  std::map<std::string, fix::Message> originals;
  for (const auto& id : ids) {
    const auto ack = awaitReport(id, "0");
    ASSERT_TRUE(ack) << id;
    originals[id] = *ack;
  }
  const fix::SessionStatus before = gateway->sessions().at(0);

  simulator.kill9();
  // The simulator's store counted every message either side sent, and nothing more.
  EXPECT_EQ(stored("next_sender_seq"), before.next_target_seq_num);
  EXPECT_EQ(stored("next_target_seq"), before.next_sender_seq_num);

  // The test's gateway forgets every message after the simulator's Logon (seq 1). On its next
  // logon it sees a gap and sends a ResendRequest, which the restarted simulator can answer only
  // from what its PgMessageStore kept in PostgreSQL.
  gateway.reset();
  gateway_inbox.clear();
  postgres.exec("client",
                "UPDATE fix_sessions SET next_target_seq = 2 WHERE session_id = "
                "'FIX.4.4:GATEWAY->SIM-A'");
  startSimulator("SIM-A");
  connectGateway("SIM-A", kQuietHeartBeatS);
  ASSERT_TRUE(waitUntil([&] { return gateway_inbox.matching("8", {}).size() >= ids.size(); },
                        kReplyDeadline));
  const auto resent = gateway_inbox.matching("8", {});
  EXPECT_EQ(resent.size(), ids.size());
  for (const auto& report : resent) {
    const auto original = originals.find(valueOr(report, 11));
    ASSERT_NE(original, originals.end()) << valueOr(report, 11);
    const std::string* poss_dup = report.findInHeader(43);
    EXPECT_TRUE(poss_dup != nullptr && *poss_dup == "Y") << valueOr(report, 11);
    EXPECT_NE(report.findInHeader(122), nullptr);  // OrigSendingTime
    EXPECT_EQ(report.msg_seq_num, original->second.msg_seq_num);
    // The same content, TransactTime included: stored, not issued again after the restart.
    EXPECT_EQ(sortedBody(report), sortedBody(original->second));
  }
  // The restarted simulator took the gateway's logon without a gap: it asked for no resend.
  EXPECT_EQ(gateway_resends.load(), 0);
  EXPECT_TRUE(waitUntil(
      [&] {
        const auto now = gateway->sessions().at(0);
        return stored("next_sender_seq") == now.next_target_seq_num &&
               stored("next_target_seq") == now.next_sender_seq_num;
      },
      kReplyDeadline))
      << "simulator stored " << stored("next_sender_seq") << "/" << stored("next_target_seq")
      << ", gateway " << gateway->sessions().at(0).next_target_seq_num << "/"
      << gateway->sessions().at(0).next_sender_seq_num;
  for (const auto& id : ids) EXPECT_EQ(orders(id).size(), 1u) << id;
}

// Session-level checks with a raw socket: a FIX engine would not send these.
class SimulatorRawSessionTest : public SimulatorTest {
 protected:
  // Logs client on as GATEWAY with a heartbeat longer than the test; asserts the Logon answer.
  void logOn(RawFixClient& client) {
    client.connect(order_port);
    ASSERT_TRUE(client.logon(kRawHeartBeatS));
    const auto answer = client.receiveSkippingHeartbeats(kReplyDeadline);
    ASSERT_TRUE(answer) << logTail(folder / "simulator.log");
    ASSERT_EQ(answer->type(), "A");
  }

  // The simulator still answers: /healthz is 200 and a good order gets its acknowledgement as
  // the very next message (so nothing was answered to what came before).
  void expectStillServing(RawFixClient& client, const std::string& cl_ord_id) {
    EXPECT_EQ(httpRequest(http_port, "GET", "/healthz").status, 200);
    ASSERT_TRUE(client.send("D", limitBuyFields(cl_ord_id, kBelowMarket)));
    const auto reply = client.receiveSkippingHeartbeats(kReplyDeadline);
    ASSERT_TRUE(reply) << "no answer to " << cl_ord_id;
    EXPECT_EQ(reply->type(), "8");
    EXPECT_EQ(valueOr(*reply, 11), cl_ord_id);
    EXPECT_EQ(valueOr(*reply, 150), "0");
  }

  static constexpr int kRawHeartBeatS = 60;
};

TEST_F(SimulatorRawSessionTest, LogonWithAWrongCompIdIsRefusedAndTheRightOneIsStillServed) {
  startSimulator("SIM-A");
  for (const auto& [sender, target] : std::vector<std::pair<std::string, std::string>>{
           {"INTRUDER", "SIM-A"}, {"GATEWAY", "SIM-Z"}}) {
    RawFixClient stranger(sender, target);
    stranger.connect(order_port);
    ASSERT_TRUE(stranger.logon(kRawHeartBeatS));
    // No session has these CompIDs: QuickFIX closes the socket without a word.
    EXPECT_FALSE(stranger.receive(kReplyDeadline)) << sender << "->" << target;
    EXPECT_TRUE(stranger.closed()) << sender << "->" << target;
    EXPECT_EQ(httpRequest(http_port, "GET", "/healthz").status, 200);
  }
  RawFixClient gateway_client("GATEWAY", "SIM-A");
  logOn(gateway_client);
  expectStillServing(gateway_client, "R-1");
}

TEST_F(SimulatorRawSessionTest, InvalidMessagesGetASessionRejectOrBusinessReject) {
  startSimulator("SIM-A");
  RawFixClient client("GATEWAY", "SIM-A");
  logOn(client);

  // A required field missing (TransactTime): Reject, RequiredTagMissing, naming the tag.
  FixFields no_time = limitBuyFields("R-MISSING", kBelowMarket);
  no_time.erase(
      std::find_if(no_time.begin(), no_time.end(), [](const auto& f) { return f.first == 60; }));
  const int missing_seq = client.next_seq;
  ASSERT_TRUE(client.send("D", no_time));
  auto answer = client.receiveSkippingHeartbeats(kReplyDeadline);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->type(), "3");
  EXPECT_EQ(valueOr(*answer, 45), std::to_string(missing_seq));  // RefSeqNum
  EXPECT_EQ(valueOr(*answer, 373), "1");                         // SessionRejectReason
  EXPECT_EQ(valueOr(*answer, 371), "60");                        // RefTagID
  EXPECT_EQ(valueOr(*answer, 372), "D");                         // RefMsgType
  expectStillServing(client, "R-2");
  EXPECT_TRUE(orders("R-MISSING").empty());

  // A MsgType the dictionary does not list (QuoteRequest): Reject, InvalidMsgType.
  const int unknown_seq = client.next_seq;
  ASSERT_TRUE(client.send("R", {{131, "Q-1"}}));
  answer = client.receiveSkippingHeartbeats(kReplyDeadline);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->type(), "3");
  EXPECT_EQ(valueOr(*answer, 45), std::to_string(unknown_seq));
  EXPECT_EQ(valueOr(*answer, 373), "11");
  EXPECT_EQ(valueOr(*answer, 372), "R");
  expectStillServing(client, "R-3");

  // A listed type the broker does not take (an ExecutionReport sent to it): it reaches the
  // application, which refuses it, and QuickFIX answers BusinessMessageReject.
  const int unsupported_seq = client.next_seq;
  ASSERT_TRUE(client.send("8", {{37, "X"},
                                {11, "R-ER"},
                                {17, "X-1"},
                                {150, "0"},
                                {39, "0"},
                                {55, "AAPL"},
                                {54, "1"},
                                {38, "10"},
                                {32, "0"},
                                {31, "0"},
                                {151, "10"},
                                {14, "0"},
                                {6, "0"},
                                {60, kTransactTime}}));
  answer = client.receiveSkippingHeartbeats(kReplyDeadline);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->type(), "j");
  EXPECT_EQ(valueOr(*answer, 45), std::to_string(unsupported_seq));
  EXPECT_EQ(valueOr(*answer, 372), "8");
  EXPECT_EQ(valueOr(*answer, 380), "3");  // BusinessRejectReason: unsupported message type
  expectStillServing(client, "R-4");
}

TEST_F(SimulatorRawSessionTest, GarbledMessagesAreDroppedWithoutReplyAndTheNextGoodOneCounts) {
  startSimulator("SIM-A");
  RawFixClient client("GATEWAY", "SIM-A");
  logOn(client);

  // Bad CheckSum. QuickFIX drops it uncounted; the next good message reuses its MsgSeqNum (were
  // it counted, that would be "MsgSeqNum too low" and a Logout instead of an acknowledgement).
  std::string bad_sum = client.frame("D", client.next_seq, limitBuyFields("G-SUM", kBelowMarket));
  const std::size_t sum_at = bad_sum.rfind("10=") + 3;
  std::string wrong_sum = std::to_string((std::stoi(bad_sum.substr(sum_at, 3)) + 1) % 256);
  wrong_sum.insert(0, 3 - wrong_sum.size(), '0');
  bad_sum.replace(sum_at, 3, wrong_sum);
  ASSERT_TRUE(client.sendRaw(bad_sum));
  expectStillServing(client, "G-1");

  // BodyLength three short. (A longer one would make QuickFIX's parser wait for bytes that
  // belong to the next message and swallow it; this one still ends at the CheckSum.)
  std::string bad_length =
      client.frame("D", client.next_seq, limitBuyFields("G-LEN", kBelowMarket));
  const std::size_t length_at = bad_length.find(
                                    "\x01"
                                    "9=") +
                                3;
  const std::size_t length_end = bad_length.find('\x01', length_at);
  const int length = std::stoi(bad_length.substr(length_at, length_end - length_at));
  bad_length.replace(length_at, length_end - length_at, std::to_string(length - 3));
  ASSERT_TRUE(client.sendRaw(bad_length));
  expectStillServing(client, "G-2");

  EXPECT_TRUE(orders("G-SUM").empty());
  EXPECT_TRUE(orders("G-LEN").empty());
}

// A simulator whose admin port is taken ends its start with a message, before its sessions log on
// and its threads run. It used to listen last, and the throw went past its running threads
// (std::terminate, exit 134).
TEST_F(SimulatorTest, ATakenAdminPortEndsTheStartWithAMessage) {
  Poco::Net::ServerSocket holder;
  holder.bind(Poco::Net::SocketAddress("127.0.0.1", static_cast<uint16_t>(http_port)),
              /*reuseAddress=*/false);
  holder.listen(1);
  launchSimulator("SIM-A");
  const std::optional<int> exit_code = simulator.waitForExit(30'000);
  const std::string log = logTail(folder / "simulator.log");
  EXPECT_EQ(exit_code, std::optional<int>(1)) << log;
  EXPECT_NE(log.find("cannot listen on 127.0.0.1:" + std::to_string(http_port) + ": "),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("terminate"), std::string::npos) << log;
}

}  // namespace
}  // namespace fbg::test
