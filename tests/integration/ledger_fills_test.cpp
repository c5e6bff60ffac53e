// The ledger with a real fill receiver (its own PostgreSQL, the ledger's Redis): broker reports
// enter as ExecutionReports on the fill receiver's drop-copy acceptor (the test plays SIM-A's
// drop copy with a raw FIX client), are stored there, and reach the ledger through the
// executions stream or, while Redis is down, through GET /v1/executions. Also the real
// `ledger_service reconcile` binary against these databases.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "ledger_stack.h"
#include "support/ports.h"
#include "support/raw_fix_client.h"
#include "support/serving.h"
#include "support/temp_folder.h"
#include "support/wait.h"

namespace fbg::test {
namespace {

using Json = nlohmann::json;
using std::chrono::seconds;

constexpr auto kApplyDeadline = seconds(45);

// FIX UTCTimestamp of now, YYYYMMDD-HH:MM:SS.sss.
std::string fixNow() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds_now = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm utc{};
  gmtime_r(&seconds_now, &utc);
  char text[96];
  std::snprintf(text, sizeof text, "%04d%02d%02d-%02d:%02d:%02d.%03d", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(ms.count()));
  return text;
}

std::string readFile(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::vector<std::string> withLine(std::vector<std::string> lines, std::string line) {
  lines.push_back(std::move(line));
  return lines;
}

class LedgerFillsTest : public ::testing::Test {
 protected:
  explicit LedgerFillsTest(std::vector<std::string> extra_config = {})
      : fills_http_port_(freeLoopbackPort()),
        drop_copy_port_(freeLoopbackPort()),
        stack(withLine(std::move(extra_config),
                       "fill_receiver_port = " + std::to_string(fills_http_port_))) {}

  ~LedgerFillsTest() override { fill_receiver_.kill9(); }

  void SetUp() override {
    stack.createFundedAccount("ACC-1", "100000.00");
    folder_ = makeTempFolder("ledger-fills");
    fills_postgres.start();
    fills_postgres.createDatabase("fills");
    startFillReceiver();
    drop_copy_.connect(drop_copy_port_);
    ASSERT_TRUE(drop_copy_.logon(300));
    const auto answer = drop_copy_.receiveSkippingHeartbeats(seconds(15));
    ASSERT_TRUE(answer) << logTail(folder_ / "fill_receiver.log");
    ASSERT_EQ(answer->type(), "A");
  }

  void startFillReceiver() {
    const auto config = folder_ / "fill_receiver.conf";
    std::ofstream file(config);
    file << "postgres_uri = " << fills_postgres.uri("fills") << "\n"
         << "http_port = " << fills_http_port_ << "\n"
         << "redis_port = " << stack.redis.port() << "\n"
         << "fix_settings_file = " << FBG_FIX_CONFIG_DIR << "/fill_receiver.cfg\n"
         << "fix_config_dir = " << FBG_FIX_CONFIG_DIR << "\n"
         << "run_dir = " << folder_.string() << "\n"
         << "fix_accept_port = " << drop_copy_port_ << "\n"
         << "relay_poll_interval_ms = 20\n";
    file.close();
    fill_receiver_.launch(FBG_FILL_RECEIVER_BINARY, {"serve", "--config", config.string()}, {},
                          folder_ / "fill_receiver.log");
    ASSERT_TRUE(waitUntilServing(fill_receiver_, fills_http_port_))
        << logTail(folder_ / "fill_receiver.log");
  }

  std::string place(const std::string& body, const std::string& key) {
    const auto placed =
        stack.request("POST", "/v1/accounts/ACC-1/orders", stack.traderToken({"ACC-1"}), body,
                      {{"Idempotency-Key", key}});
    EXPECT_EQ(placed.status, 202) << placed.body;
    return Json::parse(placed.body)["order_id"];
  }
  std::string placeBuy(int64_t quantity, const std::string& limit, const std::string& key) {
    return place(R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":)" +
                     std::to_string(quantity) + R"(,"limit_price":")" + limit + R"("})",
                 key);
  }

  // One ExecutionReport on SIM-A's drop copy, as the broker sends it.
  void report(const std::string& order_id, const std::string& side, int64_t quantity,
              char exec_type, int64_t last_qty, const std::string& last_px, int64_t cum_qty) {
    const int64_t leaves = quantity - cum_qty;
    const std::string ord_status = exec_type == '0' ? "0" : leaves == 0 ? "2" : "1";
    const std::string exec_id = "X" + std::to_string(++exec_sequence_);
    ASSERT_TRUE(drop_copy_.send("8", {{37, "B-" + order_id},
                                      {11, order_id},
                                      {17, exec_id},
                                      {150, std::string(1, exec_type)},
                                      {39, ord_status},
                                      {55, "AAPL"},
                                      {54, side == "BUY" ? "1" : "2"},
                                      {38, std::to_string(quantity)},
                                      {32, std::to_string(last_qty)},
                                      {31, last_px},
                                      {151, std::to_string(leaves)},
                                      {14, std::to_string(cum_qty)},
                                      {6, cum_qty > 0 ? last_px : "0"},
                                      {60, fixNow()}}));
    ++reports_sent_;
  }

  // Every report sent so far is stored in the fill receiver (fills database), once.
  void waitForStored() {
    ASSERT_TRUE(waitUntil([&] { return storedCount() == reports_sent_; }, kApplyDeadline))
        << "stored " << storedCount() << " of " << reports_sent_ << "\n"
        << logTail(folder_ / "fill_receiver.log");
  }
  std::string maxStoredSeq() {
    return fills_postgres.queryScalar("fills", "SELECT coalesce(max(seq), 0) FROM executions");
  }
  // Whether the ledger's group has read every entry of the executions stream up to the last
  // report stored and acknowledged it.
  bool executionsStreamDrained() {
    const RedisReply groups = stack.redis.command({"XINFO", "GROUPS", "executions"});
    if (groups.kind != RedisReply::Kind::Array) return false;
    for (const auto& group : groups.elements) {
      const std::vector<std::string> fields = group.strings();
      std::map<std::string, std::string> info;
      for (std::size_t i = 0; i + 1 < fields.size(); i += 2) info[fields[i]] = fields[i + 1];
      if (info["name"] == "ledger") {
        return info["pending"] == "0" && info["last-delivered-id"] == maxStoredSeq() + "-0";
      }
    }
    return false;
  }
  long long storedCount() {
    return std::stoll(fills_postgres.queryScalar("fills", "SELECT count(*) FROM executions"));
  }

  Json order(const std::string& order_id) {
    return Json::parse(stack.request("GET", "/v1/orders/" + order_id, stack.adminToken()).body);
  }
  Json account() {
    return Json::parse(stack.request("GET", "/v1/accounts/ACC-1", stack.adminToken()).body);
  }
  long long ledgerFills() { return stack.sqlCount("SELECT count(*) FROM executions"); }
  double applied() { return stack.metric("ledger_events_applied_total"); }

  // The fill receiver's fills (exec_type F) and the ledger's, as sets of broker:exec_id.
  std::set<std::string> storedFillIds() {
    std::set<std::string> ids;
    const std::string text = fills_postgres.queryScalar(
        "fills",
        "SELECT coalesce(string_agg(broker || ':' || exec_id, ',' ORDER BY seq), '') FROM "
        "executions WHERE exec_type = 'F'");
    std::stringstream items(text);
    for (std::string id; std::getline(items, id, ',');) ids.insert(id);
    return ids;
  }
  std::set<std::string> ledgerFillIds() {
    std::set<std::string> ids;
    const std::string text =
        stack.sql("SELECT coalesce(string_agg(broker || ':' || exec_id, ','), '') FROM executions");
    std::stringstream items(text);
    for (std::string id; std::getline(items, id, ',');) ids.insert(id);
    return ids;
  }

  // `ledger_service reconcile` on the ledger's own config: its exit code and output.
  std::pair<int, std::string> reconcile() {
    const auto log = folder_ / ("reconcile-" + std::to_string(++reconcile_runs_) + ".log");
    const int code =
        runCommand(FBG_LEDGER_BINARY, {"reconcile", "--config", stack.configPath()}, log, 60000);
    return {code, readFile(log)};
  }

  int fills_http_port_;
  int drop_copy_port_;
  LedgerStack stack;
  PostgresInstance fills_postgres;
  std::filesystem::path folder_;
  ChildProcess fill_receiver_;
  RawFixClient drop_copy_{"SIM-A", "FILLS"};
  int64_t exec_sequence_ = 0;
  long long reports_sent_ = 0;
  int reconcile_runs_ = 0;
};

// Redis (the ledger's locks and streams, the fill receiver's relay) is killed; reports keep
// arriving at the fill receiver and the ledger reads them from GET /v1/executions after its
// cursor; Redis returns and the stream carries the same reports again, which change nothing;
// later reports come by the stream again.
TEST_F(LedgerFillsTest, RedisDownFillsArriveByPollingAndNoneIsAppliedTwiceWhenItReturns) {
  constexpr int kOrders = 6;
  std::vector<std::string> ids;
  for (int i = 0; i < kOrders; ++i) ids.push_back(placeBuy(10, "100.00", "b-" + std::to_string(i)));

  // Redis up: acknowledgements and a first fill of 2 at 99.00 come by the stream.
  for (const auto& id : ids) {
    report(id, "BUY", 10, '0', 0, "0", 0);
    report(id, "BUY", 10, 'F', 2, "99.00", 2);
  }
  ASSERT_NO_FATAL_FAILURE(waitForStored());
  ASSERT_TRUE(waitUntil([&] { return applied() == 2 * kOrders; }, kApplyDeadline))
      << applied() << "\n"
      << stack.logTail();
  EXPECT_EQ(stack.metric("ledger_executions_polled_total"), 0);

  // Redis down: 3 more at 98.00 for each order, and the first two orders complete at 97.00.
  const std::string last_seq_before = maxStoredSeq();
  stack.redis.kill9();
  for (const auto& id : ids) report(id, "BUY", 10, 'F', 3, "98.00", 5);
  for (int i = 0; i < 2; ++i) report(ids[i], "BUY", 10, 'F', 5, "97.00", 10);
  constexpr int kWhileDown = kOrders + 2;
  ASSERT_NO_FATAL_FAILURE(waitForStored());
  ASSERT_TRUE(waitUntil([&] { return ledgerFills() == kOrders + kWhileDown; }, kApplyDeadline))
      << ledgerFills() << "\n"
      << stack.logTail();
  EXPECT_EQ(applied(), 2 * kOrders + kWhileDown);
  EXPECT_GE(stack.metric("ledger_executions_polled_total"), kWhileDown);
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM executions WHERE fill_receiver_seq > " +
                           last_seq_before),
            kWhileDown);
  EXPECT_EQ(order(ids[0])["status"], "FILLED");
  EXPECT_EQ(order(ids[2])["status"], "PARTIALLY_FILLED");
  EXPECT_EQ(order(ids[2])["filled_quantity"], 5);
  // The polling cursor stands at the last report stored.
  EXPECT_EQ(stack.sql("SELECT position FROM consumer_cursors WHERE name = 'executions'"),
            maxStoredSeq());
  const double polled_while_down = stack.metric("ledger_executions_polled_total");
  // (The polling started below the cursor, in case stream readers had entries in flight: what
  // it read again was found applied.)
  const double duplicates_while_down = stack.metric("ledger_events_duplicate_total");

