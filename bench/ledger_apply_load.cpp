// ledger_apply_load: the order source and the broker side of the ledger's apply measurement
// (bench/ledger_apply.sh). Three commands:
//
//   ledger_apply_load orders --port P --jwt-secret S --accounts M --orders N --quantity Q
//                            --account-prefix PFX --out FILE [--clients C]
//     Creates accounts PFX-0..PFX-(M-1) (409 is fine), deposits in each, and places N BUY LIMIT
//     orders (Q x AAPL at 10.00) through POST /v1/accounts/{id}/orders, order i on account
//     i % M, from C client threads (keep-alive connections), so every order has its reservation.
//     Writes "order_id account_id" lines to FILE.
//
//   ledger_apply_load inject --redis-port R --orders FILE --fills F [--broker SIM-A]
//                            [--seq-start K] [--exec-prefix X]
//     Writes, for each order of FILE, its acknowledgement to order-events (fields as the gateway's
//     event relay writes them) and F fills of Q/F shares to executions (fields and stream ids
//     {seq}-0 as the fill receiver's relay writes them, seq from K+1 on).
//
//   ledger_apply_load drop-copy --fix-port P --http-port H --orders FILE --fills F --rate R
//                               [--broker SIM-A] [--exec-prefix X]
//     Plays the broker's drop copy (SenderCompID = broker, TargetCompID FILLS, FIX 4.4, a plain
//     socket, MsgSeqNum from 1, a fresh session): for each order its acknowledgement (150=0) and
//     F fills (150=F), paced at R reports per second, in one pass; then waits (up to 120 s) until
//     the fill receiver's GET /v1/sessions (port H) shows every report counted, i.e. stored.
//
// Bounded: at most 200,000 orders, 100 fills per order, 127.0.0.1 only, requests time out.
#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/Timespan.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/auth_token.h"
#include "common/redis.h"

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

constexpr const char* kHost = "127.0.0.1";
constexpr int64_t kOrdersMax = 200'000;
constexpr int kFillsMax = 100;
constexpr const char* kLimitPrice = "10.00";
constexpr const char* kFillPrice = "9.99";

[[noreturn]] void fail(const std::string& message) {
  std::cerr << "ledger_apply_load: " << message << "\n";
  std::exit(2);
}

struct Args {
  std::map<std::string, std::string> values;
  [[nodiscard]] std::string text(const std::string& key, const std::string& fallback = "") const {
    const auto it = values.find(key);
    if (it != values.end()) return it->second;
    if (fallback.empty()) fail("--" + key + " is required");
    return fallback;
  }
  [[nodiscard]] int64_t number(const std::string& key, int64_t low, int64_t high,
                               std::optional<int64_t> fallback = std::nullopt) const {
    const auto it = values.find(key);
    if (it == values.end()) {
      if (!fallback) fail("--" + key + " is required");
      return *fallback;
    }
    try {
      std::size_t used = 0;
      const int64_t value = std::stoll(it->second, &used);
      if (used != it->second.size() || value < low || value > high) throw std::out_of_range("");
      return value;
    } catch (const std::exception&) {
      fail("--" + key + " needs an integer in " + std::to_string(low) + ".." +
           std::to_string(high));
    }
  }
};

Args parseArgs(int argc, char** argv) {
  Args args;
  for (int i = 2; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag.rfind("--", 0) != 0 || i + 1 >= argc) fail("bad argument " + flag);
    args.values[flag.substr(2)] = argv[i + 1];
  }
  return args;
}

struct Order {
  std::string order_id;
  std::string account_id;
};

std::vector<Order> readOrders(const std::string& path) {
  std::ifstream file(path);
  if (!file) fail("cannot read " + path);
  std::vector<Order> orders;
  for (Order order; file >> order.order_id >> order.account_id;) orders.push_back(order);
  return orders;
}

// ---------------------------------------------------------------------------------------------
// orders: accounts and orders through the ledger's API

struct Reply {
  int status = 0;
  std::string body;
};

Reply exchange(Poco::Net::HTTPClientSession& session, const std::string& path,
               const std::string& token, const std::string& body,
               const std::string& idempotency_key = "") {
  Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, path,
                                 Poco::Net::HTTPMessage::HTTP_1_1);
  request.setKeepAlive(true);
  request.setContentType("application/json");
  request.setContentLength(static_cast<std::streamsize>(body.size()));
  request.set("Authorization", "Bearer " + token);
  if (!idempotency_key.empty()) request.set("Idempotency-Key", idempotency_key);
  session.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  Reply reply;
  Poco::StreamCopier::copyToString(session.receiveResponse(response), reply.body);
  reply.status = response.getStatus();
  return reply;
}

