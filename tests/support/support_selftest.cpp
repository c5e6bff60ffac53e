// Proves the test-support library on real servers: every other test builds on it.
#include <gtest/gtest.h>
#include <signal.h>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "support/http_client.h"
#include "support/ports.h"
#include "support/postgres_instance.h"
#include "support/process.h"
#include "support/raw_fix_client.h"
#include "support/redis_instance.h"
#include "support/serving.h"
#include "support/temp_folder.h"
#include "support/wait.h"

namespace fbg::test {
namespace {

using std::chrono::milliseconds;

constexpr int kProcessTimeoutMs = 10000;

// A temporary folder for one test, removed at its end.
class ScratchFolder {
 public:
  ScratchFolder() : path_(makeTempFolder("fbg-selftest-")) {}
  ~ScratchFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string readFile(const std::filesystem::path& path) {
  std::ifstream file(path);
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

TEST(WaitUntil, ReturnsTrueOnceTheConditionHolds) {
  int calls = 0;
  EXPECT_TRUE(waitUntil([&] { return ++calls == 3; }, milliseconds(1000), milliseconds(1)));
  EXPECT_EQ(calls, 3);
}

TEST(WaitUntil, ReturnsFalseAfterTheDeadline) {
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(waitUntil([] { return false; }, milliseconds(50)));
  EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(50));
}

TEST(FreeLoopbackPort, GivesAPortOutsideTheEphemeralRangeThatAServerCanBind) {
  const int port = freeLoopbackPort();
  const PortRange ephemeral = ephemeralPortRange();
  const PortRange drawn_from = portDrawRange(ephemeral);
  EXPECT_GE(port, drawn_from.first);
  EXPECT_LE(port, drawn_from.last);
  const bool apart = drawn_from.last < ephemeral.first || drawn_from.first > ephemeral.last;
  if (apart) {
    EXPECT_TRUE(port < ephemeral.first || port > ephemeral.last) << port;
  }
  Poco::Net::ServerSocket server;
  EXPECT_NO_THROW(server.bind(Poco::Net::SocketAddress("0.0.0.0", static_cast<uint16_t>(port))));
}

TEST(PortDrawRange, KeepsOutOfTheEphemeralRangeWhereverItLies) {
  const auto range = [](int first, int last) {
    const PortRange drawn = portDrawRange(PortRange{first, last});
    return std::to_string(drawn.first) + ".." + std::to_string(drawn.last);
  };
  EXPECT_EQ(range(32768, 60999), "20000..31999");  // Debian's default
  EXPECT_EQ(range(25000, 60999), "20000..24999");  // cut at the range's start
  EXPECT_EQ(range(1024, 60999), "61000..65535");   // nothing below: above it
  EXPECT_EQ(range(1024, 65000), "20000..31999");   // nothing free of it: draw anyway
}

TEST(FreeLoopbackPort, HoldsItsReservationAgainstOtherProcessesUntilItExits) {
  const int port = freeLoopbackPort();
  const std::string lock = std::string(portLockFolder()) + "/" + std::to_string(port) + ".lock";
  // flock(1) is what scripts/lib/stack.sh's fbg_free_port uses: busy means exit status 1.
  EXPECT_EQ(std::system(("flock -n " + lock + " true").c_str()), 1 << 8) << lock;
}

TEST(FreeLoopbackPort, NeverGivesThisProcessTheSamePortTwice) {
  // 200 draws from 12,000 ports would repeat one about 4 times in 5 without the reservation.
  std::set<int> ports;
  for (int draw = 0; draw < 200; ++draw) EXPECT_TRUE(ports.insert(freeLoopbackPort()).second);
}

TEST(ChildProcess, PassesArgumentsAndEnvironmentAndLogsOutput) {
  ScratchFolder scratch;
  const auto log_path = scratch.path() / "child.log";
  ChildProcess child;
  child.launch("sh", {"-c", "echo \"$FBG_SELFTEST_GREETING $0\"; exit 3", "argument"},
               {{"FBG_SELFTEST_GREETING", "hello"}}, log_path);
  EXPECT_EQ(child.waitForExit(kProcessTimeoutMs), 3);
  EXPECT_EQ(readFile(log_path), "hello argument\n");
}

TEST(WaitUntilServing, GivesUpAsSoonAsTheProcessHasExitedNotAtTheDeadline) {
  ScratchFolder scratch;
  ChildProcess child;
  child.launch("sh", {"-c", "echo cannot listen; exit 1"}, {}, scratch.path() / "child.log");
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(waitUntilServing(child, freeLoopbackPort(), std::chrono::minutes(5)));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::minutes(1));
  EXPECT_EQ(child.exitCode(), std::optional<int>(1));
}

TEST(ChildProcess, ReportsABinaryThatCannotRun) {
  ScratchFolder scratch;
  ChildProcess child;
  EXPECT_THROW(child.launch("fbg-no-such-binary", {}, {}, scratch.path() / "child.log"),
               std::runtime_error);
  EXPECT_THROW(child.launch("/proc/self/status", {}, {}, scratch.path() / "child.log"),
               std::runtime_error);
  EXPECT_FALSE(child.isRunning());
}

TEST(ChildProcess, Kill9LeavesNoProcessOfItsGroup) {
  ScratchFolder scratch;
  const auto grandchild_pid_file = scratch.path() / "grandchild.pid";
  ChildProcess child;
  child.launch("sh", {"-c", "sleep 300 & echo $! > \"$0\"; wait", grandchild_pid_file.string()}, {},
               scratch.path() / "child.log");
  ASSERT_TRUE(waitUntil([&] { return !readFile(grandchild_pid_file).empty(); },
                        milliseconds(kProcessTimeoutMs)));
  const pid_t child_pid = child.pid();
  const pid_t grandchild_pid = std::stoi(readFile(grandchild_pid_file));
  ASSERT_TRUE(child.isRunning());
  ASSERT_TRUE(processAlive(grandchild_pid));

  child.kill9();

  EXPECT_FALSE(child.isRunning());
  EXPECT_EQ(child.exitCode(), 128 + SIGKILL);
  EXPECT_EQ(::kill(child_pid, 0), -1) << "the child was not reaped";
  EXPECT_TRUE(
      waitUntil([&] { return !processAlive(grandchild_pid); }, milliseconds(kProcessTimeoutMs)));
  EXPECT_FALSE(processGroupAlive(child_pid));
}

TEST(ChildProcess, TerminateStopsAProcessThatHonoursSigterm) {
  ScratchFolder scratch;
  ChildProcess child;
  child.launch("sleep", {"300"}, {}, scratch.path() / "child.log");
  EXPECT_TRUE(child.terminate(kProcessTimeoutMs));
  EXPECT_EQ(child.exitCode(), 128 + SIGTERM);
}

TEST(ChildProcess, TerminateFallsBackToSigkill) {
  ScratchFolder scratch;
  const auto ready_file = scratch.path() / "ready";
  ChildProcess child;
  child.launch("sh",
               {"-c", "trap '' TERM; touch \"$0\"; while :; do sleep 1; done", ready_file.string()},
               {}, scratch.path() / "child.log");
  ASSERT_TRUE(waitUntil([&] { return std::filesystem::exists(ready_file); },
                        milliseconds(kProcessTimeoutMs)));
  EXPECT_FALSE(child.terminate(100));
  EXPECT_FALSE(child.isRunning());
  EXPECT_EQ(child.exitCode(), 128 + SIGKILL);
}

TEST(PostgresInstance, StartsCreatesADatabaseAndAnswers) {
  PostgresInstance postgres;
  postgres.start();
  ASSERT_TRUE(postgres.isRunning());
  postgres.createDatabase("selftest");
  EXPECT_EQ(postgres.queryScalar("selftest", "select 1"), "1");
  EXPECT_EQ(postgres.queryScalar("selftest", "show fsync"), "on");
  EXPECT_EQ(postgres.queryScalar("selftest", "show synchronous_commit"), "on");
  EXPECT_EQ(postgres.queryScalar("selftest", "show max_connections"), "200");
  EXPECT_EQ(postgres.uri("selftest"),
            "postgresql://postgres@127.0.0.1:" + std::to_string(postgres.port()) + "/selftest");
}

TEST(PostgresInstance, SurvivesStopAndStartOnTheSamePort) {
  PostgresInstance postgres;
  postgres.start();
  const int port = postgres.port();
  postgres.createDatabase("selftest");
  postgres.exec("selftest", "create table kept (value text); insert into kept values ('before')");

  postgres.stop();
  EXPECT_FALSE(postgres.isRunning());
  postgres.start();

  EXPECT_EQ(postgres.port(), port);
  EXPECT_EQ(postgres.queryScalar("selftest", "select value from kept"), "before");
}

TEST(PostgresInstance, RecoversAfterKill9) {
  PostgresInstance postgres;
  postgres.start();
  postgres.createDatabase("selftest");
  postgres.exec("selftest",
                "create table kept (value text); insert into kept values ('committed')");
  const pid_t postmaster = postgres.postmasterPid();
  ASSERT_EQ(std::stoi(readFile(postgres.folder() / "data" / "postmaster.pid")), postmaster);
  std::vector<pid_t> server_processes = liveChildren(postmaster);
  ASSERT_FALSE(server_processes.empty());
  server_processes.push_back(postmaster);

  postgres.kill9();
  EXPECT_FALSE(postgres.isRunning());
  EXPECT_EQ(::kill(postmaster, 0), -1) << "the postmaster was not reaped";
  for (const pid_t pid : server_processes) EXPECT_FALSE(processAlive(pid)) << "pid " << pid;
  postgres.start();

  EXPECT_EQ(postgres.queryScalar("selftest", "select value from kept"), "committed");
  EXPECT_NE(readFile(postgres.logPath()).find("not properly shut down"), std::string::npos)
      << "no crash recovery in " << postgres.logPath();
}

TEST(PostgresInstance, TwoInstancesAreIndependent) {
  PostgresInstance first;
  PostgresInstance second;
  first.start();
  second.start();
  EXPECT_NE(first.port(), second.port());
  first.createDatabase("only_here");
  EXPECT_EQ(second.queryScalar("postgres",
                               "select count(*) from pg_database where datname = 'only_here'"),
            "0");
}

TEST(PostgresInstance, DestructorRemovesItsFolder) {
  std::filesystem::path folder;
  {
    PostgresInstance postgres;
    postgres.start();
    folder = postgres.folder();
    ASSERT_TRUE(std::filesystem::exists(folder));
  }
  EXPECT_FALSE(std::filesystem::exists(folder));
}

TEST(RedisInstance, StartsAndAnswersPing) {
  RedisInstance redis;
  redis.start();
  const RedisReply pong = redis.command({"PING"});
  EXPECT_EQ(pong.kind, RedisReply::Kind::Status);
  EXPECT_EQ(pong.text, "PONG");
  EXPECT_EQ(redis.command({"CONFIG", "GET", "appendonly"}).strings(),
            (std::vector<std::string>{"appendonly", "yes"}));
}

TEST(RedisInstance, DecodesIntegersNilErrorsAndNestedArrays) {
  RedisInstance redis;
  redis.start();
  EXPECT_TRUE(redis.command({"GET", "missing"}).isNil());
  EXPECT_TRUE(redis.command({"NO-SUCH-COMMAND"}).isError());
  redis.command({"XADD", "events", "1-1", "kind", "ACKED"});
  redis.command({"XADD", "events", "1-2", "kind", "FILLED"});
  const RedisReply length = redis.command({"XLEN", "events"});
  EXPECT_EQ(length.kind, RedisReply::Kind::Integer);
  EXPECT_EQ(length.integer, 2);
  const RedisReply entries = redis.command({"XRANGE", "events", "-", "+"});
  ASSERT_EQ(entries.elements.size(), 2U);
  EXPECT_EQ(entries.elements[1].elements[0].text, "1-2");
  EXPECT_EQ(entries.elements[1].elements[1].strings(),
            (std::vector<std::string>{"kind", "FILLED"}));
}

TEST(RedisInstance, StopAndStartKeepsAppendOnlyData) {
  RedisInstance redis;
  redis.start();
  const int port = redis.port();
  EXPECT_EQ(redis.command({"SET", "kept", "value"}).text, "OK");

  redis.stop();
  EXPECT_FALSE(redis.isRunning());
  EXPECT_THROW(redis.command({"PING"}), std::runtime_error);
  redis.start();

  EXPECT_EQ(redis.port(), port);
  EXPECT_EQ(redis.command({"GET", "kept"}).text, "value");
}

TEST(RedisInstance, Kill9ThenStartServesAgain) {
  RedisInstance redis;
  redis.start();
  const pid_t server_pid = [&] {
    const RedisReply info = redis.command({"INFO", "server"});
    const auto at = info.text.find("process_id:");
    return static_cast<pid_t>(std::stoi(info.text.substr(at + std::string("process_id:").size())));
  }();
  redis.kill9();
  EXPECT_FALSE(processAlive(server_pid));
  redis.start();
  EXPECT_EQ(redis.command({"PING"}).text, "PONG");
}

// Echoes the request: status 201, the method and body in the body, an X-Echo-Path header.
class EchoHandler : public Poco::Net::HTTPRequestHandler {
 public:
  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    std::string body;
    Poco::StreamCopier::copyToString(request.stream(), body);
    response.setStatus(Poco::Net::HTTPResponse::HTTP_CREATED);
    response.set("X-Echo-Path", request.getURI());
    response.setContentType(request.getContentType());
    response.send() << request.getMethod() << " " << body;
  }
};

class EchoHandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest& /*request*/) override {
    return new EchoHandler;
  }
};

