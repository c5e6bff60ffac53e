// intake_load: closed-loop load generator for the ledger's order intake (POST
// /v1/accounts/{id}/orders).
//
// N client threads, each with one keep-alive HTTP connection to 127.0.0.1:PORT, place BUY LIMIT
// orders back to back on account (client_index % M) for --duration-s seconds after --warmup-s.
// Reports accepted orders per second, latency percentiles of every measured request and the
// counts by outcome, as a text table on stdout and optionally as JSON (--json-out).
//
// It only ever connects to 127.0.0.1, stops after at most 600 s, and keeps a bounded, preallocated
// buffer of latency samples (--samples-max in total across the clients).
#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/Timespan.h>

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/auth_token.h"

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

constexpr const char* kHost = "127.0.0.1";  // never anything else
constexpr int kDurationSecondsMax = 600;
constexpr int kWarmupSecondsMax = 120;
constexpr int kClientsMax = 512;
constexpr int kAccountsMax = 256;  // every account id goes into the trader token's claims
constexpr int64_t kSamplesMaxLimit = 100'000'000;  // 800 MB of samples: the hard ceiling
constexpr int kRequestTimeoutSeconds = 30;
constexpr int kReconnectPauseMs = 20;
constexpr std::size_t kErrorExamplesMax = 5;
constexpr std::size_t kAccountIdLengthMax = 32;  // ledger rule: 1..32 chars of [A-Za-z0-9._:-]

struct Options {
  int port = 0;
  std::string jwt_secret;
  int clients = 32;
  int accounts = 32;
  int duration_s = 30;
  int warmup_s = 3;
  std::string account_prefix = "BENCH";
  std::string json_out;
  bool setup = false;
  int64_t samples_max = 5'000'000;
  std::string symbol = "AAPL";
  std::string limit_price = "1.00";
  std::string deposit_amount = "900000000.00";
};

void printUsage(std::ostream& out) {
  out << "usage: intake_load --port P --jwt-secret S [--clients N] [--accounts M]\n"
         "                   [--duration-s D] [--warmup-s W] [--account-prefix PFX]\n"
         "                   [--json-out FILE] [--setup] [--samples-max K]\n"
         "  Places BUY LIMIT orders (1 x AAPL at 1.00) on 127.0.0.1:P with N clients\n"
         "  (one keep-alive connection each) on accounts PFX-0..PFX-(M-1).\n"
         "  --setup creates the accounts (409 is fine) and deposits 900000000.00 in each.\n"
         "  Defaults: N=32, M=32, D=30 (max 600), W=3, PFX=BENCH, K=5000000 samples in all.\n";
}

[[noreturn]] void usageError(const std::string& message) {
  std::cerr << "intake_load: " << message << "\n";
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
  if (used != text.size()) usageError(flag + " needs an integer, got '" + text + "'");
  if (value < low || value > high) {
    usageError(flag + " must be in " + std::to_string(low) + ".." + std::to_string(high) +
               ", got " + text);
  }
  return value;
}

bool isIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

Options parseOptions(int argc, char** argv) {
  Options options;
  bool have_port = false;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usageError(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--port") {
      options.port = static_cast<int>(parseInteger(flag, value(), 1, 65535));
      have_port = true;
    } else if (flag == "--jwt-secret") {
      options.jwt_secret = value();
    } else if (flag == "--clients") {
      options.clients = static_cast<int>(parseInteger(flag, value(), 1, kClientsMax));
    } else if (flag == "--accounts") {
      options.accounts = static_cast<int>(parseInteger(flag, value(), 1, kAccountsMax));
    } else if (flag == "--duration-s") {
      options.duration_s = static_cast<int>(parseInteger(flag, value(), 1, kDurationSecondsMax));
    } else if (flag == "--warmup-s") {
      options.warmup_s = static_cast<int>(parseInteger(flag, value(), 0, kWarmupSecondsMax));
    } else if (flag == "--account-prefix") {
      options.account_prefix = value();
    } else if (flag == "--json-out") {
      options.json_out = value();
    } else if (flag == "--setup") {
      options.setup = true;
    } else if (flag == "--samples-max") {
      options.samples_max = parseInteger(flag, value(), 1, kSamplesMaxLimit);
    } else if (flag == "--help" || flag == "-h") {
      printUsage(std::cout);
      std::exit(0);
    } else {
      usageError("unknown flag " + flag);
    }
  }
  if (!have_port) usageError("--port is required");
  if (options.jwt_secret.empty()) usageError("--jwt-secret is required");
  const std::string longest_id =
      options.account_prefix + "-" + std::to_string(options.accounts - 1);
  if (options.account_prefix.empty() ||
      !std::all_of(options.account_prefix.begin(), options.account_prefix.end(), isIdChar) ||
      longest_id.size() > kAccountIdLengthMax) {
    usageError(
        "--account-prefix must be [A-Za-z0-9._:-] and leave account ids of at most 32 chars");
  }
  return options;
}

