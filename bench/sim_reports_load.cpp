// sim_reports_load: FIX load client for the broker simulator's execution-report rate.
//
// One order-entry session (initiator GATEWAY -> SIM-A on 127.0.0.1:--order-port) sends --orders
// BUY LIMIT NewOrderSingles, at most --window of them unfinished at any time. The limit is meant
// to be far above the simulator's price, so each order gets an acknowledgement (150=0) and one
// fill (150=F) when the simulator runs with fill_slices 1. An order is finished when its fill (or
// a reject) arrives. The first --warmup-orders are not measured: the window opens when they are
// finished and closes when the last order is, or --measure-s after it opened (then no more
// orders are sent and those in flight are waited for). Reports/s = reports received in the
// window / its length; latencies are from sending an order to its acknowledgement and its fill.
//
// With --drop-copy-port it also accepts the simulator's drop copy (FILLS <- SIM-A) and counts
// what arrives there, so the simulator does its whole job (every report copied) while measured.
//
// Both sessions keep their own FIX state in QuickFIX's FileStore under --store-dir: the client's
// store costs the same whichever store the simulator runs, and adds no load to its PostgreSQL.
// Bounded: at most 1,000,000 orders and --timeout-s (600 s at most) for the whole run; connects
// to 127.0.0.1 only (QuickFIX 1.15.1's acceptor listens on every interface: the drop-copy port is
// open for the run's length, and only the simulator is told about it).
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "fix_engine.h"

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;
namespace fix = fbg::fix;

constexpr int64_t kOrdersMax = 1'000'000;
constexpr int kWindowMax = 10'000;
constexpr int kTimeoutSecondsMax = 600;
constexpr int kLogonTimeoutSeconds = 30;
constexpr int kDropCopyDrainSeconds = 30;  // after the last fill, for the copy to catch up

struct Options {
  int order_port = 0;
  int drop_copy_port = 0;  // 0: no drop-copy acceptor
  int64_t orders = 20'000;
  int64_t warmup_orders = 1'000;
  int window = 64;
  int timeout_s = 180;
  int measure_s = 0;  // 0: until every order is finished
  std::string store_dir;
  std::string json_out;
  std::string symbol = "AAPL";
  std::string limit_price = "1000.00";
  std::string quantity = "10";
};

void printUsage(std::ostream& out) {
  out << "usage: sim_reports_load --order-port P --store-dir DIR [--drop-copy-port D]\n"
         "                        [--orders N] [--warmup-orders K] [--window W] [--timeout-s T]\n"
         "                        [--measure-s M] [--symbol S] [--limit-price X]\n"
         "                        [--json-out FILE]\n"
         "  Sends N BUY LIMIT orders (10 x S at X) to the simulator on 127.0.0.1:P, at most W\n"
         "  unfinished, and reports execution reports/s over orders K+1..N, or over the M\n"
         "  seconds after order K finished (M=0: no time limit, the default).\n"
         "  Defaults: N=20000 (max 1000000), K=1000, W=64 (max 10000), T=180 (max 600),\n"
         "  S=AAPL, X=1000.00. DIR holds the client's own QuickFIX FileStore.\n";
}

[[noreturn]] void usageError(const std::string& message) {
  std::cerr << "sim_reports_load: " << message << "\n";
  printUsage(std::cerr);
  std::exit(2);
}

int64_t parseInteger(const std::string& flag, const std::string& text, int64_t low, int64_t high) {
  std::size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    usageError(flag + " needs an integer, got '" + text + "'");
  }
  if (used != text.size() || value < low || value > high) {
    usageError(flag + " must be an integer in " + std::to_string(low) + ".." +
               std::to_string(high) + ", got '" + text + "'");
  }
  return value;
}