TEST(HttpRequest, SendsAndReceivesWithLowercasedHeaderNames) {
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
  Poco::Net::HTTPServer server(new EchoHandlerFactory, socket, new Poco::Net::HTTPServerParams);
  server.start();
  const HttpResponse response =
      httpRequest(socket.address().port(), "POST", "/v1/echo?x=1", {{"X-Trace", "t-1"}}, "{}");
  server.stopAll(true);
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.body, "POST {}");
  EXPECT_EQ(response.headers.at("x-echo-path"), "/v1/echo?x=1");
  EXPECT_EQ(response.headers.at("content-type"), "application/json");
}

TEST(HttpRequest, ConnectionRefusedGivesStatusZero) {
  const HttpResponse response = httpRequest(freeLoopbackPort(), "GET", "/healthz", {}, {}, 2000);
  EXPECT_EQ(response.status, 0);
  EXPECT_NE(response.body.find("/healthz"), std::string::npos) << response.body;
}

TEST(RawFixClient, CheckSumIsTheByteSumModulo256InThreeDigits) {
  EXPECT_EQ(fixCheckSum("A"), "065");
  EXPECT_EQ(fixCheckSum(std::string(300, '\x01')), "044");
}

TEST(RawFixClient, FrameCountsBodyLengthFromAfterItToTheCheckSum) {
  const RawFixClient client("GATEWAY", "SIM-A");
  const std::string text = client.frame("0", 7, {{112, "PING"}});
  const std::size_t length_at = text.find(
      "\x01"
      "9=");
  const std::size_t body_start = text.find('\x01', length_at + 1) + 1;
  const std::size_t trailer = text.rfind("10=");
  EXPECT_EQ(std::stoul(text.substr(length_at + 3)), trailer - body_start);
  EXPECT_EQ(text.substr(trailer), "10=" + fixCheckSum(text.substr(0, trailer)) + "\x01");
  EXPECT_NE(text.find("\x01"
                      "34=7\x01"),
            std::string::npos);
  EXPECT_NE(text.find("\x01"
                      "112=PING\x01"),
            std::string::npos);
}