std::string accountId(const Options& options, int index) {
  return options.account_prefix + "-" + std::to_string(index);
}

int64_t unixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A run id that makes this run's Idempotency-Keys and deposit references unique.
std::string makeRunId() {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  char text[48];
  std::snprintf(text, sizeof text, "%llx%x", static_cast<unsigned long long>(ns),
                static_cast<unsigned>(::getpid()));
  return text;
}

struct Reply {
  int status = 0;
  std::string body;
};

// One request on a keep-alive session; throws Poco::Exception on transport failure.
Reply exchange(Poco::Net::HTTPClientSession& session, const std::string& path,
               const std::string& token, const std::string& body,
               const std::vector<std::pair<std::string, std::string>>& headers) {
  Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, path,
                                 Poco::Net::HTTPMessage::HTTP_1_1);
  request.setKeepAlive(true);
  request.set("Authorization", "Bearer " + token);
  request.setContentType("application/json");
  request.setContentLength(static_cast<std::streamsize>(body.size()));
  for (const auto& [name, value] : headers) request.set(name, value);
  std::ostream& out = session.sendRequest(request);
  out << body;
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  Reply reply;
  reply.status = static_cast<int>(response.getStatus());
  Poco::StreamCopier::copyToString(in, reply.body);
  return reply;
}

std::unique_ptr<Poco::Net::HTTPClientSession> openSession(int port) {
  auto session =
      std::make_unique<Poco::Net::HTTPClientSession>(kHost, static_cast<Poco::UInt16>(port));
  session->setKeepAlive(true);
  session->setTimeout(Poco::Timespan(kRequestTimeoutSeconds, 0));
  return session;
}

std::string errorCode(const std::string& body) {
  const Json parsed = Json::parse(body, nullptr, false);
  if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_object() &&
      parsed["error"].contains("code") && parsed["error"]["code"].is_string()) {
    return parsed["error"]["code"].get<std::string>();
  }
  return "";
}

// --setup: accounts PFX-0..M-1 exist and hold plenty of cash. Returns false on any failure.
bool setupAccounts(const Options& options, const std::string& run_id) {
  const std::string admin =
      fbg::mintToken(fbg::Principal{"intake-load-admin", fbg::Role::Admin, {}}, options.jwt_secret,
                     unixSeconds() + 3600);
  auto session = openSession(options.port);
  for (int i = 0; i < options.accounts; ++i) {
    const std::string id = accountId(options, i);
    try {
      const Reply created = exchange(*session, "/v1/accounts", admin,
                                     Json{{"account_id", id}, {"currency", "USD"}}.dump(), {});
      if (created.status != 201 && created.status != 409) {
        std::cerr << "intake_load: creating " << id << " answered " << created.status << ": "
                  << created.body << "\n";
        return false;
      }
      const Reply deposited = exchange(*session, "/v1/accounts/" + id + "/deposits", admin,
                                       Json{{"amount", options.deposit_amount},
                                            {"reference", "il-" + run_id + "-" + std::to_string(i)}}
                                           .dump(),
                                       {});
      if (deposited.status != 201 && deposited.status != 200) {
        std::cerr << "intake_load: deposit to " << id << " answered " << deposited.status << ": "
                  << deposited.body << "\n";
        return false;
      }
    } catch (const Poco::Exception& failure) {
      std::cerr << "intake_load: setup of " << id << " failed: " << failure.displayText() << "\n";
      return false;
    }
  }
  std::cout << "setup: " << options.accounts << " accounts " << accountId(options, 0) << ".."
            << accountId(options, options.accounts - 1) << " ready, " << options.deposit_amount
            << " USD deposited in each\n";
  return true;
}

