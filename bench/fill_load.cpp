// fill_load: the brokers' side of the fill receiver's measurement (bench/fill_receiver.sh).
//
//   fill_load --connect-port P --http-port H --store-dir DIR [--sessions 1|2] [--reports N]
//             [--warmup-reports W] [--window K] [--poll-interval-ms MS] [--marker-dir DIR]
//             [--json-out FILE] [--timeout-s T]
//
// A fix::Engine initiator playing the drop-copy side of one or two brokers (SIM-A -> FILLS and
// SIM-B -> FILLS, as the simulators do) towards the fill receiver's acceptor at 127.0.0.1:P,
// keeping its own FIX state in QuickFIX's FileStore under DIR, no data dictionary, no message log.
// Each session sends ExecutionReports (fills, 150=F 39=2, the fields the simulator's drop copy
// carries) with ExecIDs unique in the run, one thread per session, each as fast as the session
// takes them with at most K reports sent and not yet stored.
//
// Stored: the fill receiver commits reports in batches after fromApp handed them over, and its
// GET /v1/sessions (port H, polled every MS ms) gives per session durable_target_seq_num: every
// report below it is committed (older receivers, which committed inside fromApp, give only
// next_target_seq_num, which meant the same there). So a report is stored once that number is
// above the MsgSeqNum it was sent with. A phase is stored when every session's last report is.
// Whether each was stored once (no duplicates, no refusals) the script checks in /metrics and the
// database.
//
// Phases: warmup (W reports per session, all sessions at once, not measured), then burst (N per
// session, all sessions at once). Reports/s of the burst = reports of all sessions / time from
// the first send to the poll that saw the last one stored; per session the same from its own
// first send. Around the burst it reads the receiver's /metrics (fills_* series), so the result
// carries the store latency histogram of exactly the burst, and writes DIR/burst.start and
// DIR/burst.end (--marker-dir) for the script's CPU snapshots.
//
// Bounded: at most 200,000 reports per session, --timeout-s (600 at most), 127.0.0.1 only.
#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/Timespan.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/time_text.h"
#include "fix_engine.h"

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;
namespace fix = fbg::fix;

constexpr int64_t kReportsPerSessionMax = 200'000;
constexpr int kTimeoutSecondsMax = 600;
constexpr int kLogonTimeoutSeconds = 60;
constexpr int kHttpTimeoutSeconds = 5;
constexpr const char* kHost = "127.0.0.1";
const std::vector<std::string> kBrokers = {"SIM-A", "SIM-B"};

struct Options {
  int connect_port = 0;
  int http_port = 0;
  std::string store_dir;
  int sessions = 1;
  int64_t reports = 10'000;
  int64_t warmup_reports = 500;
  int64_t window = 256;
  int poll_interval_ms = 5;
  std::string marker_dir;
  std::string json_out;
  int timeout_s = 300;
};

void printUsage(std::ostream& out) {
  out << "usage: fill_load --connect-port P --http-port H --store-dir DIR [--sessions 1|2]\n"
         "                 [--reports N] [--warmup-reports W] [--window K]\n"
         "                 [--poll-interval-ms MS] [--marker-dir DIR] [--json-out FILE]\n"
         "                 [--timeout-s T]\n"
         "  Drop-copy initiator(s) SIM-A -> FILLS (and SIM-B -> FILLS) to the fill receiver's\n"
         "  FIX port P; W warmup reports, then N measured reports per session, at most K sent\n"
         "  and not yet stored per session; stored is read from GET /v1/sessions on HTTP port H\n"
         "  every MS ms. Defaults: 1 session, N=10000 (max 200000), W=500, K=256, MS=5,\n"
         "  T=300 (max 600).\n";
}