Options parseOptions(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usageError(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--order-port") {
      options.order_port = static_cast<int>(parseInteger(flag, value(), 1, 65535));
    } else if (flag == "--drop-copy-port") {
      options.drop_copy_port = static_cast<int>(parseInteger(flag, value(), 0, 65535));
    } else if (flag == "--orders") {
      options.orders = parseInteger(flag, value(), 1, kOrdersMax);
    } else if (flag == "--warmup-orders") {
      options.warmup_orders = parseInteger(flag, value(), 0, kOrdersMax - 1);
    } else if (flag == "--window") {
      options.window = static_cast<int>(parseInteger(flag, value(), 1, kWindowMax));
    } else if (flag == "--timeout-s") {
      options.timeout_s = static_cast<int>(parseInteger(flag, value(), 1, kTimeoutSecondsMax));
    } else if (flag == "--measure-s") {
      options.measure_s = static_cast<int>(parseInteger(flag, value(), 0, kTimeoutSecondsMax));
    } else if (flag == "--store-dir") {
      options.store_dir = value();
    } else if (flag == "--json-out") {
      options.json_out = value();
    } else if (flag == "--symbol") {
      options.symbol = value();
    } else if (flag == "--limit-price") {
      options.limit_price = value();
    } else if (flag == "--help" || flag == "-h") {
      printUsage(std::cout);
      std::exit(0);
    } else {
      usageError("unknown flag " + flag);
    }
  }
  if (options.order_port == 0) usageError("--order-port is required");
  if (options.store_dir.empty()) usageError("--store-dir is required");
  if (options.warmup_orders >= options.orders) usageError("--warmup-orders must be below --orders");
  return options;
}

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// FIX UTCTimestamp with milliseconds, for TransactTime(60).
std::string fixTimestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  const std::size_t length = std::strftime(text, sizeof text, "%Y%m%d-%H:%M:%S", &utc);
  std::snprintf(text + length, sizeof text - length, ".%03d", static_cast<int>(millis));
  return text;
}

std::string sessionSettings(const Options& options, bool drop_copy) {
  std::string text =
      "[DEFAULT]\nStartTime=00:00:00\nEndTime=00:00:00\nHeartBtInt=30\nReconnectInterval=1\n"
      "UseDataDictionary=N\nSocketNodelay=Y\nPersistMessages=Y\nFileStorePath=" +
      options.store_dir + "\n[SESSION]\nBeginString=FIX.4.4\n";
  if (drop_copy) {
    return text + "ConnectionType=acceptor\nSenderCompID=FILLS\nTargetCompID=SIM-A\n" +
           "SocketAcceptPort=" + std::to_string(options.drop_copy_port) + "\n";
  }
  return text + "ConnectionType=initiator\nSenderCompID=GATEWAY\nTargetCompID=SIM-A\n" +
         "SocketConnectHost=127.0.0.1\nSocketConnectPort=" + std::to_string(options.order_port) +
         "\n";
}

// What the order session has received, per order (index = the ClOrdID's number). Times are
// nowNs() values; 0 means not yet.
struct Tracker {
  explicit Tracker(int64_t orders)
      : sent_ns(static_cast<std::size_t>(orders)),
        ack_ns(static_cast<std::size_t>(orders)),
        done_ns(static_cast<std::size_t>(orders)) {}

  std::mutex mutex;
  std::condition_variable changed;
  std::vector<int64_t> sent_ns, ack_ns, done_ns;
  int64_t sent = 0;
  int64_t finished = 0;
  int64_t reports = 0;     // distinct acknowledgements, fills and rejects
  int64_t fills = 0;       // of those, fills
  int64_t rejects = 0;     // of those, rejects (150=8): the order is finished
  int64_t duplicates = 0;  // a report of a kind this order already had (a resend)
  int64_t unexpected = 0;  // other exec types or unknown ClOrdIDs
  int64_t warmup_orders = 0;
  int64_t window_start_ns = 0;  // when the warmup orders were all finished
  int64_t reports_at_start = 0;
  int64_t finished_at_start = 0;
  int64_t window_end_ns = 0;  // when every order was finished, or the time limit
  int64_t reports_at_end = 0;
  int64_t finished_at_end = 0;
};