// Shared run state. phase: 0 warmup, 1 measuring, 2 stopped.
struct RunClock {
  std::atomic<int> phase{0};
  std::atomic<int64_t> measure_start_ns{0};
  std::atomic<int64_t> measure_end_ns{INT64_MAX};
  std::atomic<bool> samples_exhausted{false};
};

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

struct ClientStats {
  // One sample per answered request: (latency_ns << 1) | (1 if it was accepted). Reserved up
  // front; never grows past its capacity.
  std::vector<int64_t> samples;
  std::size_t capacity = 0;
  int64_t accepted = 0;
  int64_t account_busy = 0;
  int64_t other_errors = 0;
  int64_t transport_errors = 0;
  int64_t reconnects = 0;
  std::map<std::string, int64_t> by_outcome;  // "202", "409 ACCOUNT_BUSY", "transport", ...
  std::vector<std::string> error_examples;
};

void runClient(const Options& options, int index, const std::string& token,
               const std::string& run_id, RunClock& clock, ClientStats& stats) {
  const std::string account = accountId(options, index % options.accounts);
  const std::string path = "/v1/accounts/" + account + "/orders";
  const std::string body = Json{
      {"symbol", options.symbol},
      {"side", "BUY"},
      {"type", "LIMIT"},
      {"quantity", 1},
      {"limit_price", options.limit_price},
      {"time_in_force", "DAY"}}.dump();
  const std::string key_prefix = "il-" + run_id + "-" + std::to_string(index) + "-";
  std::unique_ptr<Poco::Net::HTTPClientSession> session;
  std::vector<std::pair<std::string, std::string>> headers{{"Idempotency-Key", ""},
                                                           {"X-Channel", "API"}};
  for (uint64_t sequence = 0;; ++sequence) {
    const int phase = clock.phase.load(std::memory_order_acquire);
    if (phase == 2) break;
    const bool measured = phase == 1;
    headers[0].second = key_prefix + std::to_string(sequence);
    if (!session) session = openSession(options.port);
    std::string outcome;
    bool transport_failed = false;
    std::string failure_text;
    Reply reply;
    const int64_t started = nowNs();
    try {
      reply = exchange(*session, path, token, body, headers);
    } catch (const Poco::Exception& failure) {
      transport_failed = true;
      failure_text = failure.displayText();
    } catch (const std::exception& failure) {
      transport_failed = true;
      failure_text = failure.what();
    }
    const int64_t finished = nowNs();
    // A connection the server closed is reopened by the session itself on the next request; after
    // a transport failure the session is dropped and a new one connects.
    if (transport_failed) session.reset();
    const bool counted =
        measured && finished <= clock.measure_end_ns.load(std::memory_order_acquire);
    if (counted) {
      if (!transport_failed && stats.samples.size() >= stats.capacity) {
        // Refuse to grow: end the measurement for every client now.
        if (!clock.samples_exhausted.exchange(true)) {
          clock.measure_end_ns.store(finished, std::memory_order_release);
          clock.phase.store(2, std::memory_order_release);
        }
        break;
      }
      // Transport failures (refused or broken connections) get no latency sample: their time
      // says nothing about the service. They are counted below.
      if (!transport_failed) {
        stats.samples.push_back(((finished - started) << 1) | (reply.status == 202 ? 1 : 0));
      }
      if (transport_failed) {
        ++stats.transport_errors;
        outcome = "transport error";
      } else if (reply.status == 202) {
        ++stats.accepted;
        outcome = "202";
      } else {
        const std::string code = errorCode(reply.body);
        outcome = std::to_string(reply.status) + (code.empty() ? "" : " " + code);
        if (reply.status == 409 && code == "ACCOUNT_BUSY") {
          ++stats.account_busy;
        } else {
          ++stats.other_errors;
        }
      }
      ++stats.by_outcome[outcome];
      if (outcome != "202" && stats.error_examples.size() < kErrorExamplesMax) {
        stats.error_examples.push_back(
            outcome + ": " + (transport_failed ? failure_text : reply.body.substr(0, 300)));
      }
    }
    if (transport_failed) {
      ++stats.reconnects;
      std::this_thread::sleep_for(std::chrono::milliseconds(kReconnectPauseMs));
    }
  }
}

