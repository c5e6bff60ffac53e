// e2e_driver: the client side of the end-to-end tests (tests/e2e/e2e_faults.sh, scripts/chaos).
//
//   e2e_driver setup --ledger-port P --jwt-secret S [--accounts M] [--prefix PFX]
//       creates accounts PFX-0..PFX-(M-1), deposits kDeposit cash and kShares of each symbol
//       (409 on an existing account is fine; the deposits replay by reference).
//   e2e_driver load  --ledger-port P --jwt-secret S [--accounts M] [--prefix PFX] --out FILE
//                    [--orders N] [--clients C] [--rate R] [--duration-s D] [--seed K]
//                    [--mix all|marketable] [--connection new|keep-alive]
//       C client threads place orders (a seeded mix of BUY/SELL, LIMIT/MARKET, both brokers,
//       some canceled right after) until N orders are placed or D seconds have passed, at most
//       R orders/s in all (0: no pacing). --mix marketable (bench/e2e.sh): only marketable
//       LIMIT orders, half BUY at kMarketableBuy, half SELL at kMarketableSell, none canceled,
//       so each one ends filled. A request without a definite answer (connection refused, 503,
//       ACCOUNT_BUSY) is retried with the same Idempotency-Key for up to kRetrySeconds. Every
//       order and its outcome is written to FILE (tab separated; the last two columns: ms from
//       the POST's first send to its definite answer, and that send's wall-clock time in ms
//       since the epoch). The last line printed is the CPU the load used (getrusage), for
//       bench/e2e.sh's accounting. --connection: each request on a new connection (new, the
//       default), or each client on one keep-alive connection, opened again after a failure
//       (keep-alive, as an automated channel or an API gateway in front of the ledger holds its
//       connections; bench/e2e.sh).
//   e2e_driver check --ledger-port P --jwt-secret S [--accounts M] [--prefix PFX] --in FILE
//                    --fills-port F --sim SIM-A=PORT --sim SIM-B=PORT --gateway SIM-A=PORT
//                    --gateway SIM-B=PORT [--deadline-s T]
//       waits (polling, at most T seconds) until every accepted order is final (FILLED,
//       CANCELED, REJECTED, EXPIRED) or UNCONFIRMED, the fill receiver holds every report the
//       simulators issued, the ledger's filled quantities add up to the brokers' fills and no
//       gateway still waits for a broker's reply (no order RECEIVED or SENT); then
//       checks FLOW.md's invariants against the simulators' ground truth and prints a table.
//       Exit 0: no violation; 1: violations (each printed); 2: usage or unreachable service.
//
// Only ever connects to 127.0.0.1 (through tests/support's HTTP client). Counts and durations
// are bounded (kOrdersMax, kDurationSecondsMax, kDeadlineSecondsMax).
#include <sys/resource.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/auth_token.h"
#include "common/money.h"
#include "support/http_client.h"

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;
using fbg::Money;
using fbg::test::HttpConnection;
using fbg::test::httpRequest;
using fbg::test::HttpResponse;

constexpr int kOrdersMax = 100'000;
constexpr int kClientsMax = 256;  // each a thread with one request in flight
constexpr int kAccountsMax = 256;
constexpr int kDurationSecondsMax = 3600;
constexpr int kDeadlineSecondsMax = 3600;
constexpr int kRetrySeconds = 60;  // a request without a definite answer is retried this long
constexpr int kGetAttempts = 50;   // a read is tried this often, 200 ms apart, then exit 2
constexpr int kPollIntervalMs = 500;
constexpr int kRecancelIntervalSeconds = 5;
constexpr int kPageSize = 500;
constexpr int kSimPageSize = 1000;
constexpr int64_t kShares = 100'000;  // of each symbol, per account
const char* const kDeposit = "100000000.00";
const std::vector<std::string> kSymbols = {"AAPL", "MSFT"};
const std::vector<std::string> kBrokers = {"SIM-A", "SIM-B"};
// The simulators run with default_price = kPrice and no price walk (tests/e2e/e2e_faults.sh,
// scripts/lib/e2e_stack.sh), so marketable and resting limits are known in advance.
const char* const kMarketableBuy = "101.00";
const char* const kMarketableSell = "99.00";
const char* const kRestingBuy = "80.00";
const char* const kRestingSell = "120.00";

struct Options {
  std::string mode;
  int ledger_port = 0;
  std::string jwt_secret;
  int accounts = 8;
  std::string prefix = "E2E";
  int orders = 0;
  int clients = 16;
  int rate = 0;
  int duration_s = 0;
  uint64_t seed = 1;
  bool marketable_only = false;
  bool keep_alive = false;
  std::string out;
  std::string in;
  int fills_port = 0;
  std::map<std::string, int> sim_ports;
  std::map<std::string, int> gateway_ports;
  int deadline_s = 120;
};

[[noreturn]] void usageError(const std::string& message) {
  std::cerr << "e2e_driver: " << message << "\n(see the header of tests/e2e/e2e_driver.cpp)\n";
  std::exit(2);
}

int intArg(const std::string& name, const std::string& text, int low, int high) {
  try {
    std::size_t used = 0;
    const int value = std::stoi(text, &used);
    if (used == text.size() && value >= low && value <= high) return value;
  } catch (const std::exception&) {
  }
  usageError(name + " needs " + std::to_string(low) + ".." + std::to_string(high));
}

