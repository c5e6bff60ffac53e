// The fill receiver process against the simulator's drop copy, with real PostgreSQL and Redis
// (issue 6): every report the broker issued is stored once, through duplicates, kill -9, a fills
// database outage, a Redis outage, a paused drop copy and a stranger's logon. Orders enter
// through the gateway (orders:SIM-A); the simulator gives 1 acknowledgement and 4 fills each.
#include <Poco/Net/ServerSocket.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gateway_stack.h"
#include "support/raw_fix_client.h"
#include "support/wait.h"

namespace fbg::test {
namespace {

using Json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kReportsPerOrder = 5;  // fill_slices 4: the acknowledgement and four fills
const std::string kDropCopy = "FIX.4.4:FILLS->SIM-A";
const std::string kIdleDropCopy = "FIX.4.4:FILLS->SIM-B";  // no SIM-B simulator runs
constexpr auto kLogonDeadline = seconds(30);
constexpr auto kBurstDeadline = seconds(300);  // sanitizer builds run 2-3 times slower

// SIM-A simulator (4 fill slices, `faults` on top), its gateway and the fill receiver, the drop
// copy logged on.
void startStack(GatewayStack& stack, const std::string& faults = "{}",
                const std::vector<std::string>& fill_receiver_config = {}) {
  stack.startSimulator();
  stack.simulatorAdmin("PUT", "/v1/faults", R"({"fill_slices": 4})");
  stack.simulatorAdmin("PUT", "/v1/faults", faults);
  stack.startGateway();
  stack.startFillReceiver(fill_receiver_config);
  ASSERT_TRUE(waitUntil([&] { return stack.dropCopyLoggedOn(); }, kLogonDeadline))
      << stack.fillReceiverLogTail();
}

// Orders over the market price (100.00): acknowledged, then filled in 4 slices at once.
// Under it (50.00): acknowledged, then resting until the price falls.
void placeOrders(GatewayStack& stack, int count, const std::string& limit_price = "200.00") {
  for (int i = 0; i < count; ++i) (void)stack.placeOrder(10, limit_price);
}

long long issuedCount(GatewayStack& stack) {
  return std::stoll(
      stack.postgres.queryScalar("broker_sim", "SELECT count(*) FROM sim_executions"));
}

long long storedCount(GatewayStack& stack) {
  return stack.fillsCount("SELECT count(*) FROM executions");
}

// Waits until the simulator has issued `expected` reports and the fill receiver holds as many.
void waitForAllStored(GatewayStack& stack, long long expected,
                      std::chrono::milliseconds deadline = kBurstDeadline) {
  ASSERT_TRUE(
      waitUntil([&] { return issuedCount(stack) >= expected && storedCount(stack) >= expected; },
                deadline, milliseconds(100)))
      << "issued " << issuedCount(stack) << ", stored " << storedCount(stack) << " of " << expected
      << "\n"
      << stack.fillReceiverLogTail();
}

std::string firstFew(const std::vector<std::string>& ids) {
  std::string text;
  for (std::size_t i = 0; i < ids.size() && i < 5; ++i) text += ids[i] + " ";
  return text;
}

// The stored reports are ground truth exactly: every issued ExecID once, nothing else, in seq
// order, each with the broker's fields.
void expectStoredEqualsGroundTruth(GatewayStack& stack, std::size_t expected) {
  const std::vector<Json> truth = stack.groundTruthExecutions();
  const std::vector<Json> stored = stack.storedExecutions();
  ASSERT_EQ(truth.size(), expected);
  std::map<std::string, Json> truth_by_id;
  for (const auto& item : truth) truth_by_id[item.at("exec_id")] = item;
  ASSERT_EQ(truth_by_id.size(), truth.size()) << "ground truth repeats an ExecID";

  std::map<std::string, int> copies;
  std::vector<std::string> extra, twice, wrong;
  int64_t previous_seq = 0;
  for (const auto& row : stored) {
    const std::string exec_id = row.at("exec_id");
    if (++copies[exec_id] == 2) twice.push_back(exec_id);
    EXPECT_GT(row.at("seq").get<int64_t>(), previous_seq) << "seq order";
    previous_seq = row.at("seq").get<int64_t>();
    EXPECT_EQ(row.at("broker"), stack.broker()) << exec_id;
    const auto issued = truth_by_id.find(exec_id);
    if (issued == truth_by_id.end()) {
      extra.push_back(exec_id);
      continue;
    }
    const Json& t = issued->second;
    if (row["order_id"] != t["cl_ord_id"] || row["broker_order_id"] != t["broker_order_id"] ||
        row["exec_type"] != t["exec_type"] || row["ord_status"] != t["ord_status"] ||
        row["last_qty"] != t["last_qty"] || row["cum_qty"] != t["cum_qty"] ||
        row["leaves_qty"] != t["leaves_qty"] ||
        std::stod(row["last_px"].get<std::string>()) !=
            std::stod(t["last_px"].get<std::string>())) {
      wrong.push_back(exec_id + " stored " + row.dump() + " issued " + t.dump() + "\n");
    }
  }
  std::vector<std::string> missing;
  for (const auto& [exec_id, item] : truth_by_id) {
    if (copies.count(exec_id) == 0) missing.push_back(exec_id);
  }
  EXPECT_TRUE(missing.empty()) << missing.size() << " missing, e.g. " << firstFew(missing);
  EXPECT_TRUE(extra.empty()) << extra.size() << " not issued, e.g. " << firstFew(extra);
  EXPECT_TRUE(twice.empty()) << twice.size() << " stored twice, e.g. " << firstFew(twice);
  EXPECT_TRUE(wrong.empty()) << wrong.size() << " differ, e.g. " << firstFew(wrong);
  EXPECT_EQ(stored.size(), expected);
  // The table itself, not only the API: one row per (broker, exec_id).
  EXPECT_EQ(stack.fillsCount("SELECT count(*) FROM executions"), static_cast<long long>(expected));
  EXPECT_EQ(stack.fillsCount("SELECT count(DISTINCT (broker, exec_id)) FROM executions"),
            static_cast<long long>(expected));
}

// ExecutionReports the simulator put on the drop copy as new messages (its FIX store, fix_store =
// postgres by default, in broker_sim, keeps each sent message once; a session-level resend reuses
// the stored one and adds nothing).
long long reportsSentOnDropCopy(GatewayStack& stack) {
  return std::stoll(stack.postgres.queryScalar(
      "broker_sim",
      "SELECT count(*) FROM fix_messages WHERE session_id = 'FIX.4.4:SIM-A->FILLS' AND "
      "strpos(message, chr(1) || '35=8' || chr(1)) > 0"));
}

// How far the simulator's drop copy has carried its reports (the seq of the last one sent on
// the session; it sends only while its session is logged on).
long long dropCopySentSeq(GatewayStack& stack) {
  return std::stoll(stack.postgres.queryScalar(
      "broker_sim", "SELECT coalesce(max(sent_seq), 0) FROM sim_drop_copy"));
}

// The "components" of a /readyz answer (an empty object if it has none).
Json components(const Json& readiness) {
  return readiness.is_object() && readiness.contains("components") ? readiness["components"]
                                                                   : Json::object();
}

Json readyz(GatewayStack& stack, int& status) {
  const auto response = stack.fillsGet("/readyz");
  status = response.status;
  return Json::parse(response.body, nullptr, false);
}

// The drop-copy port held by another socket: the fill receiver names the port and exits 1 at
// once, without std::terminate or a sanitizer report (QuickFIX 1.15.1 leaks its socket server on
// this path; tests/sanitizers/lsan.supp says so). A CI run met this when a port was taken.
TEST(FillReceiver, ATakenDropCopyPortEndsTheStartWithAMessage) {
  GatewayStack stack("SIM-A");
  Poco::Net::ServerSocket holder;
  holder.bind(Poco::Net::SocketAddress("0.0.0.0", static_cast<uint16_t>(stack.dropCopyPort())),
              /*reuseAddress=*/false);
  holder.listen(1);
  EXPECT_THROW(stack.startFillReceiver(), std::runtime_error);
  const std::optional<int> exit_code = stack.waitForFillReceiverExit(30'000);
  const std::string log = stack.fillReceiverLogTail();
  EXPECT_EQ(exit_code, std::optional<int>(1)) << log;
  EXPECT_NE(
      log.find("Unable to create, bind, or listen to port " + std::to_string(stack.dropCopyPort())),
      std::string::npos)
      << log;
  EXPECT_EQ(log.find("Sanitizer"), std::string::npos) << log;
  EXPECT_EQ(log.find("terminate"), std::string::npos) << log;
}

TEST(FillReceiver, DuplicatedReportsAreStoredOnceAndCountedAsDuplicates) {
  GatewayStack stack("SIM-A");
  ASSERT_NO_FATAL_FAILURE(startStack(stack, R"({"duplicate_report_rate": 0.2})"));
  constexpr int kOrders = 1000;
  placeOrders(stack, kOrders);
  ASSERT_NO_FATAL_FAILURE(waitForAllStored(stack, kOrders * kReportsPerOrder));
  expectStoredEqualsGroundTruth(stack, kOrders * kReportsPerOrder);

  // Every report the simulator sent (the duplicates are new messages, same ExecID) was received;
  // what was not stored was a duplicate. No invalid report, no storage failure, no resend.
  const long long sent = reportsSentOnDropCopy(stack);
  ASSERT_TRUE(waitUntil([&] { return stack.fillsMetric("fills_reports_received_total") == sent; },
                        seconds(10)))
      << stack.fillsMetric("fills_reports_received_total") << " received of " << sent;
  const double stored = stack.fillsMetric("fills_reports_stored_total");
  const double duplicates = stack.fillsMetric("fills_reports_duplicate_total");
  EXPECT_EQ(stored, kOrders * kReportsPerOrder);
  EXPECT_EQ(duplicates, sent - kOrders * kReportsPerOrder);
  EXPECT_EQ(stack.fillsMetric("fills_reports_received_total"), stored + duplicates);
  // 20 % of 5,000 is 1,000 (standard deviation 28).
  EXPECT_GT(duplicates, 800);
  EXPECT_LT(duplicates, 1200);
  EXPECT_EQ(stack.fillsMetric("fills_reports_invalid_total"), 0);
  EXPECT_EQ(stack.fillsMetric("fills_store_failures_total"), 0);
}

TEST(FillReceiver, Kill9DuringABurstAndRestartedStoresEveryReportOnce) {
  GatewayStack stack("SIM-A");
  ASSERT_NO_FATAL_FAILURE(startStack(stack));
  constexpr int kOrders = 600;
  placeOrders(stack, kOrders);
  int kills = 0;
  for (const long long at : {300LL, 1200LL, 2100LL}) {
    ASSERT_TRUE(
        waitUntil([&] { return storedCount(stack) >= at; }, kBurstDeadline, milliseconds(20)))
        << storedCount(stack) << " stored after " << kills << " kills\n"
        << stack.fillReceiverLogTail();
    stack.killFillReceiver();
    ++kills;
    // Mid-burst: the broker goes on issuing reports while the receiver is down.
    const long long stored = storedCount(stack);
    EXPECT_TRUE(
        waitUntil([&] { return issuedCount(stack) > stored; }, seconds(30), milliseconds(20)))
        << "kill " << kills;
    stack.startFillReceiver();
  }
  ASSERT_NO_FATAL_FAILURE(waitForAllStored(stack, kOrders * kReportsPerOrder));
  expectStoredEqualsGroundTruth(stack, kOrders * kReportsPerOrder);
  EXPECT_TRUE(stack.dropCopyLoggedOn());
}

// The items of a comma-separated list ("" gives none).
std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

// Group commit (fill_receiver/src/report_writer.h): reports are queued after fromApp and
// committed in batches. The batch writer is held on a lock of the executions table (an
// operator's LOCK TABLE, as a slow disk would), so the reports of a burst pile up in its queue;
// the receiver is killed with them queued, their batch never commits. The FIX store must have
// persisted no sequence number past the lowest of them, so the broker resends them all.
TEST(FillReceiver, Kill9WithReportsQueuedForTheBatchWriterLosesNoneAndStoresNoneTwice) {
  GatewayStack stack("SIM-A");
  ASSERT_NO_FATAL_FAILURE(startStack(stack));
  constexpr int kOrders = 100;
  const long long total = kOrders * kReportsPerOrder;
  placeOrders(stack, kOrders / 2);
  ASSERT_NO_FATAL_FAILURE(waitForAllStored(stack, total / 2));

  pqxx::connection holder(stack.fills_postgres.uri("fills"));
  auto lock = std::make_unique<pqxx::work>(holder);
  lock->exec("LOCK TABLE executions IN SHARE MODE");  // reads go on, inserts wait
  placeOrders(stack, kOrders / 2);
  ASSERT_TRUE(waitUntil(
      [&] {
        return issuedCount(stack) == total &&
               stack.fillsMetric("fills_reports_received_total") >= static_cast<double>(total);
      },
      kBurstDeadline, milliseconds(50)))
      << "issued " << issuedCount(stack) << ", received "
      << stack.fillsMetric("fills_reports_received_total") << "\n"
      << stack.fillReceiverLogTail();
  // QuickFIX has counted every report; the writer holds them (one batch waiting on the lock,
  // the rest queued) and the number the store may persist stays below them.
  EXPECT_GT(stack.fillsMetric("fills_store_queue_reports"), 0);
  EXPECT_EQ(storedCount(stack), total / 2);
  const Json session = stack.dropCopySession();
  ASSERT_TRUE(session.is_object());
  EXPECT_LT(session["durable_target_seq_num"].get<int>(), session["next_target_seq_num"].get<int>())
      << session.dump();
  stack.killFillReceiver();
  // The dead process's statement still waits on the lock in its server process: ended, so its
  // batch never commits (as if it had been lost with the process).
  const std::string others = "SELECT {} FROM pg_stat_activity WHERE datname = 'fills' AND pid <> " +
                             std::to_string(lock->exec1("SELECT pg_backend_pid()")[0].as<int>());
  const auto othersDoing = [&](const std::string& what) {
    std::string sql = others;
    return sql.replace(sql.find("{}"), 2, what);
  };
  stack.fills_postgres.exec("postgres", othersDoing("pg_terminate_backend(pid)"));
  ASSERT_TRUE(waitUntil(
      [&] { return stack.fills_postgres.queryScalar("postgres", othersDoing("count(*)")) == "0"; },
      seconds(10)));
  lock->abort();
  lock.reset();
  EXPECT_EQ(storedCount(stack), total / 2);

  // Persisted: at most the MsgSeqNum of the first report sent and not stored.
  const int persisted = std::stoi(stack.fillsSql(
      "SELECT next_target_seq FROM fix_sessions WHERE session_id = '" + kDropCopy + "'"));
  std::set<std::string> stored_ids;
  for (const auto& id :
       splitList(stack.fillsSql("SELECT string_agg(exec_id, ',') FROM executions")))
    stored_ids.insert(id);
  int first_unstored = 0;
  for (const auto& pair : splitList(stack.postgres.queryScalar(
           "broker_sim",
           "SELECT string_agg(seq || ':' || substring(message from chr(1) || '17=([^' || chr(1) "
           "|| ']*)'), ',' ORDER BY seq) FROM fix_messages WHERE session_id = "
           "'FIX.4.4:SIM-A->FILLS' AND strpos(message, chr(1) || '35=8' || chr(1)) > 0"))) {
    const auto colon = pair.find(':');
    if (stored_ids.count(pair.substr(colon + 1)) == 0) {
      first_unstored = std::stoi(pair.substr(0, colon));
      break;
    }
  }
  ASSERT_GT(first_unstored, 0) << "every sent report is stored: nothing was queued";
  EXPECT_LE(persisted, first_unstored);

  stack.startFillReceiver();
  ASSERT_NO_FATAL_FAILURE(waitForAllStored(stack, total));
  expectStoredEqualsGroundTruth(stack, total);
  EXPECT_TRUE(waitUntil([&] { return stack.dropCopyLoggedOn(); }, kLogonDeadline));
}

TEST(FillReceiver, FillsDatabaseStoppedDuringABurstTheProcessLivesAndTheSessionRecovers) {
  GatewayStack stack("SIM-A");
  ASSERT_NO_FATAL_FAILURE(startStack(stack));
  constexpr int kOrders = 400;
  placeOrders(stack, kOrders / 2);
  ASSERT_TRUE(
      waitUntil([&] { return storedCount(stack) >= 300; }, kBurstDeadline, milliseconds(20)));
  stack.fills_postgres.stop();
  // The burst goes on: the simulator and the gateway have a database of their own.
  placeOrders(stack, kOrders / 2);

  // The first report (or sequence number) it cannot store drops the session. The simulator
  // reconnects within a second, and QuickFIX then shows the session logged on again although
  // its Logon reply could not be stored, so was never sent (Session::sendRaw swallows the
  // store's IOException); the simulator gives up after its 10 s logon timeout and the cycle
  // repeats. 45 s: at least three logged-off windows.
  ASSERT_TRUE(waitUntil([&] { return !stack.dropCopyLoggedOn(); }, seconds(45)))
      << stack.fillReceiverLogTail();
  const long long total = kOrders * kReportsPerOrder;
  ASSERT_TRUE(
      waitUntil([&] { return issuedCount(stack) == total; }, kBurstDeadline, milliseconds(100)));
  int status = 0;
  const Json down = readyz(stack, status);
  EXPECT_EQ(status, 503) << down.dump();
  EXPECT_EQ(down.value("status", ""), "unavailable") << down.dump();
  EXPECT_EQ(components(down).value("postgres", ""), "down") << down.dump();
  // Several seconds down, the simulator's drop copy reconnecting meanwhile: the process lives
  // and answers, and the drop copy carries nothing (no Logon reply reaches the simulator, so its
  // session never comes up and it sends no report).
  const long long carried = dropCopySentSeq(stack);
  EXPECT_LT(carried, total);
  EXPECT_TRUE(holdsFor(seconds(3),
                       [&] {
                         return stack.fillReceiverRunning() &&
                                stack.fillsGet("/healthz").status == 200 &&
                                stack.fillsGet("/readyz").status == 503 &&
                                dropCopySentSeq(stack) == carried;
                       }))
      << "carried " << carried << " then " << dropCopySentSeq(stack) << "\n"
      << stack.fillReceiverLogTail();

  // Back: the session comes up again and carries everything, the resends included.
  stack.fills_postgres.start();
  ASSERT_NO_FATAL_FAILURE(waitForAllStored(stack, total));
  EXPECT_TRUE(waitUntil([&] { return stack.dropCopyLoggedOn(); }, kLogonDeadline));
  // Written once the drop copy is idle (writeDropCopySentSeq), after the last report was stored.
  EXPECT_TRUE(waitUntil([&] { return dropCopySentSeq(stack) == total; }, kLogonDeadline))
      << dropCopySentSeq(stack);
  expectStoredEqualsGroundTruth(stack, total);
  EXPECT_TRUE(stack.fillReceiverRunning());
  const Json up = readyz(stack, status);
  EXPECT_EQ(status, 200) << up.dump();
  EXPECT_EQ(components(up).value("postgres", ""), "up") << up.dump();
  EXPECT_EQ(stack.fillsMetric("fills_reports_invalid_total"), 0);
}

// The executions stream: each entry's id and fields, in stream order.
struct StreamEntry {
  std::string id;
  std::map<std::string, std::string> fields;
};

std::vector<StreamEntry> executionsStream(GatewayStack& stack) {
  std::vector<StreamEntry> out;
  const auto reply = stack.redis.command({"XRANGE", "executions", "-", "+"});
  for (const auto& entry : reply.elements) {
    if (entry.elements.size() != 2) continue;
    StreamEntry item{entry.elements[0].text, {}};
    const auto& flat = entry.elements[1].elements;
    for (std::size_t i = 0; i + 1 < flat.size(); i += 2)
      item.fields[flat[i].text] = flat[i + 1].text;
    out.push_back(item);
  }
  return out;
}

long long streamLength(GatewayStack& stack) {
  return stack.redis.command({"XLEN", "executions"}).integer;
}

// Every stored report once in the executions stream, in seq order, with the id {seq}-0.
void expectStreamHoldsEveryStoredReportOnceInSeqOrder(GatewayStack& stack) {
  std::map<int64_t, std::string> stored_by_seq;
  for (const auto& row : stack.storedExecutions()) stored_by_seq[row["seq"]] = row["exec_id"];
  const std::vector<StreamEntry> stream = executionsStream(stack);
  EXPECT_EQ(stream.size(), stored_by_seq.size());
  std::set<int64_t> streamed;
  int64_t previous = 0;
  for (const auto& entry : stream) {
    const int64_t seq = std::stoll(entry.fields.at("seq"));
    EXPECT_EQ(entry.id, std::to_string(seq) + "-0");
    EXPECT_GT(seq, previous) << entry.id;
    previous = seq;
    EXPECT_TRUE(streamed.insert(seq).second) << entry.id << " twice";
    ASSERT_EQ(stored_by_seq.count(seq), 1u) << entry.id << " was never stored";
    EXPECT_EQ(entry.fields.at("exec_id"), stored_by_seq[seq]) << entry.id;
    EXPECT_EQ(entry.fields.at("broker"), "SIM-A");
    const Json payload = Json::parse(entry.fields.at("payload"), nullptr, false);
    EXPECT_EQ(payload.value("exec_id", ""), stored_by_seq[seq]) << entry.id;
  }
  std::set<int64_t> stored_seqs;
  for (const auto& [seq, exec_id] : stored_by_seq) stored_seqs.insert(seq);
  EXPECT_EQ(streamed, stored_seqs);
}

// Orders under the market: acknowledged, then resting, so the gateway has recorded every order
// (the broker holds it) and each acknowledgement is on the stream before Redis, which carries
// orders:SIM-A too, goes away.
void placeRestingOrdersStreamed(GatewayStack& stack, int orders) {
  placeOrders(stack, orders, "50.00");
  ASSERT_NO_FATAL_FAILURE(waitForAllStored(stack, orders));
  ASSERT_TRUE(waitUntil([&] { return streamLength(stack) == orders; }, seconds(30)));
}

// Redis stopped, then the price falls under the limits: every resting order fills in 4 slices
// while Redis is down, stored and waiting for the stream. Returns the reports in all.
long long fillWhileRedisIsDown(GatewayStack& stack, int orders) {
  stack.redis.stop();
  stack.simulatorAdmin("PUT", "/v1/prices/AAPL", R"({"price": "40.00"})");
  const long long total = static_cast<long long>(orders) * kReportsPerOrder;
  waitForAllStored(stack, total);
  EXPECT_TRUE(waitUntil([&] { return stack.fillsMetric("fills_relay_backlog") == total - orders; },
                        seconds(10)))
      << stack.fillsMetric("fills_relay_backlog");
  return total;
}

TEST(FillReceiver, RedisDownReportsAreStoredAndPolledThenStreamedOnceInSeqOrder) {
  GatewayStack stack("SIM-A");
  ASSERT_NO_FATAL_FAILURE(startStack(stack));
  constexpr int kOrders = 100;
  ASSERT_NO_FATAL_FAILURE(placeRestingOrdersStreamed(stack, kOrders));
  const long long last_seq_before = stack.fillsCount("SELECT max(seq) FROM executions");

  long long total = 0;
  ASSERT_NO_FATAL_FAILURE(total = fillWhileRedisIsDown(stack, kOrders));
  int status = 0;
  const Json degraded = readyz(stack, status);
  EXPECT_EQ(status, 200) << degraded.dump();
  EXPECT_EQ(components(degraded).value("redis", ""), "down") << degraded.dump();
  EXPECT_EQ(degraded.value("status", ""), "degraded") << degraded.dump();

  // The polling path serves what the stream could not: exactly the fills, in seq order.
  const std::vector<Json> polled = stack.storedExecutions(last_seq_before);
  ASSERT_EQ(polled.size(), static_cast<std::size_t>(total - kOrders));
  const std::vector<Json> truth = stack.groundTruthExecutions();
  ASSERT_EQ(truth.size(), static_cast<std::size_t>(total));
  std::set<std::string> truth_fills, polled_fills;
  for (std::size_t i = kOrders; i < truth.size(); ++i) truth_fills.insert(truth[i]["exec_id"]);
  for (const auto& row : polled) {
    EXPECT_EQ(row["exec_type"], "F") << row.dump();
    EXPECT_GT(row["seq"].get<int64_t>(), last_seq_before);
    polled_fills.insert(row["exec_id"]);
  }
  EXPECT_EQ(polled_fills, truth_fills);

  stack.redis.start();
  ASSERT_TRUE(waitUntil([&] { return streamLength(stack) >= total; }, seconds(30)))
      << streamLength(stack) << " in the stream\n"
      << stack.fillReceiverLogTail();
  ASSERT_TRUE(
      waitUntil([&] { return stack.fillsMetric("fills_relay_backlog") == 0; }, seconds(10)));
  expectStoredEqualsGroundTruth(stack, total);
  expectStreamHoldsEveryStoredReportOnceInSeqOrder(stack);
  EXPECT_EQ(stack.fillsMetric("fills_relay_published_total"), total);
  EXPECT_EQ(stack.fillsMetric("fills_relay_already_in_stream_total"), 0);
  EXPECT_EQ(stack.fillsMetric("fills_relay_stream_ahead_total"), 0);
}

// A restarted Redis replays its append-only file before it serves, and meanwhile answers
// LOADING to each command it reads. A pipelined batch read partly before the replay ended and
// partly after was refused at its head and taken at its tail: later rows in the stream ahead
// of earlier ones, which the stream then refused for good (their ids are below its last), and
// the ledger never saw another fill (CI chaos run: 376 orders left open). Ballast keys make the
// replay last seconds, so the relay's rounds meet its end.
TEST(FillReceiver, RedisRestartedWhileItReplaysItsFileStreamsEveryReportInSeqOrder) {
  GatewayStack stack("SIM-A");
  ASSERT_NO_FATAL_FAILURE(startStack(stack));
  constexpr int kOrders = 100;
  ASSERT_NO_FATAL_FAILURE(placeRestingOrdersStreamed(stack, kOrders));
  constexpr int kBallastKeys = 300'000;  // about 3 s of replay on the development machine
  const auto ballast = stack.redis.command(
      {"EVAL",
       "for i = 1, tonumber(ARGV[1]) do redis.call('SET', 'ballast:' .. i, 'x') end return 1", "0",
       std::to_string(kBallastKeys)});
  ASSERT_FALSE(ballast.isError()) << ballast.text;

  long long total = 0;
  ASSERT_NO_FATAL_FAILURE(total = fillWhileRedisIsDown(stack, kOrders));

  stack.redis.start();  // returns once the replay is over; the relay tried all along
  EXPECT_TRUE(waitUntil([&] { return streamLength(stack) >= total; }, seconds(30)))
      << streamLength(stack) << " in the stream\n"
      << stack.fillReceiverLogTail();
  EXPECT_EQ(stack.fillsMetric("fills_relay_stream_ahead_total"), 0);
  EXPECT_EQ(stack.fillsMetric("fills_relay_published_total"), total);
  EXPECT_TRUE(
      waitUntil([&] { return stack.fillsMetric("fills_relay_backlog") == 0; }, seconds(10)));
  expectStreamHoldsEveryStoredReportOnceInSeqOrder(stack);
}

// A stream already past the rows to publish (the database recreated under a kept stream, or a
// row committed late by a killed process's statement): each row goes in after the stream's last
// entry, in seq order, counted as an alarm, instead of waiting for an operator while the ledger
// sees no fill.
TEST(FillReceiver, AStreamPastTheStoredRowsGetsEveryReportAfterItsLastEntry) {
  GatewayStack stack("SIM-A");
  const auto stray =
      stack.redis.command({"XADD", "executions", "1000000-0", "seq", "1000000", "broker", "OTHER",
                           "exec_id", "stray", "order_id", "none", "payload", "{}"});
  ASSERT_FALSE(stray.isError()) << stray.text;
  ASSERT_NO_FATAL_FAILURE(startStack(stack));
  constexpr int kOrders = 20;
  placeOrders(stack, kOrders);
  const long long total = kOrders * kReportsPerOrder;
  ASSERT_NO_FATAL_FAILURE(waitForAllStored(stack, total));
  ASSERT_TRUE(waitUntil([&] { return streamLength(stack) == total + 1; }, seconds(30)))
      << streamLength(stack) << " in the stream\n"
      << stack.fillReceiverLogTail();
  ASSERT_TRUE(
      waitUntil([&] { return stack.fillsMetric("fills_relay_backlog") == 0; }, seconds(10)));

  std::map<std::string, int64_t> seq_of;  // exec id -> stored seq
  for (const auto& row : stack.storedExecutions()) seq_of[row["exec_id"]] = row["seq"];
  const std::vector<StreamEntry> stream = executionsStream(stack);
  ASSERT_EQ(stream.size(), seq_of.size() + 1);
  EXPECT_EQ(stream.front().id, "1000000-0");
  std::set<std::string> streamed;
  int64_t previous_seq = 0;
  for (std::size_t i = 1; i < stream.size(); ++i) {
    const StreamEntry& entry = stream[i];
    EXPECT_EQ(entry.id, "1000000-" + std::to_string(i)) << "after the last entry, one by one";
    const std::string exec_id = entry.fields.at("exec_id");
    ASSERT_EQ(seq_of.count(exec_id), 1u) << exec_id << " was never stored";
    EXPECT_TRUE(streamed.insert(exec_id).second) << exec_id << " twice";
    EXPECT_EQ(std::stoll(entry.fields.at("seq")), seq_of[exec_id]);
    EXPECT_GT(seq_of[exec_id], previous_seq) << "seq order";
    previous_seq = seq_of[exec_id];
  }
  EXPECT_EQ(streamed.size(), seq_of.size());
  EXPECT_EQ(stack.fillsMetric("fills_relay_stream_ahead_total"), total);
  EXPECT_EQ(stack.fillsMetric("fills_relay_published_total"), total);
}

// The relay runs when the report writer wakes it after a stored batch, and otherwise only at
// relay_idle_wait_ms_max: it used to run every 100 ms with nothing to publish.
TEST(FillReceiver, AnIdleRelaySleepsToItsIdleBoundAndNewReportsStillStreamAtOnce) {
  GatewayStack stack("SIM-A");
  ASSERT_NO_FATAL_FAILURE(
      startStack(stack, "{}", {"relay_poll_interval_ms = 100", "relay_idle_wait_ms_max = 60000"}));
  placeOrders(stack, 1);
  ASSERT_NO_FATAL_FAILURE(waitForAllStored(stack, kReportsPerOrder));
  ASSERT_TRUE(waitUntil([&] { return streamLength(stack) == kReportsPerOrder; }, seconds(20)))
      << streamLength(stack) << " in the stream\n"
      << stack.fillReceiverLogTail();
  const double rounds_before = stack.fillsMetric("fills_relay_rounds_total");
  // A measurement window, not a synchronisation: the 100 ms poll made about 30 rounds in it;
  // now at most the one that marks the last published rows.
  std::this_thread::sleep_for(seconds(3));
  EXPECT_LE(stack.fillsMetric("fills_relay_rounds_total") - rounds_before, 2)
      << "the relay polled while nothing was unpublished";
  placeOrders(stack, 1);
  // Woken by the writer: the idle bound would have held the reports for up to 60 s.
  EXPECT_TRUE(waitUntil([&] { return streamLength(stack) == 2 * kReportsPerOrder; }, seconds(20)))
      << streamLength(stack) << " in the stream\n"
      << stack.fillReceiverLogTail();
}

// While reports flow, the relay publishes what the writer hands it and reads the table only to
// mark: at most one read per relay_table_read_interval_ms. It used to read the table once per
// stored batch. What memory publishes is what the table holds: each entry's payload is the
// GET /v1/executions item of its seq, and every row is marked published.
TEST(FillReceiver, FlowingReportsArePublishedFromMemoryAndTheTableIsReadOnlyToMarkThem) {
  GatewayStack stack("SIM-A");
  ASSERT_NO_FATAL_FAILURE(startStack(stack, "{}", {"relay_table_read_interval_ms = 1000"}));
  constexpr int kRounds = 8;
  constexpr int kOrdersPerRound = 5;
  const double reads_before = stack.fillsMetric("fills_relay_table_reads_total");
  const auto started = std::chrono::steady_clock::now();
  for (int round = 1; round <= kRounds; ++round) {
    placeOrders(stack, kOrdersPerRound);
    const long long expected = static_cast<long long>(round) * kOrdersPerRound * kReportsPerOrder;
    ASSERT_TRUE(waitUntil([&] { return streamLength(stack) >= expected; }, seconds(60)))
        << streamLength(stack) << " in the stream\n"
        << stack.fillReceiverLogTail();
  }
  const double reads = stack.fillsMetric("fills_relay_table_reads_total") - reads_before;
  const double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double published = stack.fillsMetric("fills_relay_published_total");
  const long long total = kRounds * kOrdersPerRound * kReportsPerOrder;
  EXPECT_EQ(published, total);
  // One read a second, and the reads that end an idle wait (1 s too): at most one per second
  // and one more; a read per stored batch made about one per report here.
  EXPECT_LE(reads, elapsed_s + 2) << "over " << elapsed_s << " s";
  EXPECT_LT(reads, total / 4.0);

  expectStreamHoldsEveryStoredReportOnceInSeqOrder(stack);
  std::map<int64_t, Json> item_by_seq;
  for (const auto& item : stack.storedExecutions()) item_by_seq[item["seq"]] = item;
  for (const auto& entry : executionsStream(stack)) {
    const int64_t seq = std::stoll(entry.fields.at("seq"));
    EXPECT_EQ(Json::parse(entry.fields.at("payload"), nullptr, false), item_by_seq[seq])
        << entry.id;
  }
  EXPECT_TRUE(waitUntil(
      [&] {
        return stack.fillsCount("SELECT count(*) FROM executions WHERE published_at IS NULL") == 0;
      },
      seconds(10)))
      << stack.fillsCount("SELECT count(*) FROM executions WHERE published_at IS NULL")
      << " rows unmarked";
  EXPECT_EQ(stack.fillsCount("SELECT count(*) FROM executions WHERE published_at < received_at"),
            0);
  EXPECT_EQ(stack.fillsMetric("fills_relay_already_in_stream_total"), 0);
  EXPECT_EQ(stack.fillsMetric("fills_relay_stream_ahead_total"), 0);
}

// A row committed without being handed to the relay (the writer's commit whose answer was
// lost: it retries, finds a duplicate and hands nothing over) has a seq below rows the relay has
// published since. A table read publishes it all the same, within the idle bound, after the
// stream's last entry (counted in fills_relay_stream_ahead_total), and marks it. Seq 0 stands in
// for "below every published row".
TEST(FillReceiver, ARowCommittedWithoutBeingHandedOverIsPublishedByATableRead) {
  GatewayStack stack("SIM-A");
  ASSERT_NO_FATAL_FAILURE(startStack(stack));
  placeOrders(stack, 1);
  ASSERT_NO_FATAL_FAILURE(waitForAllStored(stack, kReportsPerOrder));
  ASSERT_TRUE(waitUntil([&] { return streamLength(stack) == kReportsPerOrder; }, seconds(20)));
  (void)stack.fillsSql(
      "INSERT INTO executions (seq, broker, exec_id, order_id, cl_ord_id, broker_order_id, "
      "exec_type, ord_status, symbol, side, order_qty, last_qty, last_px, cum_qty, leaves_qty, "
      "avg_px, transact_time, text, raw_message) VALUES (0, 'SIM-A', 'not-handed-over', 'O-1', "
      "'O-1', 'B-1', 'F', '2', 'AAPL', 'BUY', 10, 10, 100, 10, 0, 100, "
      "'20261127-03:00:00.000', '', '8=FIX.4.4|') RETURNING seq");
  EXPECT_TRUE(waitUntil([&] { return streamLength(stack) == kReportsPerOrder + 1; }, seconds(10)))
      << streamLength(stack) << " in the stream\n"
      << stack.fillReceiverLogTail();
  const std::vector<StreamEntry> stream = executionsStream(stack);
  ASSERT_FALSE(stream.empty());
  EXPECT_EQ(stream.back().fields.at("exec_id"), "not-handed-over");
  EXPECT_EQ(stream.back().fields.at("seq"), "0");
  EXPECT_EQ(stack.fillsMetric("fills_relay_stream_ahead_total"), 1);
  EXPECT_EQ(stack.fillsMetric("fills_relay_published_total"), kReportsPerOrder + 1);
  EXPECT_TRUE(waitUntil(
      [&] {
        return stack.fillsCount("SELECT count(*) FROM executions WHERE published_at IS NULL") == 0;
      },
      seconds(10)));
}

TEST(FillReceiver, PausedDropCopyStoresNothingNewAndResumedCatchesUp) {
  GatewayStack stack("SIM-A");
  ASSERT_NO_FATAL_FAILURE(startStack(stack));
  constexpr int kOrders = 50;
  placeOrders(stack, kOrders);
  ASSERT_NO_FATAL_FAILURE(waitForAllStored(stack, kOrders * kReportsPerOrder));
  const std::vector<std::string> before = stack.storedExecIds();

  stack.simulatorAdmin("PUT", "/v1/faults", R"({"drop_copy_paused": true})");
  placeOrders(stack, kOrders);
  ASSERT_TRUE(waitUntil([&] { return issuedCount(stack) == 2 * kOrders * kReportsPerOrder; },
                        kBurstDeadline, milliseconds(100)));
  // Ground truth grew by 250 reports; the stored set stays as it was (the drop copy normally
  // carries a report within milliseconds), and the session stays up.
  EXPECT_TRUE(holdsFor(seconds(1), [&] {
    return storedCount(stack) == kOrders * kReportsPerOrder && stack.dropCopyLoggedOn();
  })) << storedCount(stack);
  EXPECT_EQ(stack.storedExecIds(), before);
  EXPECT_EQ(stack.groundTruthExecIds().size(), 2u * kOrders * kReportsPerOrder);

  stack.simulatorAdmin("PUT", "/v1/faults", R"({"drop_copy_paused": false})");
  ASSERT_NO_FATAL_FAILURE(waitForAllStored(stack, 2 * kOrders * kReportsPerOrder));
  expectStoredEqualsGroundTruth(stack, 2 * kOrders * kReportsPerOrder);
}

TEST(FillReceiver, StrangersLogonIsRefusedAndTheRealSessionIsStillServed) {
  GatewayStack stack("SIM-A");
  ASSERT_NO_FATAL_FAILURE(startStack(stack));

  // Both configured sessions are listed; only SIM-A's simulator runs.
  const auto sessions = Json::parse(stack.fillsGet("/v1/sessions").body, nullptr, false);
  ASSERT_TRUE(sessions.contains("sessions")) << sessions.dump();
  std::map<std::string, bool> logged_on;
  for (const auto& session : sessions["sessions"])
    logged_on[session["session_id"]] = session["logged_on"];
  EXPECT_EQ(logged_on, (std::map<std::string, bool>{{kDropCopy, true}, {kIdleDropCopy, false}}));
  // A broker whose drop copy is not connected does not make the receiver unready: it stores the
  // other broker's reports and serves the polling API. Readiness names each session.
  int status = 0;
  const Json ready = readyz(stack, status);
  EXPECT_EQ(status, 200) << ready.dump();
  EXPECT_EQ(ready.value("status", ""), "degraded") << ready.dump();
  EXPECT_EQ(components(ready).value("postgres", ""), "up") << ready.dump();
  EXPECT_EQ(components(ready).value("redis", ""), "up") << ready.dump();
  EXPECT_EQ(components(ready)["fix_sessions"],
            (Json{{kDropCopy, "logged_on"}, {kIdleDropCopy, "logged_off"}}))
      << ready.dump();

  for (const auto& [sender, target] : std::vector<std::pair<std::string, std::string>>{
           {"SIM-Z", "FILLS"}, {"SIM-A", "NOTFILLS"}, {"SIM-A", "FILLS"}}) {
    // The last one has the real CompIDs while the real session is logged on: no second
    // connection may take it over.
    RawFixClient stranger(sender, target);
    stranger.connect(stack.dropCopyPort());
    ASSERT_TRUE(stranger.logon(60));
    const auto reply = stranger.receive(seconds(5));
    EXPECT_FALSE(reply) << sender << "->" << target << " got a " << reply->type();
    EXPECT_TRUE(stranger.closed()) << sender << "->" << target;
    EXPECT_TRUE(stack.fillReceiverRunning());
    EXPECT_TRUE(stack.dropCopyLoggedOn()) << sender << "->" << target;
  }
  const auto after = Json::parse(stack.fillsGet("/v1/sessions").body, nullptr, false);
  EXPECT_EQ(after["sessions"].size(), 2u) << after.dump();

  // A later report is stored.
  placeOrders(stack, 2);
  ASSERT_NO_FATAL_FAILURE(waitForAllStored(stack, 2 * kReportsPerOrder, seconds(30)));
  expectStoredEqualsGroundTruth(stack, 2 * kReportsPerOrder);
}

}  // namespace
}  // namespace fbg::test
