#include "gateway_stack.h"

#include <chrono>
#include <fstream>
#include <set>
#include <stdexcept>

#include "common/identifiers.h"
#include "common/time_text.h"
#include "support/ports.h"
#include "support/serving.h"
#include "support/wait.h"

namespace fbg::test {
namespace {

using Json = nlohmann::json;

void writeLines(const std::filesystem::path& path, const std::vector<std::string>& lines) {
  std::ofstream file(path);
  for (const auto& line : lines) file << line << "\n";
}

// Sum of the series of metric `name` whose labels contain label_filter, in Prometheus text.
double metricSum(const std::string& text, const std::string& name,
                 const std::string& label_filter) {
  double sum = 0;
  std::size_t at = 0;
  while ((at = text.find(name, at)) != std::string::npos) {
    const bool line_start = at == 0 || text[at - 1] == '\n';
    const std::size_t end = text.find('\n', at);
    const std::string line = text.substr(at, end == std::string::npos ? end : end - at);
    at += name.size();
    if (!line_start || line.size() <= name.size()) continue;
    const char next = line[name.size()];
    if (next != ' ' && next != '{') continue;
    if (!label_filter.empty() && line.find(label_filter) == std::string::npos) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

// Every item of a paged GET .../v1/executions?after=N&limit=M, until an empty page.
std::vector<Json> allPages(int port, const std::string& what, int64_t after) {
  std::vector<Json> all;
  for (int page = 0; page < 10'000; ++page) {
    const std::string path = "/v1/executions?after=" + std::to_string(after) + "&limit=1000";
    const auto response = httpRequest(port, "GET", path);
    if (response.status != 200) {
      throw std::runtime_error(what + " GET " + path + ": " + std::to_string(response.status) +
                               " " + response.body);
    }
    const Json body = Json::parse(response.body);
    if (body.at("executions").empty()) return all;
    for (const auto& item : body["executions"]) all.push_back(item);
    const int64_t next = body.at("next_after").get<int64_t>();
    if (next <= after) throw std::runtime_error(what + ": next_after did not advance");
    after = next;
  }
  throw std::runtime_error(what + ": too many pages");
}

}  // namespace

GatewayStack::GatewayStack(std::string broker) : broker_(std::move(broker)) {
  postgres.start();
  postgres.createDatabase("gateway");
  postgres.createDatabase("broker_sim");
  redis.start();
  folder_ = makeTempFolder("gateway-stack");
  order_port_ = freeLoopbackPort();
  drop_copy_port_ = freeLoopbackPort();
  simulator_http_port_ = freeLoopbackPort();
  gateway_http_port_ = freeLoopbackPort();
}

GatewayStack::~GatewayStack() {
  fill_receiver_.kill9();
  peer_gateway_.kill9();
  gateway_.kill9();
  simulator_.kill9();
}

void GatewayStack::startSimulator(const std::vector<std::string>& extra) {
  std::vector<std::string> lines = {
      "profile = " + broker_,
      "postgres_uri = " + postgres.uri("broker_sim"),
      "http_port = " + std::to_string(simulator_http_port_),
      std::string("fix_settings_file = ") + FBG_FIX_CONFIG_DIR + "/simulator-" + broker_ + ".cfg",
      std::string("fix_config_dir = ") + FBG_FIX_CONFIG_DIR,
      "run_dir = " + folder_.string(),
      "fix_order_port = " + std::to_string(order_port_),
      "fix_drop_copy_port = " + std::to_string(drop_copy_port_),
  };
  lines.insert(lines.end(), extra.begin(), extra.end());
  writeLines(folder_ / "simulator.conf", lines);
  simulator_.launch(FBG_SIMULATOR_BINARY,
                    {"serve", "--config", (folder_ / "simulator.conf").string()}, {},
                    folder_ / "simulator.log");
  if (!waitUntilServing(simulator_, simulator_http_port_)) {
    throw std::runtime_error("simulator did not start: " + logTail(folder_ / "simulator.log"));
  }
}

void GatewayStack::launchGateway(ChildProcess& process, const std::string& name,
                                 const std::vector<std::string>& lines) {
  writeLines(folder_ / (name + ".conf"), lines);
  process.launch(FBG_GATEWAY_BINARY, {"serve", "--config", (folder_ / (name + ".conf")).string()},
                 {}, folder_ / (name + ".log"));
}

void GatewayStack::startGateway(const std::vector<std::string>& extra) {
  std::vector<std::string> lines = {
      "broker = " + broker_,
      std::string("broker_answers_status_requests = ") + (broker_ == "SIM-A" ? "true" : "false"),
      "postgres_uri = " + postgres.uri("gateway"),
      "http_port = " + std::to_string(gateway_http_port_),
      "redis_port = " + std::to_string(redis.port()),
      std::string("fix_settings_file = ") + FBG_FIX_CONFIG_DIR + "/gateway-" + broker_ + ".cfg",
      std::string("fix_config_dir = ") + FBG_FIX_CONFIG_DIR,
      "run_dir = " + folder_.string(),
      "fix_connect_port = " + std::to_string(order_port_),
  };
  lines.insert(lines.end(), extra.begin(), extra.end());
  launchGateway(gateway_, "gateway", lines);
  if (!waitUntilServing(gateway_, gateway_http_port_)) {
    throw std::runtime_error("gateway did not start: " + gatewayLogTail());
  }
}

void GatewayStack::startPeerGateway(const std::string& broker) {
  postgres.createDatabase("gateway_peer");
  peer_gateway_http_port_ = freeLoopbackPort();
  const std::filesystem::path run_dir = folder_ / "peer";
  std::filesystem::create_directories(run_dir);
  launchGateway(
      peer_gateway_, "peer-gateway",
      {"broker = " + broker, "broker_answers_status_requests = false",
       "postgres_uri = " + postgres.uri("gateway_peer"),
       "http_port = " + std::to_string(peer_gateway_http_port_),
       "redis_port = " + std::to_string(redis.port()),
       std::string("fix_settings_file = ") + FBG_FIX_CONFIG_DIR + "/gateway-" + broker + ".cfg",
       std::string("fix_config_dir = ") + FBG_FIX_CONFIG_DIR, "run_dir = " + run_dir.string(),
       "fix_connect_port = " + std::to_string(freeLoopbackPort())});
  if (!waitUntilServing(peer_gateway_, peer_gateway_http_port_)) {
    throw std::runtime_error("peer gateway did not start: " +
                             logTail(folder_ / "peer-gateway.log"));
  }
}

std::string GatewayStack::orderPayload(const std::string& order_id, const std::string& broker,
                                       int64_t quantity, const std::string& limit_price,
                                       const std::string& symbol) const {
  const Json payload = {
      {"order_id", order_id},
      {"account_id", "ACC-1"},
      {"symbol", symbol},
      {"side", "BUY"},
      {"type", limit_price.empty() ? "MARKET" : "LIMIT"},
      {"quantity", quantity},
      {"limit_price", limit_price.empty() ? Json(nullptr) : Json(limit_price)},
      {"time_in_force", "DAY"},
      {"broker", broker},
      {"channel", "API"},
      {"created_at", "2026-11-25T00:00:00.000000Z"},
  };
  return payload.dump();
}

std::string GatewayStack::placeOrder(int64_t quantity, const std::string& limit_price,
                                     const std::string& symbol) {
  const std::string order_id = makeOrderId(wallClockMs(), ++order_sequence_);
  const auto added =
      redis.command({"XADD", "orders:" + broker_, "*", "kind", "NEW", "order_id", order_id,
                     "payload", orderPayload(order_id, broker_, quantity, limit_price, symbol)});
  if (added.isError()) throw std::runtime_error("XADD: " + added.text);
  return order_id;
}

std::string GatewayStack::placeOrderFor(const std::string& broker) {
  const std::string order_id = makeOrderId(wallClockMs(), ++order_sequence_);
  const auto added =
      redis.command({"XADD", "orders:" + broker, "*", "kind", "NEW", "order_id", order_id,
                     "payload", orderPayload(order_id, broker, 10, "200.00", "AAPL")});
  if (added.isError()) throw std::runtime_error("XADD: " + added.text);
  return order_id;
}

void GatewayStack::requestCancel(const std::string& order_id, int cancel_request) {
  const Json payload = {{"order_id", order_id},
                        {"account_id", "ACC-1"},
                        {"cancel_request", cancel_request},
                        {"symbol", "AAPL"},
                        {"side", "BUY"},
                        {"quantity", 10},
                        {"requested_at", "2026-11-25T00:00:00.000000Z"}};
  const auto added = redis.command({"XADD", "orders:" + broker_, "*", "kind", "CANCEL", "order_id",
                                    order_id, "payload", payload.dump()});
  if (added.isError()) throw std::runtime_error("XADD: " + added.text);
}

std::vector<OrderEvent> GatewayStack::events() const {
  std::vector<OrderEvent> out;
  const auto reply = redis.command({"XRANGE", "order-events", "-", "+"});
  for (const auto& entry : reply.elements) {
    if (entry.elements.size() != 2) continue;
    std::map<std::string, std::string> fields;
    const auto& flat = entry.elements[1].elements;
    for (std::size_t i = 0; i + 1 < flat.size(); i += 2) fields[flat[i].text] = flat[i + 1].text;
    out.push_back(OrderEvent{fields["event_id"], fields["kind"], fields["order_id"],
                             Json::parse(fields["payload"], nullptr, false)});
  }
  return out;
}

std::size_t GatewayStack::eventCount(const std::string& kind, const std::string& order_id) const {
  std::set<std::string> ids;
  for (const auto& event : events()) {
    if (event.kind == kind && (order_id.empty() || event.order_id == order_id)) {
      ids.insert(event.event_id);
    }
  }
  return ids.size();
}

Json GatewayStack::simulatorAdmin(const std::string& method, const std::string& path,
                                  const std::string& body) const {
  const auto response = httpRequest(simulator_http_port_, method, path, {}, body);
  if (response.status != 200) {
    throw std::runtime_error(method + " " + path + ": " + std::to_string(response.status) + " " +
                             response.body);
  }
  return Json::parse(response.body);
}

std::size_t GatewayStack::brokerOrderCount(const std::string& cl_ord_id) const {
  return simulatorAdmin("GET", "/v1/orders?cl_ord_id=" + cl_ord_id)["orders"].size();
}

HttpResponse GatewayStack::gatewayGet(const std::string& path) const {
  return httpRequest(gateway_http_port_, "GET", path);
}

HttpResponse GatewayStack::peerGatewayGet(const std::string& path) const {
  return httpRequest(peer_gateway_http_port_, "GET", path);
}

double GatewayStack::gatewayMetric(const std::string& name, const std::string& label_filter) const {
  return metricSum(gatewayGet("/metrics").body, name, label_filter);
}

void GatewayStack::startFillReceiver(const std::vector<std::string>& extra) {
  if (fills_postgres.folder().empty()) {
    fills_postgres.start();
    fills_postgres.createDatabase("fills");
    fills_http_port_ = freeLoopbackPort();
  }
  std::vector<std::string> lines = {
      "postgres_uri = " + fills_postgres.uri("fills"),
      "http_port = " + std::to_string(fills_http_port_),
      "redis_port = " + std::to_string(redis.port()),
      std::string("fix_settings_file = ") + FBG_FIX_CONFIG_DIR + "/fill_receiver.cfg",
      std::string("fix_config_dir = ") + FBG_FIX_CONFIG_DIR,
      "run_dir = " + folder_.string(),
      "fix_accept_port = " + std::to_string(drop_copy_port_),
  };
  lines.insert(lines.end(), extra.begin(), extra.end());
  writeLines(folder_ / "fill_receiver.conf", lines);
  fill_receiver_.launch(FBG_FILL_RECEIVER_BINARY,
                        {"serve", "--config", (folder_ / "fill_receiver.conf").string()}, {},
                        folder_ / "fill_receiver.log");
  if (!waitUntilServing(fill_receiver_, fills_http_port_)) {
    throw std::runtime_error("fill receiver did not start: " + fillReceiverLogTail());
  }
}

HttpResponse GatewayStack::fillsGet(const std::string& path) const {
  return httpRequest(fills_http_port_, "GET", path);
}

double GatewayStack::fillsMetric(const std::string& name, const std::string& label_filter) const {
  return metricSum(fillsGet("/metrics").body, name, label_filter);
}

Json GatewayStack::dropCopySession() const {
  const auto response = fillsGet("/v1/sessions");
  if (response.status != 200) return nullptr;
  const Json body = Json::parse(response.body, nullptr, false);
  if (!body.is_object() || !body.contains("sessions")) return nullptr;
  for (const auto& session : body["sessions"]) {
    if (session.value("session_id", "") == "FIX.4.4:FILLS->" + broker_) return session;
  }
  return nullptr;
}

bool GatewayStack::dropCopyLoggedOn() const {
  const Json session = dropCopySession();
  return session.is_object() && session.value("logged_on", false);
}

std::vector<Json> GatewayStack::groundTruthExecutions() const {
  return allPages(simulator_http_port_, "simulator", 0);
}

std::vector<std::string> GatewayStack::groundTruthExecIds() const {
  std::vector<std::string> ids;
  for (const auto& item : groundTruthExecutions()) ids.push_back(item.at("exec_id"));
  return ids;
}

std::vector<Json> GatewayStack::storedExecutions(int64_t after) const {
  return allPages(fills_http_port_, "fill receiver", after);
}

std::vector<std::string> GatewayStack::storedExecIds() const {
  std::vector<std::string> ids;
  for (const auto& item : storedExecutions()) ids.push_back(item.at("exec_id"));
  return ids;
}

}  // namespace fbg::test
