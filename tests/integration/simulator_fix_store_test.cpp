// The simulator's fix_store key: with `file` both FIX sessions run on QuickFIX's FileStore in the
// settings' FileStorePath (under run_dir) and the PostgreSQL store is never created; a value
// other than postgres or file is refused at start, naming the key.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "fix_engine.h"
#include "support/http_client.h"
#include "support/ports.h"
#include "support/postgres_instance.h"
#include "support/process.h"
#include "support/serving.h"
#include "support/temp_folder.h"
#include "support/wait.h"

namespace fbg::test {
namespace {

namespace fs = std::filesystem;

// The test's gateway runs on the file store as well: this is the engine's other user of it.
std::string gatewaySettings(const fs::path& store, int port) {
  return "[DEFAULT]\nStartTime=00:00:00\nEndTime=00:00:00\nHeartBtInt=5\nReconnectInterval=1\n"
         "UseDataDictionary=N\nFileStorePath=" +
         store.string() +
         "\n[SESSION]\nBeginString=FIX.4.4\nConnectionType=initiator\nSenderCompID=GATEWAY\n"
         "TargetCompID=SIM-A\nSocketConnectHost=127.0.0.1\nSocketConnectPort=" +
         std::to_string(port) + "\n";
}

fix::Message buyLimit(const std::string& cl_ord_id) {
  fix::Message message;
  message.msg_type = "D";
  message.set(11, cl_ord_id);
  message.set(55, "AAPL");
  message.set(54, "1");
  message.set(60, "20261125-17:00:00.000");
  message.set(38, "10");
  message.set(40, "2");
  message.set(44, "200.00");  // above the default price 100.00: fills at the next tick
  return message;
}

class SimulatorFixStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    postgres.start();
    postgres.createDatabase("broker_sim");
    folder = makeTempFolder("simulator-fix-store-test");
    order_port = freeLoopbackPort();
    http_port = freeLoopbackPort();
  }
  void TearDown() override {
    simulator.terminate(10'000);
    fs::remove_all(folder);
  }

  void launch(const std::string& fix_store) {
    const std::string config = (folder / "simulator.conf").string();
    std::ofstream file(config);
    file << "profile = SIM-A\npostgres_uri = " << postgres.uri("broker_sim")
         << "\nhttp_port = " << http_port << "\nfix_settings_file = " << FBG_FIX_CONFIG_DIR
         << "/simulator-SIM-A.cfg\nfix_config_dir = " << FBG_FIX_CONFIG_DIR
         << "\nrun_dir = " << folder.string() << "\nfix_order_port = " << order_port
         << "\nfix_drop_copy_port = " << freeLoopbackPort() << "\n";
    file.close();
    simulator.launch(FBG_SIMULATOR_BINARY,
                     {"serve", "--config", config, "--set", "fix_store=" + fix_store}, {},
                     folder / "simulator.log");
  }

  PostgresInstance postgres;
  fs::path folder;
  int order_port = 0, http_port = 0;
  ChildProcess simulator;
};

TEST_F(SimulatorFixStoreTest, FileStoreServesTheOrderSessionAndLeavesPostgresWithoutFixTables) {
  launch("file");
  ASSERT_TRUE(waitUntilServing(simulator, http_port)) << logTail(folder / "simulator.log");
  std::atomic<int> acks{0}, fills{0};
  fix::EngineCallbacks callbacks;
  callbacks.on_app_message = [&](const std::string&, const fix::Message& message) {
    const std::string* exec_type = message.find(150);
    if (message.msg_type == "8" && exec_type && *exec_type == "0") ++acks;
    if (message.msg_type == "8" && exec_type && *exec_type == "F") ++fills;
    return fix::Delivery::Accepted;
  };
  fix::Engine gateway(fix::EngineRole::Initiator,
                      gatewaySettings(folder / "gateway-store", order_port),
                      fix::StoreOptions{fix::StoreKind::File, ""}, callbacks);
  gateway.start();
  ASSERT_TRUE(
      waitUntil([&] { return gateway.sessions().at(0).logged_on; }, std::chrono::seconds(20)));
  ASSERT_TRUE(gateway.send("FIX.4.4:GATEWAY->SIM-A", buyLimit("F-1")));
  ASSERT_TRUE(waitUntil([&] { return acks == 1 && fills == 1; }, std::chrono::seconds(15)))
      << logTail(folder / "simulator.log");
  gateway.stop();

  // fix_config/simulator-SIM-A.cfg: FileStorePath=${RUN_DIR}/fixstore/simulator-SIM-A.
  const fs::path store = folder / "fixstore" / "simulator-SIM-A";
  EXPECT_TRUE(fs::exists(store / "FIX.4.4-SIM-A-GATEWAY.seqnums"));
  EXPECT_TRUE(fs::exists(store / "FIX.4.4-SIM-A-FILLS.seqnums"));      // the drop copy's
  EXPECT_GT(fs::file_size(store / "FIX.4.4-SIM-A-GATEWAY.body"), 0u);  // logon, ack, fill
  EXPECT_TRUE(fs::exists(folder / "gateway-store" / "FIX.4.4-GATEWAY-SIM-A.seqnums"));
  EXPECT_EQ(postgres.queryScalar("broker_sim",
                                 "SELECT count(*) FROM pg_tables "
                                 "WHERE tablename IN ('fix_sessions', 'fix_messages')"),
            "0");
}

TEST_F(SimulatorFixStoreTest, UnknownStoreIsRefusedAtStartNamingTheKey) {
  launch("sqlite");
  const auto exit_code = simulator.waitForExit(30'000);
  ASSERT_TRUE(exit_code.has_value()) << "the simulator started with fix_store=sqlite";
  EXPECT_EQ(*exit_code, 2);
  EXPECT_NE(logTail(folder / "simulator.log").find("'fix_store' must be postgres or file"),
            std::string::npos)
      << logTail(folder / "simulator.log");
}

}  // namespace
}  // namespace fbg::test