void openWindow(Tracker& tracker, int64_t now) {
  tracker.window_start_ns = now;
  tracker.reports_at_start = tracker.reports;
  tracker.finished_at_start = tracker.finished;
}

void closeWindow(Tracker& tracker, int64_t now) {
  if (tracker.window_end_ns != 0) return;
  tracker.window_end_ns = now;
  tracker.reports_at_end = tracker.reports;
  tracker.finished_at_end = tracker.finished;
}

// Index of a ClOrdID "<run>-<index>", or -1.
int64_t orderIndex(const std::string& cl_ord_id, std::size_t orders) {
  const std::size_t dash = cl_ord_id.rfind('-');
  if (dash == std::string::npos) return -1;
  const int64_t index = std::strtoll(cl_ord_id.c_str() + dash + 1, nullptr, 10);
  return index >= 0 && static_cast<std::size_t>(index) < orders ? index : -1;
}

void recordFinished(Tracker& tracker, std::size_t index, int64_t now) {
  tracker.done_ns[index] = now;
  ++tracker.finished;
  const auto total = static_cast<int64_t>(tracker.done_ns.size());
  if (tracker.finished == tracker.warmup_orders) openWindow(tracker, now);
  if (tracker.finished == total) closeWindow(tracker, now);
}

// Order-session callback (QuickFIX's thread).
void onOrderReport(Tracker& tracker, const fix::Message& message) {
  const int64_t now = nowNs();
  const std::string* cl_ord_id = message.find(11);
  const std::string* exec_type = message.find(150);
  std::lock_guard lock(tracker.mutex);
  const int64_t index =
      cl_ord_id && exec_type ? orderIndex(*cl_ord_id, tracker.done_ns.size()) : -1;
  if (message.msg_type != "8" || index < 0 ||
      (*exec_type != "0" && *exec_type != "F" && *exec_type != "8")) {
    ++tracker.unexpected;
    return;
  }
  const auto at = static_cast<std::size_t>(index);
  if (*exec_type == "0") {
    if (tracker.ack_ns[at] != 0) {
      ++tracker.duplicates;
      return;
    }
    tracker.ack_ns[at] = now;
    ++tracker.reports;
    return;
  }
  if (tracker.done_ns[at] != 0) {
    ++tracker.duplicates;
    return;
  }
  ++tracker.reports;
  ++(*exec_type == "F" ? tracker.fills : tracker.rejects);
  recordFinished(tracker, at, now);
  tracker.changed.notify_all();
}

fix::Message newOrder(const Options& options, const std::string& cl_ord_id) {
  fix::Message message;
  message.msg_type = "D";
  message.set(11, cl_ord_id);
  message.set(55, options.symbol);
  message.set(54, "1");  // buy
  message.set(60, fixTimestamp());
  message.set(38, options.quantity);
  message.set(40, "2");  // limit
  message.set(44, options.limit_price);
  return message;
}

bool waitLoggedOn(fix::Engine& engine, Clock::time_point deadline) {
  while (Clock::now() < deadline) {
    const auto sessions = engine.sessions();
    if (!sessions.empty() && sessions[0].logged_on) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a bounded wait
  }
  return false;
}