[[noreturn]] void usageError(const std::string& message) {
  std::cerr << "fill_load: " << message << "\n";
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
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usageError(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--connect-port") {
      o.connect_port = static_cast<int>(parseInteger(flag, value(), 1, 65535));
    } else if (flag == "--http-port") {
      o.http_port = static_cast<int>(parseInteger(flag, value(), 1, 65535));
    } else if (flag == "--store-dir") {
      o.store_dir = value();
    } else if (flag == "--sessions") {
      o.sessions = static_cast<int>(parseInteger(flag, value(), 1, 2));
    } else if (flag == "--reports") {
      o.reports = parseInteger(flag, value(), 1, kReportsPerSessionMax);
    } else if (flag == "--warmup-reports") {
      o.warmup_reports = parseInteger(flag, value(), 0, kReportsPerSessionMax);
    } else if (flag == "--window") {
      o.window = parseInteger(flag, value(), 1, 100'000);
    } else if (flag == "--poll-interval-ms") {
      o.poll_interval_ms = static_cast<int>(parseInteger(flag, value(), 1, 100));
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
  if (o.connect_port == 0) usageError("--connect-port is required");
  if (o.http_port == 0) usageError("--http-port is required");
  if (o.store_dir.empty()) usageError("--store-dir is required");
  if (o.warmup_reports + o.reports > kReportsPerSessionMax) {
    usageError("at most 200000 reports per session (warmup + measured)");
  }
  return o;
}

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

double round3(double value) {
  return std::round(value * 1000) / 1000;
}

double cpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::string initiatorSettings(const Options& o) {
  std::string text =
      "[DEFAULT]\nStartTime=00:00:00\nEndTime=00:00:00\nHeartBtInt=30\nReconnectInterval=1\n"
      "UseDataDictionary=N\nSocketNodelay=Y\nPersistMessages=Y\nResetOnLogon=N\n"
      "FileStorePath=" +
      o.store_dir + "\n";
  for (int s = 0; s < o.sessions; ++s) {
    text += "[SESSION]\nBeginString=FIX.4.4\nConnectionType=initiator\nSenderCompID=" +
            kBrokers[static_cast<std::size_t>(s)] +
            "\nTargetCompID=FILLS\nSocketConnectHost=127.0.0.1\nSocketConnectPort=" +
            std::to_string(o.connect_port) + "\n";
  }
  return text;
}

// One drop-copy session and what the receiver has counted of it.
struct DropCopy {
  std::string broker;
  std::string our_id;    // FIX.4.4:SIM-A->FILLS
  std::string their_id;  // FIX.4.4:FILLS->SIM-A
  // The receiver's MsgSeqNum below which every report is stored (0: not seen yet); from the
  // poller.
  std::atomic<int64_t> receiver_next_seq{0};
  std::atomic<bool> receiver_logged_on{false};
};

// One phase of one session: the MsgSeqNums its reports went out with and when.
struct SessionPhase {
  int64_t first_seq = 0;  // MsgSeqNum of the first report (QuickFIX's next one before it)
  std::atomic<int64_t> last_seq{0};  // of the last report; 0 while still sending
  int64_t first_send_ns = 0;
  int64_t last_send_ns = 0;
  std::atomic<int64_t> stored_ns{0};  // the poll that saw the last report stored
  int64_t sent = 0;
  int64_t other_messages_between = 0;  // MsgSeqNums not ours inside the phase (heartbeats)
  bool send_failed = false;
};

// Polls GET /v1/sessions and wakes whoever waits on progress.
class Poller {
 public:
  Poller(int http_port, int interval_ms, std::vector<std::unique_ptr<DropCopy>>& sessions)
      : http_port_(http_port), interval_ms_(interval_ms), sessions_(sessions) {}
  ~Poller() { stop(); }

  void start() {
    thread_ = std::thread([this] { run(); });
  }
  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Phases whose last report the poller should watch for.
  void watch(std::vector<SessionPhase*> phases) {
    std::lock_guard<std::mutex> lock(mutex_);
    watched_ = std::move(phases);
  }
  // Waits until pred() holds (checked after every poll) or the deadline; true if it held.
  template <typename Pred>
  bool waitFor(Pred pred, Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_until(lock, deadline, pred);
  }
  int64_t polls() const { return polls_.load(); }
  int64_t failures() const { return failures_.load(); }

  // GET path on the receiver's HTTP port; empty on failure. Its own connection per call.
  static std::string get(int http_port, const std::string& path) {
    try {
      Poco::Net::HTTPClientSession session(kHost, static_cast<Poco::UInt16>(http_port));
      session.setTimeout(Poco::Timespan(kHttpTimeoutSeconds, 0));
      Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, path,
                                     Poco::Net::HTTPMessage::HTTP_1_1);
      session.sendRequest(request);
      Poco::Net::HTTPResponse response;
      std::istream& in = session.receiveResponse(response);
      std::string body;
      Poco::StreamCopier::copyToString(in, body);
      return response.getStatus() == Poco::Net::HTTPResponse::HTTP_OK ? body : std::string();
    } catch (const Poco::Exception&) {
      return {};
    }
  }

 private:
  void run() {
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    while (!stopping_) {
      const auto next = Clock::now() + std::chrono::milliseconds(interval_ms_);
      std::string body;
      try {
        if (!session) {
          session = std::make_unique<Poco::Net::HTTPClientSession>(
              kHost, static_cast<Poco::UInt16>(http_port_));
          session->setKeepAlive(true);
          session->setTimeout(Poco::Timespan(kHttpTimeoutSeconds, 0));
        }
        Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, "/v1/sessions",
                                       Poco::Net::HTTPMessage::HTTP_1_1);
        request.setKeepAlive(true);
        session->sendRequest(request);
        Poco::Net::HTTPResponse response;
        std::istream& in = session->receiveResponse(response);
        Poco::StreamCopier::copyToString(in, body);
        if (response.getStatus() != Poco::Net::HTTPResponse::HTTP_OK) body.clear();
      } catch (const Poco::Exception&) {
        session.reset();  // reconnect on the next poll
      }
      const int64_t seen_ns = nowNs();
      ++polls_;
      if (body.empty()) {
        ++failures_;
      } else {
        apply(body, seen_ns);
      }
      std::this_thread::sleep_until(next);  // the polling interval
    }
  }

  void apply(const std::string& body, int64_t seen_ns) {
    Json parsed = Json::parse(body, nullptr, false);
    if (parsed.is_discarded() || !parsed.contains("sessions")) {
      ++failures_;
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (const auto& s : parsed["sessions"]) {
        for (auto& copy : sessions_) {
          if (s.value("session_id", "") != copy->their_id) continue;
          copy->receiver_next_seq = s.contains("durable_target_seq_num")
                                        ? s.value("durable_target_seq_num", int64_t{0})
                                        : s.value("next_target_seq_num", int64_t{0});
          copy->receiver_logged_on = s.value("logged_on", false);
        }
      }
      for (std::size_t i = 0; i < watched_.size(); ++i) {
        SessionPhase& phase = *watched_[i];
        const int64_t last = phase.last_seq.load();
        if (last != 0 && phase.stored_ns.load() == 0 &&
            sessions_[i]->receiver_next_seq.load() > last) {
          phase.stored_ns = seen_ns;
        }
      }
    }
    changed_.notify_all();
  }

  int http_port_;
  int interval_ms_;
  std::vector<std::unique_ptr<DropCopy>>& sessions_;
  std::vector<SessionPhase*> watched_;  // index = session index
  std::mutex mutex_;
  std::condition_variable changed_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> polls_{0};
  std::atomic<int64_t> failures_{0};
};