std::unique_ptr<Poco::Net::HTTPClientSession> openSession(int port) {
  auto session =
      std::make_unique<Poco::Net::HTTPClientSession>(kHost, static_cast<Poco::UInt16>(port));
  session->setKeepAlive(true);
  session->setTimeout(Poco::Timespan(30, 0));
  return session;
}

int placeOrders(const Args& args) {
  const int port = static_cast<int>(args.number("port", 1, 65535));
  const std::string secret = args.text("jwt-secret");
  const int accounts = static_cast<int>(args.number("accounts", 1, 256));
  const int64_t count = args.number("orders", 1, kOrdersMax);
  const int64_t quantity = args.number("quantity", 1, 1000);
  const int clients = static_cast<int>(args.number("clients", 1, 64, 8));
  const std::string prefix = args.text("account-prefix");
  const std::string out_path = args.text("out");
  const int64_t expires = std::time(nullptr) + 3600;
  const std::string admin =
      fbg::mintToken({"apply-load-admin", fbg::Role::Admin, {}}, secret, expires);
  std::vector<std::string> ids;
  for (int a = 0; a < accounts; ++a) ids.push_back(prefix + "-" + std::to_string(a));
  const std::string trader =
      fbg::mintToken({"apply-load", fbg::Role::Trader, ids}, secret, expires);
  {
    auto session = openSession(port);
    for (const auto& id : ids) {
      const auto created = exchange(*session, "/v1/accounts", admin,
                                    Json{{"account_id", id}, {"currency", "USD"}}.dump());
      if (created.status != 201 && created.status != 409)
        fail("account " + id + ": " + created.body);
      const auto deposited =
          exchange(*session, "/v1/accounts/" + id + "/deposits", admin,
                   Json{{"amount", "900000000.00"}, {"reference", "fund-" + id}}.dump());
      if (deposited.status != 201 && deposited.status != 200) {
        fail("deposit " + id + ": " + deposited.body);
      }
    }
  }
  std::vector<Order> placed(static_cast<std::size_t>(count));
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> failures{0};
  const std::string body = Json{
      {"symbol", "AAPL"},
      {"side", "BUY"},
      {"type", "LIMIT"},
      {"quantity", quantity},
      {"limit_price",
       kLimitPrice}}.dump();
  const auto started = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      auto session = openSession(port);
      for (int64_t i = next++; i < count; i = next++) {
        const std::string& account = ids[static_cast<std::size_t>(i % accounts)];
        for (int attempt = 0; attempt < 20; ++attempt) {
          try {
            const auto reply = exchange(*session, "/v1/accounts/" + account + "/orders", trader,
                                        body, prefix + "-o" + std::to_string(i));
            if (reply.status == 202 || reply.status == 200) {
              placed[static_cast<std::size_t>(i)] = {
                  Json::parse(reply.body).at("order_id").get<std::string>(), account};
              break;
            }
            if (reply.status != 409) {
              std::cerr << "order " << i << ": " << reply.status << " " << reply.body << "\n";
              break;
            }
          } catch (const std::exception& failure) {
            std::cerr << "order " << i << ": " << failure.what() << "\n";
            session = openSession(port);
          }
        }
        if (placed[static_cast<std::size_t>(i)].order_id.empty()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::ofstream out(out_path);
  for (const auto& order : placed) {
    if (!order.order_id.empty()) out << order.order_id << " " << order.account_id << "\n";
  }
  std::cout << "placed " << count - failures << " of " << count << " orders on " << accounts
            << " account(s) in " << seconds << " s\n";
  return failures == 0 ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// inject: stream entries as the gateway's and the fill receiver's relays write them

std::string rfc3339Now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
      1'000'000;
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[96];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(us));
  return text;
}

std::string fixNow() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[96];
  std::snprintf(text, sizeof text, "%04d%02d%02d-%02d:%02d:%02d.%03d", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(ms));
  return text;
}

int64_t orderQuantity(const Args& args) {
  return args.number("quantity", 1, 1000);
}