  // Redis back: the fill receiver publishes what waited; the ledger reads each as a duplicate.
  stack.redis.start();
  ASSERT_TRUE(waitUntil(
      [&] {
        return stack.metric("ledger_events_duplicate_total") >= duplicates_while_down + kWhileDown;
      },
      kApplyDeadline))
      << stack.metric("ledger_events_duplicate_total") << "\n"
      << stack.logTail();
  EXPECT_EQ(applied(), 2 * kOrders + kWhileDown);
  EXPECT_EQ(ledgerFills(), kOrders + kWhileDown);

  // And the stream path again: the other four orders complete at 96.00.
  for (int i = 2; i < kOrders; ++i) report(ids[i], "BUY", 10, 'F', 5, "96.00", 10);
  ASSERT_NO_FATAL_FAILURE(waitForStored());
  ASSERT_TRUE(waitUntil(
      [&] {
        return stack.sqlCount("SELECT count(*) FROM orders WHERE status = 'FILLED'") == kOrders;
      },
      kApplyDeadline))
      << stack.logTail();
  EXPECT_EQ(stack.metric("ledger_executions_polled_total"), polled_while_down);
  EXPECT_EQ(applied(), 2 * kOrders + kWhileDown + (kOrders - 2));

  // Each fill the fill receiver holds is booked once, and nothing else.
  EXPECT_EQ(ledgerFillIds(), storedFillIds());
  constexpr int kFills = kOrders + kWhileDown + (kOrders - 2);
  EXPECT_EQ(ledgerFills(), kFills);
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM journal_entries WHERE kind = 'FILL'"), kFills);
  // 100000 - 6 x 2 x 99 - 6 x 3 x 98 - 2 x 5 x 97 - 4 x 5 x 96
  EXPECT_EQ(account()["cash_balance"], "94158.00");
  EXPECT_EQ(account()["cash_reserved"], "0.00");
  for (const auto& id : ids) EXPECT_EQ(order(id)["filled_quantity"], 10) << id;
  EXPECT_TRUE(stack.invariantViolations().empty());
}

