// gateway_load: the broker and the order source of the gateway's measurement (bench/gateway.sh),
// and the bare QuickFIX initiator the gateway is compared with.
//
//   gateway_load gateway --accept-port P --redis-port R --store-dir DIR [options]
//   gateway_load bare --accept-port P --store-dir DIR --postgres-uri URI
//                     --fix-settings-file F --fix-config-dir D --run-dir D [options]
//
// In both modes the tool is the broker: a fix::Engine acceptor (SIM-A -> GATEWAY) keeping its
// FIX state in QuickFIX's FileStore under --store-dir, with no data dictionary and no message log,
// that answers every NewOrderSingle at once with an ExecutionReport acknowledgement (150=0, 39=0)
// and records when it arrived. QuickFIX 1.15.1's acceptor listens on every interface (it has no
// accept-address setting); the port is open for the run's length and only the initiator is told.
//
// gateway: the orders are XADDed to orders:{broker} (kind NEW, a 16-character order_id, the
//   payload JSON the ledger writes) and the gateway process sends them; an order is done when its
//   ACKED event is in the order-events stream (the gateway applied the acknowledgement in its
//   database and published the event). Issue time: just before the XADD.
// bare: the tool is also the initiator (GATEWAY -> SIM-A) with the session settings the gateway
//   loads (--fix-settings-file with its placeholders filled, --accept-port as the connect port)
//   and the gateway's default store: PgMessageStore at --postgres-uri with synchronous_commit off.
//   It sends the same NewOrderSingles itself; an order is done when its acknowledgement arrives.
//   Issue time: just before the send call.
//
// Phases, in this order: warmup (--warmup-orders sent as fast as they can be issued, waited for,
// not measured), burst (--burst-orders as fast as they can be issued) and, for each
// --paced RATE:SECONDS, paced-RATE (RATE orders per second for SECONDS, each issued at its
// scheduled time or at once when late). For each measured phase it writes DIR/<phase>.start
// just before the first order is issued and DIR/<phase>.end once every order is done
// (--marker-dir), so that the script can measure the CPU in between. Per phase: orders/s from
// the first issue to the last order done, and the latency percentiles of issue -> NewOrderSingle
// received by the broker and of issue -> done.
//
// Bounded: at most 200,000 orders, --timeout-s (600 at most) for the whole run, 127.0.0.1 only.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/fix_settings_text.h"
#include "common/identifiers.h"
#include "common/pg_pool.h"
#include "common/redis.h"
#include "common/time_text.h"
#include "fix_engine.h"

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;
namespace fix = fbg::fix;

constexpr int64_t kOrdersMax = 200'000;
constexpr int kTimeoutSecondsMax = 600;
constexpr int kLogonTimeoutSeconds = 60;
constexpr const char* kBrokerSession = "FIX.4.4:SIM-A->GATEWAY";
constexpr const char* kInitiatorSession = "FIX.4.4:GATEWAY->SIM-A";
constexpr const char* kEventsStream = "order-events";
constexpr const char* kSymbol = "AAPL";
constexpr const char* kQuantity = "10";
constexpr const char* kLimitPrice = "200.00";

enum class Mode { Gateway, Bare };

struct Options {
  Mode mode = Mode::Gateway;
  int accept_port = 0;
  std::string store_dir;
  std::string broker = "SIM-A";
  // gateway
  int redis_port = 0;
  // bare
  std::string postgres_uri;
  std::string fix_settings_file;
  std::string fix_config_dir;
  std::string run_dir;
  // phases
  int64_t warmup_orders = 500;
  int64_t burst_orders = 10'000;
  std::vector<std::pair<int, int>> paced;  // (orders per second, seconds), in this order
  std::string marker_dir;
  std::string json_out;
  int timeout_s = 240;
};