int inject(const Args& args) {
  const int port = static_cast<int>(args.number("redis-port", 1, 65535));
  const auto orders = readOrders(args.text("orders"));
  const int fills = static_cast<int>(args.number("fills", 1, kFillsMax));
  const int64_t quantity = orderQuantity(args);
  if (quantity % fills != 0) fail("--quantity must be a multiple of --fills");
  const std::string broker = args.text("broker", "SIM-A");
  const std::string prefix = args.text("exec-prefix", "E");
  int64_t seq = args.number("seq-start", 0, int64_t{1} << 50, 0);
  fbg::RedisPool redis(fbg::RedisConfig{kHost, port, 2000, 4, 2000, 500});
  auto must = [&](const std::vector<std::string>& command) {
    auto reply = redis.command(command);
    if (!reply || reply->kind == fbg::RedisReply::Kind::Error) {
      fail("redis " + command[0] + ": " + (reply ? reply->text : reply.error().message));
    }
  };
  const int64_t slice = quantity / fills;
  const auto started = Clock::now();
  int64_t entries = 0;
  for (const auto& order : orders) {
    const std::string event_id = order.order_id + ":ACKED";
    const Json payload = {{"event_id", event_id},
                          {"kind", "ACKED"},
                          {"order_id", order.order_id},
                          {"broker", broker},
                          {"broker_order_id", "B-" + order.order_id},
                          {"cum_qty", 0},
                          {"cancel_request", 0},
                          {"reason", nullptr},
                          {"occurred_at", rfc3339Now()}};
    must({"XADD", "order-events", "MAXLEN", "~", "1000000", "*", "event_id", event_id, "kind",
          "ACKED", "order_id", order.order_id, "payload", payload.dump()});
    ++entries;
    for (int f = 1; f <= fills; ++f) {
      ++seq;
      const std::string exec_id = prefix + std::to_string(seq);
      const int64_t cum = slice * f;
      const Json execution = {{"seq", seq},
                              {"broker", broker},
                              {"exec_id", exec_id},
                              {"order_id", order.order_id},
                              {"broker_order_id", "B-" + order.order_id},
                              {"exec_type", "F"},
                              {"ord_status", cum == quantity ? "2" : "1"},
                              {"side", "BUY"},
                              {"symbol", "AAPL"},
                              {"last_qty", slice},
                              {"last_px", kFillPrice},
                              {"cum_qty", cum},
                              {"leaves_qty", quantity - cum},
                              {"avg_px", kFillPrice},
                              {"transact_time", fixNow()},
                              {"received_at", rfc3339Now()}};
      must({"XADD", "executions", "MAXLEN", "~", "1000000", std::to_string(seq) + "-0", "seq",
            std::to_string(seq), "broker", broker, "exec_id", exec_id, "order_id", order.order_id,
            "payload", execution.dump()});
      ++entries;
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::cout << "injected " << entries << " stream entries for " << orders.size() << " orders in "
            << seconds << " s; last seq " << seq << "\n";
  return 0;
}

// ---------------------------------------------------------------------------------------------
// drop-copy: ExecutionReports on a plain FIX 4.4 socket

std::string checksum(const std::string& text) {
  unsigned sum = 0;
  for (const unsigned char c : text) sum += c;
  char out[4];
  std::snprintf(out, sizeof out, "%03u", sum % 256);
  return out;
}

class FixSender {
 public:
  FixSender(std::string sender, std::string target)
      : sender_(std::move(sender)), target_(std::move(target)) {}
  ~FixSender() {
    stopping_ = true;
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
    if (reader_.joinable()) reader_.join();
    if (fd_ >= 0) ::close(fd_);
  }

  void connect(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      fail("cannot connect to 127.0.0.1:" + std::to_string(port));
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // Whatever the acceptor sends (its Logon, heartbeats) is read and counted, never answered:
    // the heartbeat interval is longer than the run.
    reader_ = std::thread([this] {
      char buffer[4096];
      while (!stopping_) {
        const ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
        if (got <= 0) break;
        std::lock_guard lock(mutex_);
        received_.append(buffer, static_cast<std::size_t>(got));
      }
      closed_ = true;
    });
  }

  void send(const std::string& type, const std::vector<std::pair<int, std::string>>& body) {
    std::string fields = "35=" + type + "\x01" + "49=" + sender_ + "\x01" + "56=" + target_ +
                         "\x01" + "34=" + std::to_string(next_seq_++) + "\x01" + "52=" + fixNow() +
                         "\x01";
    for (const auto& [tag, value] : body) fields += std::to_string(tag) + "=" + value + "\x01";
    std::string message =
        "8=FIX.4.4\x01" + std::string("9=") + std::to_string(fields.size()) + "\x01" + fields;
    message += "10=" + checksum(message) + "\x01";
    for (std::size_t sent = 0; sent < message.size();) {
      const ssize_t wrote = ::send(fd_, message.data() + sent, message.size() - sent, MSG_NOSIGNAL);
      if (wrote <= 0) fail("the fill receiver closed the drop copy");
      sent += static_cast<std::size_t>(wrote);
    }
  }

  bool loggedOn(std::chrono::milliseconds deadline) {
    const auto until = Clock::now() + deadline;
    while (Clock::now() < until && !closed_) {
      {
        std::lock_guard lock(mutex_);
        if (received_.find("\x01"
                           "35=A\x01") != std::string::npos)
          return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  [[nodiscard]] bool closed() const { return closed_; }
  std::string received() {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  std::string sender_;
  std::string target_;
  int fd_ = -1;
  int next_seq_ = 1;
  std::thread reader_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> closed_{false};
  std::mutex mutex_;
  std::string received_;
};

int dropCopy(const Args& args) {
  const int port = static_cast<int>(args.number("fix-port", 1, 65535));
  const auto orders = readOrders(args.text("orders"));
  const int fills = static_cast<int>(args.number("fills", 1, kFillsMax));
  const int64_t quantity = orderQuantity(args);
  if (quantity % fills != 0) fail("--quantity must be a multiple of --fills");
  const double rate = static_cast<double>(args.number("rate", 1, 100'000));
  const std::string broker = args.text("broker", "SIM-A");
  const std::string prefix = args.text("exec-prefix", "D");
  FixSender fix(broker, "FILLS");
  fix.connect(port);
  fix.send("A", {{98, "0"}, {108, "900"}});
  if (!fix.loggedOn(std::chrono::seconds(15))) fail("no Logon answer: " + fix.received());
  const int64_t slice = quantity / fills;
  int64_t sent = 0;
  int64_t exec_number = 0;
  const auto started = Clock::now();
  auto report = [&](const Order& order, char exec_type, int64_t last_qty, int64_t cum) {
    // Paced: report k leaves at started + k / rate.
    std::this_thread::sleep_until(
        started + std::chrono::duration_cast<Clock::duration>(
                      std::chrono::duration<double>(static_cast<double>(sent) / rate)));
    const bool ack = exec_type == '0';
    fix.send("8", {{37, "B-" + order.order_id},
                   {11, order.order_id},
                   {17, prefix + std::to_string(++exec_number)},
                   {150, std::string(1, exec_type)},
                   {39, ack               ? "0"
                        : cum == quantity ? "2"
                                          : "1"},
                   {55, "AAPL"},
                   {54, "1"},
                   {38, std::to_string(quantity)},
                   {32, std::to_string(last_qty)},
                   {31, ack ? "0" : kFillPrice},
                   {151, std::to_string(quantity - cum)},
                   {14, std::to_string(cum)},
                   {6, ack ? "0" : kFillPrice},
                   {60, fixNow()}});
    ++sent;
  };
  for (const auto& order : orders) {
    report(order, '0', 0, 0);
    for (int f = 1; f <= fills; ++f) report(order, 'F', slice, slice * f);
    if (fix.closed()) fail("the fill receiver closed the drop copy: " + fix.received());
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::cout << "sent " << sent << " reports in " << seconds << " s ("
            << static_cast<double>(sent) / seconds << " reports/s)" << std::endl;
  // The fill receiver counts a report (its next expected MsgSeqNum) after it is committed.
  const int http_port = static_cast<int>(args.number("http-port", 1, 65535));
  const std::string session_id = "FIX.4.4:FILLS->" + broker;
  const int64_t last_seq = sent + 1;  // the Logon was 1
  const auto until = Clock::now() + std::chrono::seconds(120);
  while (Clock::now() < until) {
    try {
      Poco::Net::HTTPClientSession http(kHost, static_cast<Poco::UInt16>(http_port));
      http.setTimeout(Poco::Timespan(5, 0));
      Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, "/v1/sessions");
      http.sendRequest(request);
      Poco::Net::HTTPResponse response;
      std::string text;
      Poco::StreamCopier::copyToString(http.receiveResponse(response), text);
      const Json body = Json::parse(text, nullptr, false);
      if (body.is_object() && body.contains("sessions")) {
        for (const auto& s : body["sessions"]) {
          // durable_target_seq_num: every report below it is committed (the receiver commits in
          // batches after fromApp, so QuickFIX's next_target_seq_num runs ahead of its commits).
          const int64_t stored_below = s.contains("durable_target_seq_num")
                                           ? s.value("durable_target_seq_num", int64_t{0})
                                           : s.value("next_target_seq_num", int64_t{0});
          if (s.value("session_id", "") == session_id && stored_below > last_seq) {
            std::cout << "every report stored" << std::endl;
            return 0;
          }
        }
      }
    } catch (const std::exception& failure) {
      std::cerr << "GET /v1/sessions: " << failure.what() << "\n";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  fail("the fill receiver did not count every report within 120 s");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) fail("usage: ledger_apply_load orders|inject|drop-copy --flag value ...");
  const std::string command = argv[1];
  const Args args = parseArgs(argc, argv);
  try {
    if (command == "orders") return placeOrders(args);
    if (command == "inject") return inject(args);
    if (command == "drop-copy") return dropCopy(args);
  } catch (const std::exception& failure) {
    fail(failure.what());
  }
  fail("unknown command " + command);
}