// Reconcile on a clean ledger passes; a cash balance changed behind the journal's back, and a
// booked fill removed from the ledger, are each found and printed.
TEST_F(LedgerFillsTest, ReconcilePassesWhenCleanAndFindsPlantedDifferences) {
  const auto deposited =
      stack.request("POST", "/v1/accounts/ACC-1/security-deposits", stack.adminToken(),
                    R"({"symbol":"AAPL","quantity":20,"price":"50.00","reference":"sd-1"})");
  ASSERT_EQ(deposited.status, 201) << deposited.body;
  const std::string buy = placeBuy(10, "100.00", "buy-1");
  const std::string sell =
      place(R"({"symbol":"AAPL","side":"SELL","type":"LIMIT","quantity":8,"limit_price":"60.00"})",
            "sell-1");
  report(buy, "BUY", 10, '0', 0, "0", 0);
  report(buy, "BUY", 10, 'F', 4, "99.50", 4);
  report(sell, "SELL", 8, '0', 0, "0", 0);
  report(sell, "SELL", 8, 'F', 8, "61.00", 8);
  ASSERT_NO_FATAL_FAILURE(waitForStored());
  ASSERT_TRUE(waitUntil([&] { return applied() == 4; }, kApplyDeadline)) << stack.logTail();

  auto [clean_code, clean_out] = reconcile();
  EXPECT_EQ(clean_code, 0) << clean_out;
  EXPECT_NE(clean_out.find("reports checked: 4,"), std::string::npos) << clean_out;
  EXPECT_NE(clean_out.find("differences: 0"), std::string::npos) << clean_out;
  EXPECT_EQ(clean_out.find("DIFFERENCE"), std::string::npos) << clean_out;

  stack.sql(
      "UPDATE accounts SET cash_balance = cash_balance + 1 WHERE account_id = 'ACC-1' "
      "RETURNING 1");
  auto [cash_code, cash_out] = reconcile();
  EXPECT_EQ(cash_code, 1) << cash_out;
  EXPECT_NE(cash_out.find("DIFFERENCE cash_balance differs from its journal lines: ACC-1"),
            std::string::npos)
      << cash_out;
  stack.sql(
      "UPDATE accounts SET cash_balance = cash_balance - 1 WHERE account_id = 'ACC-1' "
      "RETURNING 1");
  EXPECT_EQ(reconcile().first, 0);

  // The sell's fill vanishes from the ledger (its journal entry stays): the fill receiver still
  // holds the report, so invariant 2 fails, and the order's filled quantity no longer matches.
  const std::string exec_id =
      stack.sql("SELECT exec_id FROM executions WHERE order_id = '" + sell + "'");
  stack.sql("DELETE FROM executions WHERE order_id = '" + sell + "' RETURNING 1");
  auto [gone_code, gone_out] = reconcile();
  EXPECT_EQ(gone_code, 1) << gone_out;
  EXPECT_NE(gone_out.find("DIFFERENCE report SIM-A:" + exec_id + " of order " + sell +
                          " applied 0 times"),
            std::string::npos)
      << gone_out;
  EXPECT_NE(gone_out.find("DIFFERENCE filled_quantity differs from the booked fills: " + sell),
            std::string::npos)
      << gone_out;
}