Options parseOptions(int argc, char** argv) {
  if (argc < 2) usageError("a mode is needed: setup, load or check");
  Options o;
  o.mode = argv[1];
  for (int i = 2; i < argc; i += 2) {
    const std::string key = argv[i];
    if (i + 1 >= argc) usageError(key + " needs a value");
    const std::string value = argv[i + 1];
    if (key == "--ledger-port")
      o.ledger_port = intArg(key, value, 1, 65535);
    else if (key == "--jwt-secret")
      o.jwt_secret = value;
    else if (key == "--accounts")
      o.accounts = intArg(key, value, 1, kAccountsMax);
    else if (key == "--prefix")
      o.prefix = value;
    else if (key == "--orders")
      o.orders = intArg(key, value, 1, kOrdersMax);
    else if (key == "--clients")
      o.clients = intArg(key, value, 1, kClientsMax);
    else if (key == "--rate")
      o.rate = intArg(key, value, 0, 10000);
    else if (key == "--duration-s")
      o.duration_s = intArg(key, value, 1, kDurationSecondsMax);
    else if (key == "--seed")
      o.seed = static_cast<uint64_t>(intArg(key, value, 0, 1 << 30));
    else if (key == "--mix") {
      if (value != "all" && value != "marketable") usageError("--mix needs all or marketable");
      o.marketable_only = value == "marketable";
    } else if (key == "--connection") {
      if (value != "new" && value != "keep-alive")
        usageError("--connection needs new or keep-alive");
      o.keep_alive = value == "keep-alive";
    } else if (key == "--out")
      o.out = value;
    else if (key == "--in")
      o.in = value;
    else if (key == "--fills-port")
      o.fills_port = intArg(key, value, 1, 65535);
    else if (key == "--deadline-s")
      o.deadline_s = intArg(key, value, 1, kDeadlineSecondsMax);
    else if (key == "--sim") {
      const auto eq = value.find('=');
      if (eq == std::string::npos) usageError("--sim needs BROKER=PORT");
      o.sim_ports[value.substr(0, eq)] = intArg(key, value.substr(eq + 1), 1, 65535);
    } else if (key == "--gateway") {
      const auto eq = value.find('=');
      if (eq == std::string::npos) usageError("--gateway needs BROKER=PORT");
      o.gateway_ports[value.substr(0, eq)] = intArg(key, value.substr(eq + 1), 1, 65535);
    } else {
      usageError("unknown option " + key);
    }
  }
  if (o.ledger_port == 0 || o.jwt_secret.empty())
    usageError("--ledger-port and --jwt-secret are required");
  if (o.mode == "load" && (o.out.empty() || (o.orders == 0 && o.duration_s == 0)))
    usageError("load needs --out and --orders or --duration-s");
  if (o.mode == "check" &&
      (o.in.empty() || o.fills_port == 0 || o.sim_ports.size() != 2 || o.gateway_ports.size() != 2))
    usageError("check needs --in, --fills-port, --sim and --gateway for SIM-A and SIM-B");
  return o;
}

int64_t unixNow() {
  return static_cast<int64_t>(std::time(nullptr));
}

std::string accountId(const Options& o, int index) {
  return o.prefix + "-" + std::to_string(index);
}

std::string adminToken(const Options& o) {
  return fbg::mintToken(fbg::Principal{"e2e-admin", fbg::Role::Admin, {}}, o.jwt_secret,
                        unixNow() + 2 * kDeadlineSecondsMax);
}

std::string traderToken(const Options& o) {
  fbg::Principal trader{"e2e-trader", fbg::Role::Trader, {}};
  for (int i = 0; i < o.accounts; ++i) trader.accounts.push_back(accountId(o, i));
  return fbg::mintToken(trader, o.jwt_secret, unixNow() + 2 * kDeadlineSecondsMax);
}