int64_t ourNextSenderSeq(const fix::Engine& engine, const std::string& session_id) {
  for (const auto& s : engine.sessions()) {
    if (s.session_id == session_id) return s.next_sender_seq_num;
  }
  return 0;
}

// A fill as the simulator's drop copy sends it (simulator/src/fix_codec.cpp).
fix::Message fillReport(const std::string& exec_id, const std::string& cl_ord_id,
                        const std::string& broker_order_id) {
  fix::Message report;
  report.msg_type = "8";
  report.set(37, broker_order_id);
  report.set(11, cl_ord_id);
  report.set(17, exec_id);
  report.set(150, "F");
  report.set(39, "2");
  report.set(55, "AAPL");
  report.set(54, "1");
  report.set(38, "100");
  report.set(32, "100");
  report.set(31, "101.2500");
  report.set(14, "100");
  report.set(151, "0");
  report.set(6, "101.2500");
  report.set(60, fbg::fixTimestamp(std::chrono::system_clock::now()));
  return report;
}

// Sends one session's reports [first, first + count) with at most `window` unstored.
void sendPhase(fix::Engine& engine, Poller& poller, DropCopy& copy, SessionPhase& phase,
               const std::string& run_tag, int64_t first, int64_t count, int64_t window,
               Clock::time_point deadline) {
  phase.first_seq = ourNextSenderSeq(engine, copy.our_id);
  phase.first_send_ns = nowNs();
  for (int64_t n = first; n < first + count; ++n) {
    const int64_t seq = phase.first_seq + (n - first);
    const bool room =
        poller.waitFor([&] { return seq - copy.receiver_next_seq.load() < window; }, deadline);
    if (!room) {
      phase.send_failed = true;
      break;
    }
    const std::string number = std::to_string(n + 1);
    const fix::Message report =
        fillReport("X" + run_tag + "-" + copy.broker + "-" + number,
                   "C" + run_tag + "-" + copy.broker + "-" + number, "B" + number);
    // False only while logged off (nothing was queued): wait for the logon and send again.
    while (!engine.send(copy.our_id, report)) {
      if (Clock::now() >= deadline) {
        phase.send_failed = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a bounded wait
    }
    if (phase.send_failed) break;
    ++phase.sent;
  }
  phase.last_send_ns = nowNs();
  const int64_t last = ourNextSenderSeq(engine, copy.our_id) - 1;
  phase.other_messages_between = last - phase.first_seq + 1 - phase.sent;
  phase.last_seq = last;
}

struct PhaseResult {
  std::vector<std::unique_ptr<SessionPhase>> sessions;
  bool stored = false;
  int64_t first_send_ns = 0;
  int64_t stored_ns = 0;
  double client_cpu_s = 0;
};

void writeMarker(const Options& o, const std::string& name) {
  if (o.marker_dir.empty()) return;
  std::ofstream(std::filesystem::path(o.marker_dir) / name) << nowNs() << "\n";
}

// All sessions send `count` reports each at once; returns when all are stored or the deadline.
PhaseResult runPhase(const Options& o, fix::Engine& engine, Poller& poller,
                     std::vector<std::unique_ptr<DropCopy>>& sessions, const std::string& run_tag,
                     int64_t first, int64_t count, Clock::time_point deadline) {
  PhaseResult result;
  std::vector<SessionPhase*> watched;
  for (std::size_t s = 0; s < sessions.size(); ++s) {
    result.sessions.push_back(std::make_unique<SessionPhase>());
    watched.push_back(result.sessions.back().get());
  }
  poller.watch(watched);
  const double cpu_start = cpuSeconds();
  std::vector<std::thread> senders;
  for (std::size_t s = 0; s < sessions.size(); ++s) {
    senders.emplace_back([&, s] {
      sendPhase(engine, poller, *sessions[s], *result.sessions[s], run_tag, first, count, o.window,
                deadline);
    });
  }
  for (auto& sender : senders) sender.join();
  result.stored = poller.waitFor(
      [&] {
        return std::all_of(result.sessions.begin(), result.sessions.end(),
                           [](const auto& p) { return p->stored_ns.load() != 0; });
      },
      deadline);
  result.client_cpu_s = cpuSeconds() - cpu_start;
  result.first_send_ns = result.sessions[0]->first_send_ns;
  for (const auto& p : result.sessions) {
    result.first_send_ns = std::min(result.first_send_ns, p->first_send_ns);
    result.stored_ns = std::max(result.stored_ns, p->stored_ns.load());
    if (p->send_failed || p->sent != count) result.stored = false;
  }
  return result;
}

// The fill receiver's fills_* series from /metrics: {"series": value}.
Json fillsMetrics(int http_port) {
  Json out = Json::object();
  std::istringstream lines(Poller::get(http_port, "/metrics"));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("fills_", 0) != 0) continue;
    const auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    try {
      out[line.substr(0, space)] = std::stod(line.substr(space + 1));
    } catch (const std::exception&) {
    }
  }
  return out;
}