double percentileMs(const std::vector<int64_t>& sorted, double fraction) {
  if (sorted.empty()) return 0.0;
  // Nearest rank: the smallest sample with at least `fraction` of all samples at or below it.
  const auto rank =
      static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(sorted.size())));
  const std::size_t at = std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1);
  return static_cast<double>(sorted[at]) / 1e6;
}

double round3(double value) {
  return std::round(value * 1000.0) / 1000.0;
}

int run(int argc, char** argv) {
  const Options options = parseOptions(argc, argv);
  const std::string run_id = makeRunId();

  if (options.setup && !setupAccounts(options, run_id)) return 1;

  fbg::Principal trader{"intake-load", fbg::Role::Trader, {}};
  for (int i = 0; i < options.accounts; ++i) trader.accounts.push_back(accountId(options, i));
  const int64_t run_seconds = options.warmup_s + options.duration_s;
  const std::string token =
      fbg::mintToken(trader, options.jwt_secret, unixSeconds() + run_seconds + 600);

  const auto per_client =
      static_cast<std::size_t>((options.samples_max + options.clients - 1) / options.clients);
  std::vector<ClientStats> stats(static_cast<std::size_t>(options.clients));
  for (auto& client : stats) {
    client.capacity = per_client;
    client.samples.reserve(per_client);
  }

  std::cout << "intake_load: " << options.clients << " clients on " << options.accounts
            << " accounts (" << accountId(options, 0) << "..), 127.0.0.1:" << options.port
            << ", warmup " << options.warmup_s << " s, measure " << options.duration_s << " s\n"
            << std::flush;

  RunClock clock;
  std::vector<std::thread> threads;
  threads.reserve(stats.size());
  for (int i = 0; i < options.clients; ++i) {
    threads.emplace_back(runClient, std::cref(options), i, std::cref(token), std::cref(run_id),
                         std::ref(clock), std::ref(stats[static_cast<std::size_t>(i)]));
  }

  // Sleep in short steps so that a run cut short by a full sample buffer ends promptly.
  auto sleepUntil = [&](Clock::time_point until) {
    while (Clock::now() < until && clock.phase.load() != 2) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  };
  sleepUntil(Clock::now() + std::chrono::seconds(options.warmup_s));
  const int64_t start_ns = nowNs();
  clock.measure_start_ns.store(start_ns);
  clock.phase.store(1, std::memory_order_release);
  sleepUntil(Clock::now() + std::chrono::seconds(options.duration_s));
  if (!clock.samples_exhausted.load()) {
    clock.measure_end_ns.store(nowNs());
    clock.phase.store(2, std::memory_order_release);
  }
  for (auto& thread : threads) thread.join();
  const int64_t end_ns = clock.measure_end_ns.load();
  const double window_s = static_cast<double>(end_ns - start_ns) / 1e9;

  // Merge.
  std::vector<int64_t> all;
  std::size_t total_samples = 0;
  for (const auto& client : stats) total_samples += client.samples.size();
  all.reserve(total_samples);
  std::vector<int64_t> accepted_only;
  accepted_only.reserve(total_samples);
  int64_t accepted = 0, busy = 0, other = 0, transport = 0, reconnects = 0;
  std::map<std::string, int64_t> by_outcome;
  std::vector<std::string> examples;
  for (auto& client : stats) {
    for (const int64_t sample : client.samples) {
      all.push_back(sample >> 1);
      if ((sample & 1) != 0) accepted_only.push_back(sample >> 1);
    }
    std::vector<int64_t>().swap(client.samples);
    accepted += client.accepted;
    busy += client.account_busy;
    other += client.other_errors;
    transport += client.transport_errors;
    reconnects += client.reconnects;
    for (const auto& [outcome, count] : client.by_outcome) by_outcome[outcome] += count;
    for (const auto& example : client.error_examples) {
      if (examples.size() < kErrorExamplesMax) examples.push_back(example);
    }
  }
  std::sort(all.begin(), all.end());
  std::sort(accepted_only.begin(), accepted_only.end());
  const auto requests = static_cast<int64_t>(all.size()) + transport;
  double mean_ms = 0.0;
  for (const int64_t sample : all) mean_ms += static_cast<double>(sample);
  if (!all.empty()) mean_ms = mean_ms / static_cast<double>(all.size()) / 1e6;

  const double accepted_per_s = window_s > 0 ? static_cast<double>(accepted) / window_s : 0.0;
  const double requests_per_s = window_s > 0 ? static_cast<double>(requests) / window_s : 0.0;
  const double p50 = percentileMs(all, 0.50), p90 = percentileMs(all, 0.90),
               p99 = percentileMs(all, 0.99), p999 = percentileMs(all, 0.999),
               max = all.empty() ? 0.0 : static_cast<double>(all.back()) / 1e6;
  const double accepted_p50 = percentileMs(accepted_only, 0.50),
               accepted_p99 = percentileMs(accepted_only, 0.99);

  std::ostringstream table;
  char line[160];
  std::snprintf(line, sizeof line, "%-26s %14s\n", "metric", "value");
  table << line << std::string(41, '-') << "\n";
  auto row = [&](const char* name, const std::string& value) {
    std::snprintf(line, sizeof line, "%-26s %14s\n", name, value.c_str());
    table << line;
  };
  auto fixed = [](double value, int digits) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", digits, value);
    return std::string(text);
  };
  row("clients", std::to_string(options.clients));
  row("accounts", std::to_string(options.accounts));
  row("measured window (s)", fixed(window_s, 2));
  row("requests", std::to_string(requests));
  row("accepted (202)", std::to_string(accepted));
  row("account busy (409)", std::to_string(busy));
  row("other errors", std::to_string(other));
  row("transport errors", std::to_string(transport));
  row("accepted orders/s", fixed(accepted_per_s, 1));
  row("requests/s", fixed(requests_per_s, 1));
  row("latency mean (ms)", fixed(mean_ms, 3));
  row("latency p50 (ms)", fixed(p50, 3));
  row("latency p90 (ms)", fixed(p90, 3));
  row("latency p99 (ms)", fixed(p99, 3));
  row("latency p99.9 (ms)", fixed(p999, 3));
  row("latency max (ms)", fixed(max, 3));
  row("accepted only p50 (ms)", fixed(accepted_p50, 3));
  row("accepted only p99 (ms)", fixed(accepted_p99, 3));
  std::cout << table.str()
            << "(latency: every answered request in the window; transport errors have none)\n";
  if (by_outcome.size() > 1 || (by_outcome.size() == 1 && by_outcome.begin()->first != "202")) {
    std::cout << "outcomes:\n";
    for (const auto& [outcome, count] : by_outcome)
      std::cout << "  " << outcome << ": " << count << "\n";
  }
  for (const auto& example : examples) std::cout << "  example " << example << "\n";

  if (clock.samples_exhausted.load()) {
    std::cerr << "intake_load: refusing to record more than " << options.samples_max
              << " latency samples (" << per_client << " per client, --samples-max); the "
              << "measurement was cut short after " << fixed(window_s, 2)
              << " s. Raise --samples-max or shorten --duration-s.\n";
  }

  if (!options.json_out.empty()) {
    Json report{
        {"tool", "intake_load"},
        {"clients", options.clients},
        {"accounts", options.accounts},
        {"account_prefix", options.account_prefix},
        {"duration_s", options.duration_s},
        {"warmup_s", options.warmup_s},
        {"window_s", round3(window_s)},
        {"requests", requests},
        {"accepted", accepted},
        {"account_busy", busy},
        {"other_errors", other},
        {"transport_errors", transport},
        {"reconnects", reconnects},
        {"accepted_per_s", round3(accepted_per_s)},
        {"requests_per_s", round3(requests_per_s)},
        {"latency_ms",
         {{"mean", round3(mean_ms)},
          {"p50", round3(p50)},
          {"p90", round3(p90)},
          {"p99", round3(p99)},
          {"p99_9", round3(p999)},
          {"max", round3(max)}}},
        {"accepted_latency_ms", {{"p50", round3(accepted_p50)}, {"p99", round3(accepted_p99)}}},
        {"outcomes", by_outcome},
        {"error_examples", examples},
        {"samples_exhausted", clock.samples_exhausted.load()},
    };
    std::ofstream out(options.json_out);
    out << report.dump(2) << "\n";
    if (!out) {
      std::cerr << "intake_load: cannot write " << options.json_out << "\n";
      return 1;
    }
  }
  if (clock.samples_exhausted.load()) return 3;
  if (accepted == 0) {
    std::cerr << "intake_load: no order was accepted\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& failure) {
    std::cerr << "intake_load: " << failure.what() << "\n";
    return 1;
  }
}