// Whether --measure-s has passed since the window opened; closes the window then.
bool timeIsUp(const Options& options, Tracker& tracker) {
  if (options.measure_s == 0 || tracker.window_start_ns == 0) return false;
  const int64_t now = nowNs();
  if (now - tracker.window_start_ns < options.measure_s * int64_t{1'000'000'000}) return false;
  closeWindow(tracker, now);
  return true;
}

// Sends the orders, never more than the window unfinished, until all are sent or the time is
// up; then waits for those in flight. False on the deadline.
bool sendOrders(const Options& options, fix::Engine& engine, Tracker& tracker,
                const std::string& run_id, Clock::time_point deadline) {
  const std::string session = "FIX.4.4:GATEWAY->SIM-A";
  for (int64_t i = 0; i < options.orders; ++i) {
    {
      std::unique_lock lock(tracker.mutex);
      // Every finished order notifies: the time limit is checked at least that often.
      if (!tracker.changed.wait_until(
              lock, deadline, [&] { return tracker.sent - tracker.finished < options.window; })) {
        return false;
      }
      if (timeIsUp(options, tracker)) break;
    }
    const fix::Message message = newOrder(options, run_id + "-" + std::to_string(i));
    const auto at = static_cast<std::size_t>(i);
    {
      std::lock_guard lock(tracker.mutex);
      tracker.sent_ns[at] = nowNs();  // before send: the report may come back before it returns
      ++tracker.sent;
    }
    // False only while logged off (nothing was queued): wait for the logon and send again.
    while (!engine.send(session, message)) {
      if (Clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a bounded wait
    }
  }
  std::unique_lock lock(tracker.mutex);
  return tracker.changed.wait_until(lock, deadline,
                                    [&] { return tracker.finished == tracker.sent; });
}

// Nearest-rank percentiles in milliseconds of (to[i] - from[i]) over the measured orders.
Json latencyJson(const std::vector<int64_t>& from, const std::vector<int64_t>& to,
                 std::size_t first) {
  std::vector<int64_t> samples;
  for (std::size_t i = first; i < from.size(); ++i) {
    if (from[i] != 0 && to[i] != 0) samples.push_back(to[i] - from[i]);
  }
  if (samples.empty()) return nullptr;
  std::sort(samples.begin(), samples.end());
  auto at = [&](double fraction) {
    const auto rank = static_cast<std::size_t>(std::ceil(fraction * samples.size()));
    const std::size_t index = std::min(samples.size() - 1, rank == 0 ? 0 : rank - 1);
    return std::round(static_cast<double>(samples[index]) / 1e3) / 1e3;
  };
  return Json{{"samples", samples.size()},
              {"p50", at(0.5)},
              {"p90", at(0.9)},
              {"p99", at(0.99)},
              {"max", at(1.0)}};
}

Json resultJson(const Options& options, Tracker& tracker, int64_t drop_copy_reports,
                Json drop_copy_caught_up_s, bool completed, double elapsed_s) {
  std::lock_guard lock(tracker.mutex);
  Json result{{"orders", options.orders},
              {"warmup_orders", options.warmup_orders},
              {"window", options.window},
              {"measure_s_limit", options.measure_s},
              {"completed", completed},
              {"orders_sent", tracker.sent},
              {"elapsed_s", std::round(elapsed_s * 1000) / 1000},
              {"orders_finished", tracker.finished},
              {"reports", tracker.reports},
              {"fills", tracker.fills},
              {"rejects", tracker.rejects},
              {"duplicate_reports", tracker.duplicates},
              {"unexpected_messages", tracker.unexpected}};
  if (completed && tracker.window_end_ns > tracker.window_start_ns) {
    const double window_s =
        static_cast<double>(tracker.window_end_ns - tracker.window_start_ns) / 1e9;
    const int64_t reports = tracker.reports_at_end - tracker.reports_at_start;
    const int64_t measured_orders = tracker.finished_at_end - tracker.finished_at_start;
    result["measured"] = {{"orders", measured_orders},
                          {"reports", reports},
                          {"window_s", std::round(window_s * 1000) / 1000},
                          {"reports_per_s", std::round(reports / window_s * 10) / 10},
                          {"orders_per_s", std::round(measured_orders / window_s * 10) / 10},
                          {"us_per_report", std::round(window_s * 1e6 / reports * 10) / 10}};
  }
  const auto first = static_cast<std::size_t>(options.warmup_orders);
  result["ack_latency_ms"] = latencyJson(tracker.sent_ns, tracker.ack_ns, first);
  result["fill_latency_ms"] = latencyJson(tracker.sent_ns, tracker.done_ns, first);
  result["drop_copy"] = {{"connected", options.drop_copy_port != 0},
                         {"reports", drop_copy_reports},
                         {"caught_up_after_last_fill_s", drop_copy_caught_up_s}};
  return result;
}

// This process's CPU time so far: the benchmark script cannot read it from /proc once it exited.
Json cpuJson() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return std::round((static_cast<double>(t.tv_sec) + t.tv_usec / 1e6) * 1000) / 1000;
  };
  return Json{{"user_s", seconds(usage.ru_utime)}, {"system_s", seconds(usage.ru_stime)}};
}

// A run id that keeps this run's ClOrdIDs apart from any earlier run on the same simulator.
std::string makeRunId() {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return "L" + std::to_string(ms % 100'000'000);
}

int run(int argc, char** argv) {
  const Options options = parseOptions(argc, argv);
  const auto started = Clock::now();
  const auto deadline = started + std::chrono::seconds(options.timeout_s);
  Tracker tracker(options.orders);
  tracker.warmup_orders = options.warmup_orders;
  std::atomic<int64_t> drop_copy_reports{0};

  fix::EngineCallbacks order_callbacks;
  order_callbacks.on_app_message = [&](const std::string&, const fix::Message& message) {
    onOrderReport(tracker, message);
    return fix::Delivery::Accepted;
  };
  fix::EngineCallbacks copy_callbacks;
  copy_callbacks.on_app_message = [&](const std::string&, const fix::Message& message) {
    if (message.msg_type == "8") ++drop_copy_reports;
    return fix::Delivery::Accepted;
  };
  const fix::StoreOptions store{fix::StoreKind::File, ""};
  fix::Engine orders(fix::EngineRole::Initiator, sessionSettings(options, false), store,
                     order_callbacks);
  std::unique_ptr<fix::Engine> copy;
  if (options.drop_copy_port != 0) {
    copy = std::make_unique<fix::Engine>(fix::EngineRole::Acceptor, sessionSettings(options, true),
                                         store, copy_callbacks);
    copy->start();
  }
  orders.start();
  const auto logon_deadline =
      std::min(deadline, Clock::now() + std::chrono::seconds(kLogonTimeoutSeconds));
  if (!waitLoggedOn(orders, logon_deadline) || (copy && !waitLoggedOn(*copy, logon_deadline))) {
    std::cerr << "sim_reports_load: a session did not log on within " << kLogonTimeoutSeconds
              << " s\n";
    return 1;
  }
  if (options.warmup_orders == 0) openWindow(tracker, nowNs());  // no warmup to wait for
  const bool completed = sendOrders(options, orders, tracker, makeRunId(), deadline);
  const auto last_fill = Clock::now();
  Json caught_up = nullptr;
  if (copy) {
    const auto drain_deadline = std::min(deadline + std::chrono::seconds(kDropCopyDrainSeconds),
                                         last_fill + std::chrono::seconds(kDropCopyDrainSeconds));
    int64_t expected = 0;
    {
      std::lock_guard lock(tracker.mutex);
      expected = tracker.reports;
    }
    while (drop_copy_reports < expected && Clock::now() < drain_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a bounded wait
    }
    if (drop_copy_reports >= expected) {
      caught_up =
          std::round(std::chrono::duration<double>(Clock::now() - last_fill).count() * 100) / 100;
    }
  }
  const double elapsed_s = std::chrono::duration<double>(Clock::now() - started).count();
  orders.stop();
  if (copy) copy->stop();
  Json result =
      resultJson(options, tracker, drop_copy_reports.load(), caught_up, completed, elapsed_s);
  result["client_cpu"] = cpuJson();
  std::cout << result.dump(2) << "\n";
  if (!options.json_out.empty()) std::ofstream(options.json_out) << result.dump(2) << "\n";
  if (!completed) std::cerr << "sim_reports_load: not every order finished before the timeout\n";
  return completed ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& failure) {
    std::cerr << "sim_reports_load: " << failure.what() << "\n";
    return 1;
  }
}