// fills_store_seconds over the burst: count, mean, and for p50/p90/p99 the smallest bucket bound
// holding that share of the observations (so "p99 <= bound").
Json storeLatencyJson(const Json& start, const Json& end) {
  const std::string prefix = "fills_store_seconds_bucket{le=\"";
  std::vector<std::pair<double, double>> buckets;  // (upper bound s, cumulative count)
  for (auto it = end.begin(); it != end.end(); ++it) {
    if (it.key().rfind(prefix, 0) != 0) continue;
    const std::string bound = it.key().substr(prefix.size(), it.key().size() - prefix.size() - 2);
    const double before = start.contains(it.key()) ? start[it.key()].get<double>() : 0.0;
    buckets.emplace_back(bound == "+Inf" ? INFINITY : std::stod(bound),
                         it.value().get<double>() - before);
  }
  std::sort(buckets.begin(), buckets.end());
  auto delta = [&](const char* key) {
    const double before = start.contains(key) ? start[key].get<double>() : 0.0;
    return end.contains(key) ? end[key].get<double>() - before : 0.0;
  };
  const double count = delta("fills_store_seconds_count");
  if (buckets.empty() || count <= 0) return nullptr;
  auto atMostMs = [&](double share) -> Json {
    for (const auto& [bound, cumulative] : buckets) {
      if (cumulative >= share * count) {
        return std::isinf(bound) ? Json("+Inf") : Json(round3(bound * 1000));
      }
    }
    return "+Inf";
  };
  Json histogram = Json::array();
  for (const auto& [bound, cumulative] : buckets) {
    histogram.push_back(
        {std::isinf(bound) ? Json("+Inf") : Json(round3(bound * 1000)), cumulative});
  }
  return Json{{"observations", count},
              {"mean_ms", round3(delta("fills_store_seconds_sum") / count * 1000)},
              {"p50_at_most_ms", atMostMs(0.5)},
              {"p90_at_most_ms", atMostMs(0.9)},
              {"p99_at_most_ms", atMostMs(0.99)},
              {"p99_9_at_most_ms", atMostMs(0.999)},
              {"cumulative_by_bound_ms", histogram}};
}