// The gateway gave up on two orders (UNCONFIRMED); the broker did hold one of them and filled
// it, but the ledger was down when its reports came. Reconcile settles that one from the fill
// receiver's reports and leaves the other (no report) holding its reservation; the restarted
// ledger then finds the same reports already applied.
TEST_F(LedgerFillsTest, ReconcileSettlesAnUnconfirmedOrderFromTheBrokersReports) {
  const std::string known = placeBuy(10, "50.00", "u-1");
  const std::string unknown = placeBuy(5, "40.00", "u-2");
  for (const auto& id : {known, unknown}) {
    const std::string event_id = id + ":UNCONFIRMED";
    const Json payload = {{"event_id", event_id}, {"kind", "UNCONFIRMED"},
                          {"order_id", id},       {"broker", "SIM-A"},
                          {"cum_qty", 0},         {"reason", nullptr},
                          {"cancel_request", 0},  {"broker_order_id", nullptr}};
    stack.redis.command({"XADD", "order-events", "*", "event_id", event_id, "kind", "UNCONFIRMED",
                         "order_id", id, "payload", payload.dump()});
  }
  ASSERT_TRUE(waitUntil(
      [&] {
        return stack.sqlCount("SELECT count(*) FROM orders WHERE status = 'UNCONFIRMED'") == 2;
      },
      kApplyDeadline))
      << stack.logTail();

  stack.killLedger();
  const std::string cursor_before =
      stack.sql("SELECT position FROM consumer_cursors WHERE name = 'executions'");
  report(known, "BUY", 10, '0', 0, "0", 0);
  report(known, "BUY", 10, 'F', 10, "49.50", 10);
  ASSERT_NO_FATAL_FAILURE(waitForStored());

  auto [code, out] = reconcile();
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("unconfirmed settled: 1, unconfirmed left: 1"), std::string::npos) << out;
  EXPECT_EQ(stack.sql("SELECT status FROM orders WHERE order_id = '" + known + "'"), "FILLED");
  EXPECT_EQ(stack.sql("SELECT reserved_amount FROM orders WHERE order_id = '" + known + "'"),
            "0.0000");
  EXPECT_EQ(stack.sql("SELECT status FROM orders WHERE order_id = '" + unknown + "'"),
            "UNCONFIRMED");
  EXPECT_EQ(stack.sql("SELECT cash_reserved::text FROM accounts WHERE account_id = 'ACC-1'"),
            "200.0000");
  // Reconcile applied those reports out of seq order: the polling cursor is the consumers' alone.
  EXPECT_EQ(stack.sql("SELECT position FROM consumer_cursors WHERE name = 'executions'"),
            cursor_before);

  stack.startLedger();
  ASSERT_TRUE(waitUntil([&] { return executionsStreamDrained(); }, kApplyDeadline))
      << stack.logTail();
  EXPECT_GE(stack.metric("ledger_events_duplicate_total"), 2);
  EXPECT_EQ(ledgerFills(), 1);
  EXPECT_EQ(account()["cash_balance"], "99505.00");  // 100000 - 10 x 49.50
  EXPECT_EQ(account()["cash_reserved"], "200.00");   // the unconfirmed 5 x 40.00
  EXPECT_EQ(order(unknown)["status"], "UNCONFIRMED");
  EXPECT_TRUE(stack.invariantViolations().empty());

  auto [again_code, again_out] = reconcile();
  EXPECT_EQ(again_code, 0) << again_out;
  EXPECT_NE(again_out.find("unconfirmed settled: 0, unconfirmed left: 1"), std::string::npos)
      << again_out;
}