std::map<std::string, std::string> auth(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

// A number sent as a JSON integer or as decimal text, as money (scale 10^4).
// null (a report without a price) counts as 0.
int64_t units(const Json& value) {
  if (value.is_null()) return 0;
  if (value.is_number_integer()) return value.get<int64_t>() * Money::kScale;
  if (value.is_string()) {
    auto parsed = Money::parse(value.get<std::string>());
    if (parsed) return parsed->units();
  }
  throw std::runtime_error("not a number: " + value.dump());
}

int64_t quantity(const Json& value) {
  if (value.is_null()) return 0;
  if (value.is_number_integer()) return value.get<int64_t>();
  if (value.is_string()) return std::stoll(value.get<std::string>());
  throw std::runtime_error("not a quantity: " + value.dump());
}

std::string moneyText(int64_t u) {
  return Money::fromUnits(u).toString();
}

// GET with retries; the body parsed as JSON. Throws when the service stays unreachable.
// With allow_404, a 404 answer gives null.
Json getJson(int port, const std::string& path, const std::string& token = {},
             bool allow_404 = false) {
  std::string last;
  for (int attempt = 0; attempt < kGetAttempts; ++attempt) {
    const HttpResponse r = httpRequest(
        port, "GET", path, token.empty() ? std::map<std::string, std::string>{} : auth(token));
    if (allow_404 && r.status == 404) return Json();
    if (r.status == 200) {
      Json body = Json::parse(r.body, nullptr, false);
      if (body.is_object()) return body;
    }
    last = std::to_string(r.status) + " " + r.body.substr(0, 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  throw std::runtime_error("GET 127.0.0.1:" + std::to_string(port) + path + " failed: " + last);
}

// ---------------------------------------------------------------------------------------------
// setup
// ---------------------------------------------------------------------------------------------

int runSetup(const Options& o) {
  const std::string token = adminToken(o);
  auto post = [&](const std::string& path, const Json& body, std::initializer_list<int> ok) {
    for (int attempt = 0; attempt < kGetAttempts; ++attempt) {
      const HttpResponse r = httpRequest(o.ledger_port, "POST", path, auth(token), body.dump());
      if (std::find(ok.begin(), ok.end(), r.status) != ok.end()) return;
      if (r.status != 0 && r.status != 503 && r.status != 409) {
        throw std::runtime_error("POST " + path + ": " + std::to_string(r.status) + " " + r.body);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    throw std::runtime_error("POST " + path + ": no answer");
  };
  for (int i = 0; i < o.accounts; ++i) {
    const std::string id = accountId(o, i);
    post("/v1/accounts", {{"account_id", id}, {"currency", "USD"}}, {201, 409});
    post("/v1/accounts/" + id + "/deposits", {{"amount", kDeposit}, {"reference", id + "-cash"}},
         {200, 201});
    for (const auto& symbol : kSymbols) {
      post("/v1/accounts/" + id + "/security-deposits",
           {{"symbol", symbol},
            {"quantity", kShares},
            {"price", "100.00"},
            {"reference", id + "-" + symbol}},
           {200, 201});
    }
  }
  std::cout << "set up " << o.accounts << " accounts " << accountId(o, 0) << ".."
            << accountId(o, o.accounts - 1) << ": " << kDeposit << " USD and " << kShares
            << " shares of each symbol\n";
  return 0;
}

// ---------------------------------------------------------------------------------------------
// load
// ---------------------------------------------------------------------------------------------

struct PlacedOrder {
  int index = 0;
  std::string key;
  std::string account;
  std::string broker;
  std::string symbol;
  std::string side;
  std::string type;
  int64_t qty = 0;
  std::string limit;  // "-" for MARKET
  bool cancel = false;
  int place_status = 0;     // final HTTP status of the POST (0: never answered)
  double place_ms = 0;      // from the POST's first send to its definite answer (retries included)
  double sent_unix_ms = 0;  // the POST's first send, wall clock (the components' tables' clock)
  std::string place_error;  // error code of a refusal
  std::string order_id;     // "-" unless accepted
  int cancel_status = 0;    // final HTTP status of the DELETE (0: none or never answered)
};

PlacedOrder makeOrder(const Options& o, int index, std::mt19937_64& rng) {
  PlacedOrder p;
  p.index = index;
  p.key = "e2e-" + std::to_string(o.seed) + "-" + std::to_string(index);
  p.account = accountId(o, static_cast<int>(rng() % static_cast<uint64_t>(o.accounts)));
  p.broker = kBrokers[rng() % kBrokers.size()];
  p.symbol = kSymbols[rng() % kSymbols.size()];
  p.qty = 1 + static_cast<int64_t>(rng() % 50);
  const int roll = static_cast<int>(rng() % 100);
  p.type = "LIMIT";
  if (o.marketable_only) {
    if (roll < 50) {
      p.side = "BUY", p.limit = kMarketableBuy;
    } else {
      p.side = "SELL", p.limit = kMarketableSell;
    }
    return p;
  }
  if (roll < 35) {
    p.side = "BUY", p.limit = kMarketableBuy;
  } else if (roll < 55) {
    p.side = "SELL", p.limit = kMarketableSell;
  } else if (roll < 70) {
    p.side = "SELL", p.type = "MARKET", p.limit = "-";
  } else if (roll < 85) {
    p.side = "BUY", p.limit = kRestingBuy, p.cancel = true;
  } else if (roll < 95) {
    p.side = "SELL", p.limit = kRestingSell, p.cancel = true;
  } else {
    p.side = "BUY", p.limit = kMarketableBuy, p.cancel = true;  // races its fill
  }
  return p;
}

std::string orderBody(const PlacedOrder& p) {
  Json body = {{"symbol", p.symbol}, {"side", p.side},         {"type", p.type},
               {"quantity", p.qty},  {"time_in_force", "DAY"}, {"broker", p.broker}};
  if (p.type == "LIMIT") body["limit_price"] = p.limit;
  return body.dump();
}

bool definite(const HttpResponse& r) {
  if (r.status == 0 || r.status >= 500) return false;
  return !(r.status == 409 && r.body.find("ACCOUNT_BUSY") != std::string::npos);
}

// Sends until a definite answer or kRetrySeconds; returns the last response.
HttpResponse untilDefinite(const std::function<HttpResponse()>& send) {
  const auto give_up = Clock::now() + std::chrono::seconds(kRetrySeconds);
  int pause_ms = 50;
  while (true) {
    HttpResponse r = send();
    if (definite(r) || Clock::now() >= give_up) return r;
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
    pause_ms = std::min(pause_ms * 2, 1000);
  }
}

std::string errorCode(const std::string& body) {
  const Json parsed = Json::parse(body, nullptr, false);
  if (parsed.is_object() && parsed.contains("error") && parsed["error"].contains("code"))
    return parsed["error"]["code"].get<std::string>();
  return "-";
}

// User and system CPU this process has used so far, in ms.
double cpuMillis() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto ms = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) * 1000.0 + static_cast<double>(t.tv_usec) / 1000.0;
  };
  return ms(usage.ru_utime) + ms(usage.ru_stime);
}

int runLoad(const Options& o) {
  const std::string token = traderToken(o);
  const int limit = o.orders > 0 ? o.orders : kOrdersMax;
  const auto start = Clock::now();
  const auto stop_at =
      o.duration_s > 0 ? start + std::chrono::seconds(o.duration_s) : Clock::time_point::max();
  std::atomic<int> next{0};
  std::mutex mutex;
  std::vector<PlacedOrder> placed;
  std::vector<std::thread> clients;
  std::atomic<int> connections_opened{0};
  for (int c = 0; c < o.clients; ++c) {
    clients.emplace_back([&, c] {
      HttpConnection connection(o.ledger_port);
      // One request, on the client's connection or a new one (--connection).
      auto send = [&](const std::string& method, const std::string& path,
                      const std::map<std::string, std::string>& headers, const std::string& body) {
        return o.keep_alive ? connection.request(method, path, headers, body)
                            : httpRequest(o.ledger_port, method, path, headers, body);
      };
      while (true) {
        const int index = next.fetch_add(1);
        if (index >= limit) break;
        if (o.rate > 0) {
          std::this_thread::sleep_until(
              start + std::chrono::microseconds(int64_t{1'000'000} * index / o.rate));
        }
        if (Clock::now() >= stop_at) break;
        std::mt19937_64 rng(o.seed * 1'000'003 + static_cast<uint64_t>(index));
        PlacedOrder p = makeOrder(o, index, rng);
        const std::string body = orderBody(p);
        auto headers = auth(token);
        headers["Idempotency-Key"] = p.key;
        headers["X-Channel"] = c % 2 == 0 ? "API" : "AUTO";
        const auto sent_at = Clock::now();
        p.sent_unix_ms = std::chrono::duration<double, std::milli>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        const HttpResponse r = untilDefinite(
            [&] { return send("POST", "/v1/accounts/" + p.account + "/orders", headers, body); });
        p.place_status = r.status;
        p.place_ms = std::chrono::duration<double, std::milli>(Clock::now() - sent_at).count();
        p.order_id = "-";
        if (r.status == 200 || r.status == 202) {
          const Json order = Json::parse(r.body, nullptr, false);
          if (order.is_object() && order.contains("order_id"))
            p.order_id = order["order_id"].get<std::string>();
        } else {
          p.place_error = errorCode(r.body);
        }
        if (p.cancel && p.order_id != "-") {
          const HttpResponse d = untilDefinite(
              [&] { return send("DELETE", "/v1/orders/" + p.order_id, auth(token), ""); });
          p.cancel_status = d.status;
        }
        std::lock_guard lock(mutex);
        placed.push_back(std::move(p));
      }
      connections_opened += connection.connectionsOpened();  // 0 unless keep-alive
    });
  }
  for (auto& t : clients) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(placed.begin(), placed.end(),
            [](const PlacedOrder& a, const PlacedOrder& b) { return a.index < b.index; });
  std::ofstream out(o.out);
  int accepted = 0;
  for (const auto& p : placed) {
    out << p.index << '\t' << p.key << '\t' << p.order_id << '\t' << p.account << '\t' << p.broker
        << '\t' << p.symbol << '\t' << p.side << '\t' << p.type << '\t' << p.qty << '\t' << p.limit
        << '\t' << (p.cancel ? "cancel" : "keep") << '\t' << p.place_status << '\t'
        << (p.place_error.empty() ? "-" : p.place_error) << '\t' << p.cancel_status << '\t'
        << p.place_ms << '\t' << std::fixed << std::setprecision(3) << p.sent_unix_ms
        << std::defaultfloat << '\n';
    if (p.order_id != "-") ++accepted;
  }
  out.close();
  if (!out) {
    std::cerr << "e2e_driver: cannot write " << o.out << "\n";
    return 2;
  }
  std::printf("placed %zu orders in %.1f s (%.0f/s) from %d clients; accepted %d\n", placed.size(),
              seconds, static_cast<double>(placed.size()) / seconds, o.clients, accepted);
  if (o.keep_alive) std::printf("keep-alive connections opened: %d\n", connections_opened.load());
  std::printf("cpu used by the load: %.1f ms\n", cpuMillis());
  return 0;
}

// ---------------------------------------------------------------------------------------------
// check
// ---------------------------------------------------------------------------------------------

std::vector<PlacedOrder> readPlaced(const std::string& path) {
  std::ifstream in(path);
  if (!in) usageError("cannot read " + path);
  std::vector<PlacedOrder> placed;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    PlacedOrder p;
    std::string cancel;
    fields >> p.index >> p.key >> p.order_id >> p.account >> p.broker >> p.symbol >> p.side >>
        p.type >> p.qty >> p.limit >> cancel >> p.place_status >> p.place_error >>
        p.cancel_status >> p.place_ms >> p.sent_unix_ms;
    if (!fields) usageError("bad line in " + path + ": " + line);
    p.cancel = cancel == "cancel";
    placed.push_back(std::move(p));
  }
  return placed;
}

bool isFinal(const std::string& status) {
  return status == "FILLED" || status == "CANCELED" || status == "REJECTED" || status == "EXPIRED";
}

struct Report {
  std::string broker, exec_id, cl_ord_id, exec_type;
  int64_t last_qty = 0;
  int64_t last_px = 0;  // units
};

// Every execution report a simulator issued (its ground truth), in order.
std::vector<Report> simReports(int port, const std::string& broker) {
  std::vector<Report> reports;
  int64_t after = 0;
  while (true) {
    const Json page = getJson(port, "/v1/executions?after=" + std::to_string(after) +
                                        "&limit=" + std::to_string(kSimPageSize));
    const Json& items = page.at("executions");
    if (items.empty()) return reports;
    for (const Json& e : items) {
      reports.push_back({broker, e.at("exec_id").get<std::string>(),
                         e.at("cl_ord_id").get<std::string>(), e.at("exec_type").get<std::string>(),
                         quantity(e.at("last_qty")), units(e.at("last_px"))});
    }
    after = page.at("next_after").get<int64_t>();
  }
}

// Every report the fill receiver stored.
std::vector<Report> storedReports(int port) {
  std::vector<Report> reports;
  int64_t after = 0;
  while (true) {
    const Json page =
        getJson(port, "/v1/executions?after=" + std::to_string(after) + "&limit=1000");
    const Json& items = page.at("executions");
    if (items.empty()) return reports;
    for (const Json& e : items) {
      reports.push_back({e.at("broker").get<std::string>(), e.at("exec_id").get<std::string>(),
                         e.at("order_id").get<std::string>(), e.at("exec_type").get<std::string>(),
                         quantity(e.at("last_qty")), units(e.at("last_px"))});
    }
    after = page.at("next_after").get<int64_t>();
  }
}

// Follows next_cursor through a ledger list; `field` names the array.
std::vector<Json> ledgerList(const Options& o, const std::string& token, const std::string& path,
                             const std::string& field) {
  std::vector<Json> items;
  std::string cursor;
  while (true) {
    const Json page = getJson(
        o.ledger_port,
        path + "?limit=" + std::to_string(kPageSize) + (cursor.empty() ? "" : "&cursor=" + cursor),
        token);
    for (const Json& item : page.at(field)) items.push_back(item);
    if (!page.contains("next_cursor") || page["next_cursor"].is_null()) return items;
    cursor = page["next_cursor"].get<std::string>();
  }
}

std::map<std::string, Json> ledgerOrders(const Options& o, const std::string& token) {
  std::map<std::string, Json> orders;
  for (int i = 0; i < o.accounts; ++i) {
    for (Json& order :
         ledgerList(o, token, "/v1/accounts/" + accountId(o, i) + "/orders", "orders")) {
      std::string id = order.at("order_id").get<std::string>();
      orders[id] = std::move(order);
    }
  }
  return orders;
}

class Violations {
 public:
  void add(const std::string& kind, const std::string& what) {
    ++counts_[kind];
    if (counts_[kind] <= kExamplesPerKind)
      std::cout << "VIOLATION " << kind << ": " << what << "\n";
  }
  int64_t count(const std::string& kind) const {
    auto it = counts_.find(kind);
    return it == counts_.end() ? 0 : it->second;
  }
  int64_t total() const {
    int64_t sum = 0;
    for (const auto& [kind, n] : counts_) sum += n;
    return sum;
  }
  const std::map<std::string, int64_t>& counts() const { return counts_; }

 private:
  static constexpr int64_t kExamplesPerKind = 20;
  std::map<std::string, int64_t> counts_;
};

struct Quiescence {
  bool reached = false;
  double seconds = 0;
  std::string last_state;
  int recancels = 0;
};

Quiescence waitQuiescent(const Options& o, const std::string& token,
                         const std::vector<PlacedOrder>& placed) {
  Quiescence q;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::seconds(o.deadline_s);
  auto last_print = start;
  std::map<std::string, Clock::time_point> last_cancel;
  std::map<std::string, bool> cancel_intent;  // accepted orders: the client's cancel intent
  for (const auto& p : placed)
    if (p.order_id != "-") cancel_intent[p.order_id] = p.cancel;
  while (true) {
    const auto orders = ledgerOrders(o, token);
    int open = 0, missing = 0;
    std::string examples;                          // a few open orders, for the message
    std::map<std::string, int64_t> ledger_filled;  // per broker
    for (const auto& p : placed)
      if (p.order_id != "-" && !orders.contains(p.order_id)) ++missing;
    for (const auto& [order_id, order] : orders) {
      const std::string status = order.at("status").get<std::string>();
      const std::string broker = order.at("broker").get<std::string>();
      ledger_filled[broker] += quantity(order.at("filled_quantity"));
      if (!isFinal(status) && status != "UNCONFIRMED" && ++open <= 5)
        examples += " " + order_id + "(" + broker + " " + status + ")";
      // A cancel the broker refused (it raced an acknowledgement or a reconnect) is asked again,
      // as a client would; so is an order whose client never learned of it (it may rest).
      const auto intent = cancel_intent.find(order_id);
      const bool cancel = intent == cancel_intent.end() || intent->second;
      if (cancel && (status == "NEW" || status == "PARTIALLY_FILLED")) {
        auto& when = last_cancel[order_id];
        if (Clock::now() - when > std::chrono::seconds(kRecancelIntervalSeconds)) {
          if (when != Clock::time_point{}) ++q.recancels;
          when = Clock::now();
          httpRequest(o.ledger_port, "DELETE", "/v1/orders/" + order_id, auth(token));
        }
      }
    }
    std::ostringstream state;
    state << open << " orders open" << (examples.empty() ? "" : ":" + examples) << ", " << missing
          << " missing";
    if (open == 0 && missing == 0) {
      int64_t issued = 0, stored = 0;
      bool fills_match = true;
      std::set<std::pair<std::string, std::string>> stored_ids;
      for (const auto& r : storedReports(o.fills_port)) stored_ids.insert({r.broker, r.exec_id});
      stored = static_cast<int64_t>(stored_ids.size());
      for (const auto& [broker, port] : o.sim_ports) {
        int64_t broker_filled = 0;
        for (const auto& r : simReports(port, broker)) {
          ++issued;
          if (r.exec_type == "F") broker_filled += r.last_qty;
        }
        fills_match = fills_match && broker_filled == ledger_filled[broker];
        state << ", " << broker << " filled " << broker_filled << " ledger "
              << ledger_filled[broker];
      }
      state << ", reports issued " << issued << " stored " << stored;
      int waiting = 0;  // orders a gateway has not sent or still waits on (retries to come)
      if (issued == stored && fills_match) {
        for (const auto& [order_id, order] : orders) {
          const Json b = getJson(o.gateway_ports.at(order.at("broker").get<std::string>()),
                                 "/v1/broker-orders/" + order_id, {}, true);
          if (b.is_null()) continue;  // the gateway never had it: it waits for nothing
          const std::string gateway_state = b.at("state").get<std::string>();
          if (gateway_state == "RECEIVED" || gateway_state == "SENT") ++waiting;
        }
        state << ", gateway orders awaiting a reply " << waiting;
      }
      if (issued == stored && fills_match && waiting == 0) {
        q.reached = true;
        q.last_state = state.str();
        q.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        return q;
      }
    }
    q.last_state = state.str();
    if (Clock::now() >= deadline) {
      q.seconds = std::chrono::duration<double>(Clock::now() - start).count();
      return q;
    }
    if (Clock::now() - last_print > std::chrono::seconds(10)) {
      std::cout << "waiting for quiescence: " << q.last_state << "\n" << std::flush;
      last_print = Clock::now();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollIntervalMs));
  }
}