Json phaseJson(const PhaseResult& phase, const std::vector<std::unique_ptr<DropCopy>>& sessions,
               int64_t count) {
  Json per_session = Json::array();
  for (std::size_t s = 0; s < sessions.size(); ++s) {
    const SessionPhase& p = *phase.sessions[s];
    Json entry{{"broker", sessions[s]->broker},
               {"sent", p.sent},
               {"first_seq", p.first_seq},
               {"last_seq", p.last_seq.load()},
               {"other_messages_between", p.other_messages_between},
               {"send_s", round3(static_cast<double>(p.last_send_ns - p.first_send_ns) / 1e9)}};
    if (p.stored_ns.load() > p.first_send_ns) {
      const double window_s = static_cast<double>(p.stored_ns.load() - p.first_send_ns) / 1e9;
      entry["window_s"] = round3(window_s);
      entry["reports_per_s"] = std::round(static_cast<double>(p.sent) / window_s * 10) / 10;
    }
    per_session.push_back(entry);
  }
  Json out{{"reports_per_session", count},
           {"sessions", static_cast<int>(sessions.size())},
           {"stored", phase.stored},
           {"client_cpu_s", round3(phase.client_cpu_s)},
           {"per_session", per_session}};
  if (phase.stored && phase.stored_ns > phase.first_send_ns) {
    const double window_s = static_cast<double>(phase.stored_ns - phase.first_send_ns) / 1e9;
    const double total = static_cast<double>(count) * static_cast<double>(sessions.size());
    out["window_s"] = round3(window_s);
    out["reports_per_s"] = std::round(total / window_s * 10) / 10;
    out["reports_per_s_per_session"] =
        std::round(total / window_s / static_cast<double>(sessions.size()) * 10) / 10;
  }
  return out;
}