// The sweep on a short grace, so that a test sees it act within seconds.
class LedgerSweepTest : public LedgerFillsTest {
 protected:
  LedgerSweepTest() : LedgerFillsTest({"sweep_interval_ms = 200", "sweep_grace_ms = 1000"}) {}

  // Waits until the fill receiver published the reports with seq in (after, last] to the
  // executions stream, then deletes those entries: Redis has lost writes it acknowledged, and the
  // fill receiver, which marked them published, will not send them again.
  void loseFromStream(long long after, long long last) {
    const auto published = [&] {
      const RedisReply entries = stack.redis.command(
          {"XRANGE", "executions", std::to_string(after + 1) + "-0", std::to_string(last) + "-0"});
      return entries.kind == RedisReply::Kind::Array &&
             static_cast<long long>(entries.elements.size()) == last - after;
    };
    ASSERT_TRUE(waitUntil(published, kApplyDeadline)) << logTail(folder_ / "fill_receiver.log");
    for (long long seq = after + 1; seq <= last; ++seq) {
      const RedisReply deleted =
          stack.redis.command({"XDEL", "executions", std::to_string(seq) + "-0"});
      ASSERT_EQ(deleted.integer, 1) << seq;
    }
  }
  long long storedSeqMax() { return std::stoll(maxStoredSeq()); }
  double swept() { return stack.metric("ledger_executions_swept_total"); }
  // The sweep counts a report after its batch committed, so the counter may trail the rows the
  // test saw: wait for it to reach `count`, then it must be exactly that.
  void expectSwept(double count) {
    EXPECT_TRUE(waitUntil([&] { return swept() >= count; }, kApplyDeadline)) << swept();
    EXPECT_EQ(swept(), count);
  }
};