int runCheck(const Options& o) {
  const std::string token = adminToken(o);
  const std::vector<PlacedOrder> placed = readPlaced(o.in);
  Violations v;

  const Quiescence q = waitQuiescent(o, token, placed);
  std::printf("quiescence: %s after %.1f s (%s)\n", q.reached ? "reached" : "NOT reached",
              q.seconds, q.last_state.c_str());
  if (!q.reached) v.add("not quiescent before the deadline", q.last_state);

  // Ground truth and stored reports. Race-free in a stack that is still moving: every report
  // issued before the stored set was read must be in it (none lost), and every stored report
  // must be issued by the time the stored set has been read (none invented).
  auto groundTruth = [&] {
    std::vector<Report> all;
    for (const auto& [broker, port] : o.sim_ports) {
      auto reports = simReports(port, broker);
      all.insert(all.end(), reports.begin(), reports.end());
    }
    return all;
  };
  const std::vector<Report> issued_before = groundTruth();
  const std::vector<Report> stored = storedReports(o.fills_port);
  const std::vector<Report> issued = groundTruth();
  std::map<std::pair<std::string, std::string>, int> issued_count, stored_count;
  for (const auto& r : issued) ++issued_count[{r.broker, r.exec_id}];
  for (const auto& r : stored) ++stored_count[{r.broker, r.exec_id}];
  for (const auto& [id, n] : issued_count)
    if (n > 1) v.add("broker issued an ExecID twice", id.first + " " + id.second);
  for (const auto& r : issued_before)
    if (!stored_count.contains({r.broker, r.exec_id}))
      v.add("reports lost", r.broker + " " + r.exec_id);
  for (const auto& [id, n] : stored_count) {
    if (n > 1)
      v.add("reports doubled",
            id.first + " " + id.second + " stored " + std::to_string(n) + " times");
    if (!issued_count.contains(id))
      v.add("reports stored that no broker issued", id.first + " " + id.second);
  }

  // Broker fills per ClOrdID (ground truth).
  std::map<std::string, std::vector<const Report*>> broker_fills;
  for (const auto& r : issued)
    if (r.exec_type == "F") broker_fills[r.cl_ord_id].push_back(&r);

  const auto orders = ledgerOrders(o, token);
  std::map<std::string, int> outcome;                                      // table rows
  std::map<std::string, int64_t> cash_delta;                               // account -> units
  std::map<std::pair<std::string, std::string>, int64_t> share_delta;      // (account, symbol)
  std::map<std::string, int64_t> reserved_cash;                            // account -> units
  std::map<std::pair<std::string, std::string>, int64_t> reserved_shares;  // open SELL orders
  int64_t ledger_fills_applied = 0, broker_fill_reports = 0;
  std::set<std::string> known;
  for (const auto& p : placed) {
    ++outcome["placed"];
    if (p.order_id == "-") {
      ++outcome[p.place_status == 0 ? "never answered" : "refused " + p.place_error];
      continue;
    }
    ++outcome["accepted"];
    known.insert(p.order_id);
    if (p.cancel) ++outcome["cancel requested"];
    if (!orders.contains(p.order_id)) v.add("accepted order disappeared (inv 3)", p.order_id);
  }
  // Every order the ledger holds on the accounts, also one whose client never got an answer.
  for (const auto& [order_id, order] : orders) {
    PlacedOrder p;
    p.order_id = order_id;
    p.account = order.at("account_id").get<std::string>();
    p.broker = order.at("broker").get<std::string>();
    p.symbol = order.at("symbol").get<std::string>();
    p.side = order.at("side").get<std::string>();
    p.qty = quantity(order.at("quantity"));
    if (!known.contains(order_id)) ++outcome["held by the ledger, unknown to their client"];
    const std::string status = order.at("status").get<std::string>();
    ++outcome["status " + status];
    const int64_t filled = quantity(order.at("filled_quantity"));
    const int64_t reserved = units(order.at("reserved_amount"));
    reserved_cash[p.account] += reserved;
    if (isFinal(status) && reserved != 0)
      v.add("final order still holds a reservation",
            p.order_id + " " + status + " " + moneyText(reserved));
    if (p.side == "SELL" && !isFinal(status))
      reserved_shares[{p.account, p.symbol}] += p.qty - filled;

    // Invariant 1 and 3: the broker's orders for this ClOrdID.
    const Json held =
        getJson(o.sim_ports.at(p.broker), "/v1/orders?cl_ord_id=" + p.order_id).at("orders");
    if (held.size() > 1)
      v.add("broker orders per ClOrdID above one (inv 1)", p.order_id + " " + held.dump());
    if (held.empty() && status != "CANCELED" && status != "UNCONFIRMED")
      v.add("order neither at the broker nor CANCELED/UNCONFIRMED (inv 3)",
            p.order_id + " " + status);
    const int64_t broker_cum = held.empty() ? 0 : quantity(held[0].at("cum_qty"));
    if (broker_cum != filled)
      v.add("ledger fills differ from broker fills",
            p.order_id + " ledger " + std::to_string(filled) + " broker " +
                std::to_string(broker_cum) + " (" + status + ")");
    if (broker_cum == p.qty && status != "FILLED")
      v.add("broker filled the order, ledger did not", p.order_id + " " + status);

    // Fills, one by one: each broker fill applied once by the ledger, at its price.
    const auto fills_it = broker_fills.find(p.order_id);
    const std::size_t broker_count = fills_it == broker_fills.end() ? 0 : fills_it->second.size();
    broker_fill_reports += static_cast<int64_t>(broker_count);
    if (broker_count == 0 && filled == 0) continue;
    std::map<std::string, std::pair<int64_t, int64_t>> expected;  // exec_id -> (qty, px)
    if (fills_it != broker_fills.end())
      for (const Report* r : fills_it->second) expected[r->exec_id] = {r->last_qty, r->last_px};
    const Json applied =
        getJson(o.ledger_port, "/v1/orders/" + p.order_id + "/executions", token).at("executions");
    std::map<std::string, int> seen;
    for (const Json& x : applied) {
      const std::string exec_id = x.at("exec_id").get<std::string>();
      ++ledger_fills_applied;
      if (++seen[exec_id] > 1)
        v.add("fill applied twice by the ledger", p.order_id + " " + exec_id);
      const auto e = expected.find(exec_id);
      if (e == expected.end()) {
        v.add("ledger fill the broker never issued", p.order_id + " " + exec_id);
        continue;
      }
      if (quantity(x.at("quantity")) != e->second.first || units(x.at("price")) != e->second.second)
        v.add("ledger fill differs from the broker's", p.order_id + " " + exec_id);
    }
    for (const auto& [exec_id, qp] : expected) {
      if (!seen.contains(exec_id))
        v.add("broker fill not applied by the ledger", p.order_id + " " + exec_id);
      const int64_t value = qp.first * qp.second;
      cash_delta[p.account] += p.side == "BUY" ? -value : value;
      share_delta[{p.account, p.symbol}] += p.side == "BUY" ? qp.first : -qp.first;
    }
  }

  // Accounts (invariant 4) and positions (invariant 5), against the broker's fills.
  const int64_t deposit = Money::parse(kDeposit)->units();
  for (int i = 0; i < o.accounts; ++i) {
    const std::string id = accountId(o, i);
    const Json account = getJson(o.ledger_port, "/v1/accounts/" + id, token);
    const int64_t balance = units(account.at("cash_balance"));
    const int64_t reserved = units(account.at("cash_reserved"));
    const int64_t available = units(account.at("cash_available"));
    if (available < 0) v.add("negative cash_available (inv 4)", id + " " + moneyText(available));
    if (available != balance - reserved) v.add("cash_available != balance - reserved", id);
    if (balance != deposit + cash_delta[id])
      v.add("cash_balance differs from deposit + broker fills",
            id + " ledger " + moneyText(balance) + " expected " +
                moneyText(deposit + cash_delta[id]));
    if (reserved != reserved_cash[id])
      v.add("cash_reserved differs from open orders' reserved_amount (inv 4)",
            id + " " + moneyText(reserved) + " vs " + moneyText(reserved_cash[id]));

    std::map<std::pair<std::string, std::string>, int64_t> book_sum;  // (book, asset)
    for (const Json& entry : ledgerList(o, token, "/v1/accounts/" + id + "/journal", "entries")) {
      std::map<std::string, int64_t> per_asset;
      for (const Json& line : entry.at("lines")) {
        const int64_t amount = units(line.at("amount"));
        per_asset[line.at("asset").get<std::string>()] += amount;
        book_sum[{line.at("book").get<std::string>(), line.at("asset").get<std::string>()}] +=
            amount;
      }
      for (const auto& [asset, sum] : per_asset)
        if (sum != 0)
          v.add("journal entry not balanced (inv 4)",
                id + " " + entry.at("entry_id").dump() + " " + asset);
    }
    if (book_sum[{"cash.available", "USD"}] + book_sum[{"cash.reserved", "USD"}] != balance)
      v.add("cash_balance differs from its journal lines (inv 4)", id);
    if (book_sum[{"cash.reserved", "USD"}] != reserved)
      v.add("cash_reserved differs from its journal lines (inv 4)", id);

    const Json positions =
        getJson(o.ledger_port, "/v1/accounts/" + id + "/positions", token).at("positions");
    std::set<std::string> seen_symbols;
    for (const Json& position : positions) {
      const std::string symbol = position.at("symbol").get<std::string>();
      seen_symbols.insert(symbol);
      const int64_t qty = quantity(position.at("quantity"));
      const int64_t qty_reserved = quantity(position.at("quantity_reserved"));
      const int64_t expected = kShares + share_delta[{id, symbol}];
      if (qty != expected)
        v.add("position differs from transferred + bought - sold (inv 5)",
              id + " " + symbol + " " + std::to_string(qty) + " expected " +
                  std::to_string(expected));
      if (qty_reserved < 0 || qty_reserved > qty)
        v.add("quantity_reserved out of range (inv 5)", id + " " + symbol);
      if (qty_reserved != reserved_shares[{id, symbol}])
        v.add("quantity_reserved differs from open SELL orders",
              id + " " + symbol + " " + std::to_string(qty_reserved) + " vs " +
                  std::to_string(reserved_shares[{id, symbol}]));
      const int64_t lines =
          book_sum[{"securities.available", symbol}] + book_sum[{"securities.reserved", symbol}];
      if (lines != qty * Money::kScale)
        v.add("position differs from its journal lines (inv 5)", id + " " + symbol);
    }
    for (const auto& symbol : kSymbols)
      if (!seen_symbols.contains(symbol)) v.add("position missing", id + " " + symbol);
  }

  // The table.
  int64_t lost = v.count("reports lost"),
          doubled = v.count("reports doubled") + v.count("fill applied twice by the ledger");
  int64_t per_clordid = v.count("broker orders per ClOrdID above one (inv 1)");
  std::printf("\n%-52s %10s\n", "e2e summary", "count");
  std::printf("%-52s %10s\n", "----------------------------------------------------", "----------");
  auto row = [](const std::string& label, long long n) {
    std::printf("%-52s %10lld\n", label.c_str(), n);
  };
  int still_open = 0;
  for (const auto& [what, n] : outcome) {
    if (what.rfind("status ", 0) == 0) {
      const std::string status = what.substr(7);
      if (!isFinal(status) && status != "UNCONFIRMED") still_open += n;
    }
  }
  row("orders placed", outcome["placed"]);
  row("orders accepted", outcome["accepted"]);
  row("orders filled", outcome["status FILLED"]);
  row("orders canceled", outcome["status CANCELED"]);
  row("orders rejected", outcome["status REJECTED"]);
  row("orders expired", outcome["status EXPIRED"]);
  row("orders unconfirmed", outcome["status UNCONFIRMED"]);
  row("orders still open", still_open);
  for (const auto& [what, n] : outcome) {
    if (what.rfind("refused ", 0) == 0 || what == "never answered" || what == "cancel requested" ||
        what.rfind("held by", 0) == 0)
      row("orders " + what, n);
  }
  std::printf("%-52s %10d\n", "cancels re-sent while waiting", q.recancels);
  std::printf("%-52s %10zu\n", "reports issued by the brokers", issued.size());
  std::printf("%-52s %10zu\n", "reports stored by the fill receiver", stored_count.size());
  std::printf("%-52s %10lld\n", "broker fills", static_cast<long long>(broker_fill_reports));
  std::printf("%-52s %10lld\n", "ledger fills applied",
              static_cast<long long>(ledger_fills_applied));
  std::printf("%-52s %10.1f\n", "seconds to quiescence", q.seconds);
  std::printf("%-52s %10lld   (must be 0)\n", "broker orders per ClOrdID above one",
              static_cast<long long>(per_clordid));
  std::printf("%-52s %10lld   (must be 0)\n", "reports lost", static_cast<long long>(lost));
  std::printf("%-52s %10lld   (must be 0)\n", "reports doubled", static_cast<long long>(doubled));
  std::printf("%-52s %10lld   (must be 0)\n", "invariant violations",
              static_cast<long long>(v.total()));
  for (const auto& [kind, n] : v.counts())
    std::printf("  %-50s %10lld\n", kind.c_str(), static_cast<long long>(n));
  std::fflush(stdout);
  return v.total() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parseOptions(argc, argv);
  try {
    if (options.mode == "setup") return runSetup(options);
    if (options.mode == "load") return runLoad(options);
    if (options.mode == "check") return runCheck(options);
  } catch (const std::exception& failure) {
    std::cerr << "e2e_driver " << options.mode << ": " << failure.what() << "\n";
    return 2;
  }
  usageError("unknown mode " + options.mode);
}