int run(int argc, char** argv) {
  const Options o = parseOptions(argc, argv);
  const auto deadline = Clock::now() + std::chrono::seconds(o.timeout_s);
  if (!o.marker_dir.empty()) std::filesystem::create_directories(o.marker_dir);
  std::filesystem::create_directories(o.store_dir);
  const std::string run_tag = std::to_string(fbg::wallClockMs());

  std::vector<std::unique_ptr<DropCopy>> sessions;
  for (int s = 0; s < o.sessions; ++s) {
    auto copy = std::make_unique<DropCopy>();
    copy->broker = kBrokers[static_cast<std::size_t>(s)];
    copy->our_id = "FIX.4.4:" + copy->broker + "->FILLS";
    copy->their_id = "FIX.4.4:FILLS->" + copy->broker;
    sessions.push_back(std::move(copy));
  }
  std::atomic<int64_t> unexpected_messages{0};  // the receiver sends no application messages
  fix::EngineCallbacks callbacks;
  callbacks.on_app_message = [&](const std::string&, const fix::Message&) {
    ++unexpected_messages;
    return fix::Delivery::Accepted;
  };
  fix::Engine engine(fix::EngineRole::Initiator, initiatorSettings(o),
                     fix::StoreOptions{fix::StoreKind::File, ""}, callbacks);
  Poller poller(o.http_port, o.poll_interval_ms, sessions);
  poller.start();
  engine.start();

  const auto logon_deadline =
      std::min(deadline, Clock::now() + std::chrono::seconds(kLogonTimeoutSeconds));
  const bool logged_on = poller.waitFor(
      [&] {
        const auto ours = engine.sessions();
        const bool ours_on = std::all_of(ours.begin(), ours.end(),
                                         [](const fix::SessionStatus& s) { return s.logged_on; });
        return ours_on && std::all_of(sessions.begin(), sessions.end(), [](const auto& copy) {
                 return copy->receiver_logged_on.load();
               });
      },
      logon_deadline);
  if (!logged_on) {
    std::cerr << "fill_load: the drop-copy sessions did not log on within " << kLogonTimeoutSeconds
              << " s\n";
    engine.stop();
    return 1;
  }

  Json result{{"settings",
               {{"sessions", o.sessions},
                {"reports_per_session", o.reports},
                {"warmup_reports_per_session", o.warmup_reports},
                {"window_per_session", o.window},
                {"poll_interval_ms", o.poll_interval_ms},
                {"initiator_store", "QuickFIX FileStore"}}}};
  bool completed = true;
  if (o.warmup_reports > 0) {
    std::cerr << "fill_load: warmup: " << o.warmup_reports << " reports per session\n";
    const PhaseResult warmup =
        runPhase(o, engine, poller, sessions, run_tag, 0, o.warmup_reports, deadline);
    result["warmup"] = phaseJson(warmup, sessions, o.warmup_reports);
    completed = warmup.stored;
  }
  if (completed) {
    std::cerr << "fill_load: burst: " << o.reports << " reports per session on " << o.sessions
              << " session(s)\n";
    const Json metrics_start = fillsMetrics(o.http_port);
    writeMarker(o, "burst.start");
    const PhaseResult burst =
        runPhase(o, engine, poller, sessions, run_tag, o.warmup_reports, o.reports, deadline);
    writeMarker(o, "burst.end");
    const Json metrics_end = fillsMetrics(o.http_port);
    Json burst_json = phaseJson(burst, sessions, o.reports);
    burst_json["store_latency"] = storeLatencyJson(metrics_start, metrics_end);
    Json counters = Json::object();
    for (const char* name : {"fills_reports_received_total", "fills_reports_stored_total",
                             "fills_reports_duplicate_total", "fills_reports_invalid_total",
                             "fills_store_failures_total", "fills_store_batches_total",
                             "fills_reports_refused_total"}) {
      const double before = metrics_start.value(name, 0.0);
      counters[name] = metrics_end.contains(name) ? Json(metrics_end[name].get<double>() - before)
                                                  : Json(nullptr);
    }
    burst_json["receiver_counters"] = counters;
    result["burst"] = burst_json;
    completed = burst.stored;
  }
  poller.stop();
  engine.stop();
  result["completed"] = completed;
  result["polls"] = poller.polls();
  result["poll_failures"] = poller.failures();
  result["unexpected_messages"] = unexpected_messages.load();
  std::cout << result.dump(2) << "\n";
  if (!o.json_out.empty()) std::ofstream(o.json_out) << result.dump(2) << "\n";
  if (!completed) std::cerr << "fill_load: not every report was stored before the deadline\n";
  return completed ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& failure) {
    std::cerr << "fill_load: " << failure.what() << "\n";
    return 1;
  }
}