TEST(RawFixClient, ReceivesMessagesSplitAcrossReadsThenSeesTheClose) {
  Poco::Net::ServerSocket server(Poco::Net::SocketAddress("127.0.0.1", 0));
  const RawFixClient writer("SIM-A", "GATEWAY");
  const std::string two = writer.frame("0", 1, {}) + writer.frame("3", 2, {{45, "9"}});
  std::thread peer([&] {
    Poco::Net::StreamSocket connection = server.acceptConnection();
    // Two messages in three writes that cut through the first one.
    connection.sendBytes(two.data(), 5);
    connection.sendBytes(two.data() + 5, 20);
    connection.sendBytes(two.data() + 25, static_cast<int>(two.size() - 25));
    connection.close();
  });
  RawFixClient client("GATEWAY", "SIM-A");
  client.connect(server.address().port());
  const auto first = client.receive(milliseconds(kProcessTimeoutMs));
  const auto second = client.receive(milliseconds(kProcessTimeoutMs));
  peer.join();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->type(), "0");
  EXPECT_EQ(second->type(), "3");
  ASSERT_NE(second->find(45), nullptr);
  EXPECT_EQ(*second->find(45), "9");
  EXPECT_FALSE(client.receive(milliseconds(kProcessTimeoutMs)));
  EXPECT_TRUE(client.closed());
}

}  // namespace
}  // namespace fbg::test