void printUsage(std::ostream& out) {
  out << "usage: gateway_load gateway --accept-port P --redis-port R --store-dir DIR [options]\n"
         "       gateway_load bare --accept-port P --store-dir DIR --postgres-uri URI\n"
         "                         --fix-settings-file F --fix-config-dir D --run-dir D [options]\n"
         "options: [--warmup-orders W] [--burst-orders N] [--paced RATE:SECONDS]...\n"
         "         [--marker-dir DIR] [--json-out FILE] [--timeout-s T] [--broker NAME]\n"
         "  Plays the broker (acceptor SIM-A -> GATEWAY on P, FileStore under DIR) and issues\n"
         "  W warmup orders, N orders in a burst, then RATE orders/s for SECONDS for each\n"
         "  --paced in turn: XADDed to orders:NAME on Redis port R (gateway) or sent by its own\n"
         "  initiator with the gateway's session settings and a PgMessageStore at URI,\n"
         "  synchronous_commit off (bare). Defaults: W=500, N=10000, no paced phase, T=240\n"
         "  (max 600), NAME=SIM-A; at most 200000 orders in all; N=0 skips the burst.\n";
}

[[noreturn]] void usageError(const std::string& message) {
  std::cerr << "gateway_load: " << message << "\n";
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
  Options o;
  if (argc < 2) usageError("a mode is required (gateway or bare)");
  const std::string mode = argv[1];
  if (mode == "--help" || mode == "-h") {
    printUsage(std::cout);
    std::exit(0);
  }
  if (mode != "gateway" && mode != "bare") usageError("unknown mode " + mode);
  o.mode = mode == "gateway" ? Mode::Gateway : Mode::Bare;
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usageError(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--accept-port") {
      o.accept_port = static_cast<int>(parseInteger(flag, value(), 1, 65535));
    } else if (flag == "--redis-port") {
      o.redis_port = static_cast<int>(parseInteger(flag, value(), 1, 65535));
    } else if (flag == "--store-dir") {
      o.store_dir = value();
    } else if (flag == "--broker") {
      o.broker = value();
    } else if (flag == "--postgres-uri") {
      o.postgres_uri = value();
    } else if (flag == "--fix-settings-file") {
      o.fix_settings_file = value();
    } else if (flag == "--fix-config-dir") {
      o.fix_config_dir = value();
    } else if (flag == "--run-dir") {
      o.run_dir = value();
    } else if (flag == "--warmup-orders") {
      o.warmup_orders = parseInteger(flag, value(), 0, kOrdersMax);
    } else if (flag == "--burst-orders") {
      o.burst_orders = parseInteger(flag, value(), 0, kOrdersMax);
    } else if (flag == "--paced") {
      const std::string spec = value();
      const std::size_t colon = spec.find(':');
      if (colon == std::string::npos) usageError("--paced needs RATE:SECONDS");
      o.paced.emplace_back(
          static_cast<int>(parseInteger(flag, spec.substr(0, colon), 1, 100'000)),
          static_cast<int>(parseInteger(flag, spec.substr(colon + 1), 1, kTimeoutSecondsMax)));
    } else if (flag == "--marker-dir") {
      o.marker_dir = value();
    } else if (flag == "--json-out") {
      o.json_out = value();
    } else if (flag == "--timeout-s") {
      o.timeout_s = static_cast<int>(parseInteger(flag, value(), 1, kTimeoutSecondsMax));
    } else if (flag == "--help" || flag == "-h") {
      printUsage(std::cout);
      std::exit(0);
    } else {
      usageError("unknown flag " + flag);
    }
  }
  if (o.accept_port == 0) usageError("--accept-port is required");
  if (o.store_dir.empty()) usageError("--store-dir is required");
  if (!fbg::isValidBrokerName(o.broker)) usageError("--broker is not a broker name");
  if (o.mode == Mode::Gateway && o.redis_port == 0) usageError("gateway needs --redis-port");
  if (o.mode == Mode::Bare && (o.postgres_uri.empty() || o.fix_settings_file.empty() ||
                               o.fix_config_dir.empty() || o.run_dir.empty())) {
    usageError("bare needs --postgres-uri, --fix-settings-file, --fix-config-dir, --run-dir");
  }
  int64_t total = o.warmup_orders + o.burst_orders;
  for (const auto& [rate, seconds] : o.paced) total += static_cast<int64_t>(rate) * seconds;
  if (total > kOrdersMax) usageError("more than 200000 orders in all");
  if (total == 0) usageError("no orders to send");
  return o;
}

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// A group of orders issued the same way; its orders are [begin, end) of the run's.
struct Phase {
  std::string name;
  int64_t begin = 0;
  int64_t end = 0;
  int rate = 0;  // orders per second; 0: as fast as they can be issued
  bool measured = true;
  std::atomic<int64_t> done{0};
  std::atomic<int64_t> failed{0};  // REJECTED or UNCONFIRMED instead of ACKED (gateway)
  int64_t first_issue_ns = 0;
  int64_t last_issue_ns = 0;
  bool completed = false;
  rusage usage_start{};
  rusage usage_end{};

  int64_t size() const { return end - begin; }
};

// Every order of the run; written by several threads, each slot once (0: not yet).
struct Orders {
  explicit Orders(int64_t count)
      : ids(static_cast<std::size_t>(count)),
        phase_of(static_cast<std::size_t>(count)),
        issued_ns(new std::atomic<int64_t>[static_cast<std::size_t>(count)]),
        broker_ns(new std::atomic<int64_t>[static_cast<std::size_t>(count)]),
        done_ns(new std::atomic<int64_t>[static_cast<std::size_t>(count)]) {
    for (int64_t i = 0; i < count; ++i) {
      issued_ns[i] = 0;
      broker_ns[i] = 0;
      done_ns[i] = 0;
    }
  }

  int64_t indexOf(const std::string& cl_ord_id) const {
    const auto found = index.find(cl_ord_id);
    return found == index.end() ? -1 : found->second;
  }

  std::vector<std::string> ids;
  std::vector<Phase*> phase_of;
  std::unordered_map<std::string, int64_t> index;  // built before any engine starts; read-only
  std::unique_ptr<std::atomic<int64_t>[]> issued_ns;
  std::unique_ptr<std::atomic<int64_t>[]> broker_ns;
  std::unique_ptr<std::atomic<int64_t>[]> done_ns;
};

// What the broker and the completion paths saw that they should not have.
struct Anomalies {
  std::atomic<int64_t> duplicate_orders{0};  // a second NewOrderSingle for a ClOrdID
  std::atomic<int64_t> poss_resends{0};      // NewOrderSingles with PossResend(97)=Y
  std::atomic<int64_t> status_requests{0};   // 35=H (a reply was overdue)
  std::atomic<int64_t> unknown_orders{0};    // ClOrdIDs this run did not issue
  std::atomic<int64_t> other_messages{0};    // application messages of another type
  std::atomic<int64_t> duplicate_done{0};    // a second acknowledgement or event for an order

  Json json() const {
    return Json{
        {"duplicate_orders", duplicate_orders.load()}, {"poss_resends", poss_resends.load()},
        {"status_requests", status_requests.load()},   {"unknown_orders", unknown_orders.load()},
        {"other_messages", other_messages.load()},     {"duplicate_done", duplicate_done.load()}};
  }
};

// Marks order i done at `now`; true the first time.
bool markDone(Orders& orders, int64_t i, int64_t now, bool failed) {
  int64_t expected = 0;
  if (!orders.done_ns[i].compare_exchange_strong(expected, now)) return false;
  Phase& phase = *orders.phase_of[static_cast<std::size_t>(i)];
  if (failed) ++phase.failed;
  ++phase.done;
  return true;
}

std::string brokerSettings(const Options& o) {
  return "[DEFAULT]\nStartTime=00:00:00\nEndTime=00:00:00\nHeartBtInt=10\n"
         "UseDataDictionary=N\nSocketNodelay=Y\nPersistMessages=Y\nResetOnLogon=N\n"
         "FileStorePath=" +
         o.store_dir +
         "\n[SESSION]\nBeginString=FIX.4.4\nConnectionType=acceptor\n"
         "SenderCompID=SIM-A\nTargetCompID=GATEWAY\nSocketAcceptPort=" +
         std::to_string(o.accept_port) + "\n";
}

std::string text(const std::string* value) {
  return value ? *value : std::string();
}

// The broker's immediate acknowledgement of a NewOrderSingle, with the fields FIX44.xml requires.
fix::Message acknowledgement(const fix::Message& order, int64_t index) {
  const std::string cl_ord_id = text(order.find(11));
  const std::string quantity = text(order.find(38));
  fix::Message report;
  report.msg_type = "8";
  report.set(37, "B" + std::to_string(index + 1));
  report.set(11, cl_ord_id);
  report.set(17, "E" + cl_ord_id);
  report.set(150, "0");
  report.set(39, "0");
  report.set(55, text(order.find(55)));
  report.set(54, text(order.find(54)));
  report.set(38, quantity);
  report.set(32, "0");
  report.set(31, "0");
  report.set(14, "0");
  report.set(151, quantity);
  report.set(6, "0");
  report.set(60, fbg::fixTimestamp(std::chrono::system_clock::now()));
  return report;
}

// The broker's callback (its engine's thread): record, then acknowledge at once.
fix::Delivery onBrokerMessage(fix::Engine& broker, Orders& orders, Anomalies& anomalies,
                              const fix::Message& message) {
  const int64_t now = nowNs();
  if (message.msg_type == "H") {
    ++anomalies.status_requests;
    return fix::Delivery::UnsupportedMessageType;  // the gateway resends instead
  }
  if (message.msg_type != "D") {
    ++anomalies.other_messages;
    return fix::Delivery::UnsupportedMessageType;
  }
  const std::string* poss_resend = message.findInHeader(97);
  if (poss_resend && *poss_resend == "Y") ++anomalies.poss_resends;
  const std::string* cl_ord_id = message.find(11);
  const int64_t index = cl_ord_id ? orders.indexOf(*cl_ord_id) : -1;
  if (index < 0) {
    ++anomalies.unknown_orders;
  } else {
    int64_t expected = 0;
    if (!orders.broker_ns[index].compare_exchange_strong(expected, now)) {
      ++anomalies.duplicate_orders;
    }
  }
  broker.send(kBrokerSession, acknowledgement(message, index < 0 ? 0 : index));
  return fix::Delivery::Accepted;
}

std::string payloadJson(const Options& o, const std::string& order_id, const std::string& now) {
  // The fields the ledger's outbox writes for an order (ledger_service/src/ledger_rows.cpp).
  return Json{{"order_id", order_id},
              {"account_id", "BENCH-1"},
              {"symbol", kSymbol},
              {"side", "BUY"},
              {"type", "LIMIT"},
              {"quantity", std::stoll(kQuantity)},
              {"limit_price", kLimitPrice},
              {"time_in_force", "DAY"},
              {"broker", o.broker},
              {"channel", "API"},
              {"status", "PENDING_NEW"},
              {"filled_quantity", 0},
              {"average_fill_price", nullptr},
              {"reserved_amount", "2000.00"},
              {"reject_reason", nullptr},
              {"created_at", now},
              {"updated_at", now},
              {"version", 1}}
      .dump();
}

// The NewOrderSingle the gateway sends for such an order (gateway/src/fix_orders.cpp).
fix::Message newOrderSingle(const std::string& order_id) {
  fix::Message message;
  message.msg_type = "D";
  message.set(11, order_id);
  message.set(55, kSymbol);
  message.set(54, "1");
  message.set(60, fbg::fixTimestamp(std::chrono::system_clock::now()));
  message.set(38, kQuantity);
  message.set(40, "2");
  message.set(44, kLimitPrice);
  message.set(59, "0");
  return message;
}

bool waitLoggedOn(const fix::Engine& engine, Clock::time_point deadline) {
  while (Clock::now() < deadline) {
    const auto sessions = engine.sessions();
    if (!sessions.empty() && sessions[0].logged_on) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a bounded wait
  }
  return false;
}

// Reads order-events from the entry after `from` and marks each order's ACKED event (or
// REJECTED/UNCONFIRMED: done, failed) until stopped. Its own Redis connection.
class EventWatcher {
 public:
  EventWatcher(int redis_port, Orders& orders, Anomalies& anomalies)
      : redis_({"127.0.0.1", redis_port, 3000, 1, 3000, 500}),
        orders_(orders),
        anomalies_(anomalies) {}
  ~EventWatcher() { stop(); }

  // The id after which this run's events will be: the stream's newest now.
  bool start() {
    auto newest = redis_.command({"XREVRANGE", kEventsStream, "+", "-", "COUNT", "1"});
    if (!newest || newest->kind != fbg::RedisReply::Kind::Array) return false;
    last_id_ = newest->elements.empty() ? "0-0" : newest->elements[0].elements[0].text;
    thread_ = std::thread([this] { run(); });
    return true;
  }
  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int64_t failures() const { return failures_.load(); }

 private:
  void run() {
    while (!stopping_) {
      auto reply = redis_.command(
          {"XREAD", "COUNT", "1000", "BLOCK", "500", "STREAMS", kEventsStream, last_id_});
      if (!reply || reply->kind == fbg::RedisReply::Kind::Error) {
        ++failures_;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // Redis trouble: retry
        continue;
      }
      const int64_t now = nowNs();
      if (reply->kind != fbg::RedisReply::Kind::Array || reply->elements.empty()) continue;
      const auto& entries = reply->elements[0].elements.at(1).elements;
      for (const auto& entry : entries) {
        last_id_ = entry.elements.at(0).text;
        std::string kind, order_id;
        const auto& fields = entry.elements.at(1).elements;
        for (std::size_t f = 0; f + 1 < fields.size(); f += 2) {
          if (fields[f].text == "kind") kind = fields[f + 1].text;
          if (fields[f].text == "order_id") order_id = fields[f + 1].text;
        }
        const int64_t index = orders_.indexOf(order_id);
        if (index < 0) continue;  // an earlier run's
        if (kind != "ACKED" && kind != "REJECTED" && kind != "UNCONFIRMED") continue;
        if (!markDone(orders_, index, now, kind != "ACKED")) ++anomalies_.duplicate_done;
      }
    }
  }

  fbg::RedisPool redis_;
  Orders& orders_;
  Anomalies& anomalies_;
  std::string last_id_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> failures_{0};
};

void writeMarker(const Options& o, const Phase& phase, const char* suffix) {
  if (o.marker_dir.empty() || !phase.measured) return;
  std::ofstream(std::filesystem::path(o.marker_dir) / (phase.name + suffix)) << nowNs() << "\n";
}

// Issues order i; false if it could not be issued before the deadline.
using Issuer = std::function<bool(int64_t, Clock::time_point)>;

// Issues the phase's orders (paced or not) and waits until all are done or the deadline.
bool runPhase(const Options& o, Phase& phase, Orders& orders, const Issuer& issue,
              Clock::time_point deadline) {
  getrusage(RUSAGE_SELF, &phase.usage_start);
  writeMarker(o, phase, ".start");
  const int64_t start = nowNs();
  phase.first_issue_ns = start;
  for (int64_t i = phase.begin; i < phase.end; ++i) {
    if (phase.rate > 0) {
      const int64_t due = start + (i - phase.begin) * int64_t{1'000'000'000} / phase.rate;
      const int64_t wait = due - nowNs();
      if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
    }
    orders.issued_ns[i] = nowNs();
    if (!issue(i, deadline)) {
      orders.issued_ns[i] = 0;
      std::cerr << "gateway_load: " << phase.name << ": order " << i - phase.begin
                << " could not be issued before the deadline\n";
      break;
    }
  }
  phase.last_issue_ns = nowNs();
  while (phase.done.load() < phase.size() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // polling a bounded wait
  }
  phase.completed = phase.done.load() == phase.size();
  writeMarker(o, phase, ".end");
  getrusage(RUSAGE_SELF, &phase.usage_end);
  return phase.completed;
}

double round3(double value) {
  return std::round(value * 1000) / 1000;
}

// Percentiles (nearest rank) and mean, in milliseconds, of to[i] - from[i] over the phase.
Json latencyJson(const Phase& phase, const std::unique_ptr<std::atomic<int64_t>[]>& from,
                 const std::unique_ptr<std::atomic<int64_t>[]>& to) {
  std::vector<int64_t> samples;
  samples.reserve(static_cast<std::size_t>(phase.size()));
  for (int64_t i = phase.begin; i < phase.end; ++i) {
    const int64_t a = from[i].load(), b = to[i].load();
    if (a != 0 && b != 0) samples.push_back(b - a);
  }
  if (samples.empty()) return nullptr;
  std::sort(samples.begin(), samples.end());
  auto at = [&](double fraction) {
    const auto rank = static_cast<std::size_t>(std::ceil(fraction * samples.size()));
    const std::size_t index = std::min(samples.size() - 1, rank == 0 ? 0 : rank - 1);
    return round3(static_cast<double>(samples[index]) / 1e6);
  };
  double sum = 0;
  for (const int64_t s : samples) sum += static_cast<double>(s);
  return Json{{"samples", samples.size()},
              {"mean", round3(sum / samples.size() / 1e6)},
              {"p50", at(0.5)},
              {"p90", at(0.9)},
              {"p99", at(0.99)},
              {"p99_9", at(0.999)},
              {"max", at(1.0)}};
}

double cpuSeconds(const rusage& usage) {
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

Json phaseJson(const Phase& phase, const Orders& orders) {
  int64_t issued = 0, last_done = 0;
  for (int64_t i = phase.begin; i < phase.end; ++i) {
    if (orders.issued_ns[i] != 0) ++issued;
    last_done = std::max(last_done, orders.done_ns[i].load());
  }
  Json out{
      {"name", phase.name},
      {"orders", phase.size()},
      {"rate_target_per_s", phase.rate == 0 ? Json(nullptr) : Json(phase.rate)},
      {"issued", issued},
      {"done", phase.done.load()},
      {"failed", phase.failed.load()},
      {"completed", phase.completed},
      {"issue_s", round3(static_cast<double>(phase.last_issue_ns - phase.first_issue_ns) / 1e9)},
      {"client_cpu_s", round3(cpuSeconds(phase.usage_end) - cpuSeconds(phase.usage_start))}};
  if (phase.completed && last_done > phase.first_issue_ns) {
    const double window_s = static_cast<double>(last_done - phase.first_issue_ns) / 1e9;
    out["window_s"] = round3(window_s);
    out["orders_per_s"] = std::round(static_cast<double>(phase.size()) / window_s * 10) / 10;
    if (issued > 1) {
      out["issue_rate_per_s"] =
          std::round(static_cast<double>(issued) /
                     (static_cast<double>(phase.last_issue_ns - phase.first_issue_ns) / 1e9) * 10) /
          10;
    }
  }
  out["latency_ms"] = {{"issue_to_broker", latencyJson(phase, orders.issued_ns, orders.broker_ns)},
                       {"issue_to_done", latencyJson(phase, orders.issued_ns, orders.done_ns)}};
  return out;
}

int run(int argc, char** argv) {
  const Options o = parseOptions(argc, argv);
  const auto deadline = Clock::now() + std::chrono::seconds(o.timeout_s);
  std::vector<std::unique_ptr<Phase>> phases;
  int64_t total = 0;
  auto addPhase = [&](const std::string& name, int64_t count, int rate, bool measured) {
    if (count <= 0) return;
    auto phase = std::make_unique<Phase>();
    phase->name = name;
    phase->begin = total;
    phase->end = total + count;
    phase->rate = rate;
    phase->measured = measured;
    total += count;
    phases.push_back(std::move(phase));
  };
  addPhase("warmup", o.warmup_orders, 0, false);
  addPhase("burst", o.burst_orders, 0, true);
  for (const auto& [rate, seconds] : o.paced) {
    addPhase("paced-" + std::to_string(rate), static_cast<int64_t>(rate) * seconds, rate, true);
  }

  Orders orders(total);
  const int64_t run_ms = fbg::wallClockMs();
  for (const auto& phase : phases) {
    for (int64_t i = phase->begin; i < phase->end; ++i) {
      const auto at = static_cast<std::size_t>(i);
      orders.ids[at] = fbg::makeOrderId(run_ms, i + 1);
      orders.phase_of[at] = phase.get();
      orders.index.emplace(orders.ids[at], i);
    }
  }
  if (!o.marker_dir.empty()) std::filesystem::create_directories(o.marker_dir);
  std::filesystem::create_directories(o.store_dir);

  Anomalies anomalies;
  fix::Engine* broker_ref = nullptr;
  fix::EngineCallbacks broker_callbacks;
  broker_callbacks.on_app_message = [&](const std::string&, const fix::Message& message) {
    return onBrokerMessage(*broker_ref, orders, anomalies, message);
  };
  fix::Engine broker(fix::EngineRole::Acceptor, brokerSettings(o),
                     fix::StoreOptions{fix::StoreKind::File, ""}, broker_callbacks);
  broker_ref = &broker;

  std::unique_ptr<fix::Engine> initiator;
  std::unique_ptr<EventWatcher> watcher;
  std::unique_ptr<fbg::RedisPool> redis;
  Issuer issue;
  Json settings{{"mode", o.mode == Mode::Gateway ? "gateway" : "bare"},
                {"broker_store", "QuickFIX FileStore"}};
  if (o.mode == Mode::Bare) {
    auto session_settings =
        fbg::loadFixSettings({o.fix_settings_file, o.fix_config_dir, o.run_dir, 0, o.accept_port});
    if (!session_settings) throw std::runtime_error(session_settings.error().message);
    fix::EngineCallbacks callbacks;
    callbacks.on_app_message = [&](const std::string&, const fix::Message& message) {
      const int64_t now = nowNs();
      const std::string* cl_ord_id = message.find(11);
      const std::string* exec_type = message.find(150);
      const int64_t index = cl_ord_id ? orders.indexOf(*cl_ord_id) : -1;
      if (message.msg_type != "8" || index < 0 || !exec_type || *exec_type != "0") {
        ++anomalies.other_messages;
      } else if (!markDone(orders, index, now, false)) {
        ++anomalies.duplicate_done;
      }
      return fix::Delivery::Accepted;
    };
    initiator = std::make_unique<fix::Engine>(
        fix::EngineRole::Initiator, *session_settings,
        fix::StoreOptions{fix::StoreKind::Postgres, fbg::withoutSynchronousCommit(o.postgres_uri)},
        callbacks);
    settings["initiator_store"] = "PgMessageStore, synchronous_commit off";
    settings["initiator_settings_file"] = o.fix_settings_file;
    issue = [&](int64_t i, Clock::time_point until) {
      const fix::Message message = newOrderSingle(orders.ids[static_cast<std::size_t>(i)]);
      // False only while logged off (nothing was queued): wait for the logon and send again.
      while (!initiator->send(kInitiatorSession, message)) {
        if (Clock::now() >= until) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a bounded wait
      }
      return true;
    };
  } else {
    redis = std::make_unique<fbg::RedisPool>(
        fbg::RedisConfig{"127.0.0.1", o.redis_port, 3000, 1, 3000, 500});
    watcher = std::make_unique<EventWatcher>(o.redis_port, orders, anomalies);
    if (!watcher->start()) throw std::runtime_error("cannot read the order-events stream");
    const std::string stream = "orders:" + o.broker;
    settings["stream"] = stream;
    issue = [&, stream](int64_t i, Clock::time_point until) {
      const std::string& id = orders.ids[static_cast<std::size_t>(i)];
      const std::string now = fbg::rfc3339Timestamp(std::chrono::system_clock::now());
      while (Clock::now() < until) {
        auto added = redis->command({"XADD", stream, "*", "kind", "NEW", "order_id", id, "payload",
                                     payloadJson(o, id, now)});
        if (added && added->kind != fbg::RedisReply::Kind::Error) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // Redis trouble: retry
      }
      return false;
    };
  }

  broker.start();
  if (initiator) initiator->start();
  const auto logon_deadline =
      std::min(deadline, Clock::now() + std::chrono::seconds(kLogonTimeoutSeconds));
  if (!waitLoggedOn(broker, logon_deadline) ||
      (initiator && !waitLoggedOn(*initiator, logon_deadline))) {
    std::cerr << "gateway_load: the session did not log on within " << kLogonTimeoutSeconds
              << " s\n";
    return 1;
  }
  bool completed = true;
  for (const auto& phase : phases) {
    std::cerr << "gateway_load: " << phase->name << ": " << phase->size() << " orders"
              << (phase->rate ? " at " + std::to_string(phase->rate) + "/s" : "") << "\n";
    if (!runPhase(o, *phase, orders, issue, deadline)) {
      completed = false;
      std::cerr << "gateway_load: " << phase->name << ": " << phase->done.load() << " of "
                << phase->size() << " orders done before the deadline\n";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let the phase's tail settle
  }
  if (watcher) watcher->stop();
  if (initiator) initiator->stop();
  broker.stop();

  Json result{{"settings", settings}, {"completed", completed}, {"phases", Json::array()}};
  for (const auto& phase : phases) result["phases"].push_back(phaseJson(*phase, orders));
  result["anomalies"] = anomalies.json();
  if (watcher) result["event_stream_read_failures"] = watcher->failures();
  std::cout << result.dump(2) << "\n";
  if (!o.json_out.empty()) std::ofstream(o.json_out) << result.dump(2) << "\n";
  return completed ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& failure) {
    std::cerr << "gateway_load: " << failure.what() << "\n";
    return 1;
  }
}