// Stream entries lost after the fill receiver published them: two in the middle (later entries
// pass them, so the applied cursor does), then the last two (nothing passes them). The sweep
// applies each once, after its grace; nothing else is applied twice, and reconcile passes.
TEST_F(LedgerSweepTest, ReportsTheStreamLostAreAppliedOnceEachByTheSweep) {
  constexpr int kOrders = 4;
  std::vector<std::string> ids;
  for (int i = 0; i < kOrders; ++i) ids.push_back(placeBuy(10, "100.00", "s-" + std::to_string(i)));
  for (const auto& id : ids) {
    report(id, "BUY", 10, '0', 0, "0", 0);
    report(id, "BUY", 10, 'F', 2, "99.00", 2);
  }
  ASSERT_NO_FATAL_FAILURE(waitForStored());
  ASSERT_TRUE(waitUntil([&] { return applied() == 2 * kOrders; }, kApplyDeadline))
      << stack.logTail();

  // The ledger is down while the first two orders' fills are published and lost, and the other
  // two orders' fills, published after them, are kept.
  stack.killLedger();
  const long long before_lost = storedSeqMax();
  for (int i = 0; i < 2; ++i) report(ids[i], "BUY", 10, 'F', 3, "98.00", 5);
  ASSERT_NO_FATAL_FAILURE(waitForStored());
  ASSERT_NO_FATAL_FAILURE(loseFromStream(before_lost, storedSeqMax()));
  for (int i = 2; i < kOrders; ++i) report(ids[i], "BUY", 10, 'F', 3, "98.00", 5);
  ASSERT_NO_FATAL_FAILURE(waitForStored());
  stack.startLedger();
  ASSERT_TRUE(waitUntil([&] { return ledgerFillIds() == storedFillIds(); }, kApplyDeadline))
      << stack.logTail();
  expectSwept(2);
  for (const auto& id : ids) EXPECT_EQ(order(id)["filled_quantity"], 5) << id;

  // The last two reports are lost, and no later one comes: the applied cursor stands still.
  stack.killLedger();
  const long long before_tail = storedSeqMax();
  for (int i = 0; i < 2; ++i) report(ids[i], "BUY", 10, 'F', 5, "97.00", 10);
  ASSERT_NO_FATAL_FAILURE(waitForStored());
  ASSERT_NO_FATAL_FAILURE(loseFromStream(before_tail, storedSeqMax()));
  stack.startLedger();
  ASSERT_TRUE(waitUntil([&] { return ledgerFillIds() == storedFillIds(); }, kApplyDeadline))
      << stack.logTail();
  expectSwept(2);  // this process's
  EXPECT_EQ(order(ids[0])["status"], "FILLED");
  EXPECT_EQ(order(ids[1])["status"], "FILLED");

  // Each fill booked once: 100000 - 4 x 2 x 99 - 4 x 3 x 98 - 2 x 5 x 97
  constexpr int kFills = kOrders + kOrders + 2;
  EXPECT_EQ(ledgerFills(), kFills);
  EXPECT_EQ(stack.sqlCount("SELECT count(*) FROM journal_entries WHERE kind = 'FILL'"), kFills);
  EXPECT_EQ(account()["cash_balance"], "97062.00");
  EXPECT_TRUE(stack.invariantViolations().empty());
  // The mark reached the last report, and it was stored.
  ASSERT_TRUE(waitUntil(
      [&] {
        return stack.sql("SELECT position FROM consumer_cursors WHERE name = 'executions_swept'") ==
               maxStoredSeq();
      },
      kApplyDeadline));
  auto [code, out] = reconcile();
  EXPECT_EQ(code, 0) << out;
}

}  // namespace
}  // namespace fbg::test
