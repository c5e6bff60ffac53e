// A real gateway stack for one test: a throwaway PostgreSQL (databases gateway and broker_sim)
// and Redis, the simulator and the gateway binaries as child processes on free loopback ports.
// Orders enter as the ledger's outbox relay writes them: entries of orders:{broker}.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "support/http_client.h"
#include "support/postgres_instance.h"
#include "support/process.h"
#include "support/redis_instance.h"
#include "support/temp_folder.h"

namespace fbg::test {

struct OrderEvent {
  std::string event_id;
  std::string kind;
  std::string order_id;
  nlohmann::json payload;
};

class GatewayStack {
 public:
  // broker: SIM-A or SIM-B, for both the simulator and the gateway.
  explicit GatewayStack(std::string broker = "SIM-A");
  ~GatewayStack();

  // extra: "key = value" lines for the simulator's config.
  void startSimulator(const std::vector<std::string>& extra = {});
  void stopSimulator() { simulator_.terminate(10000); }
  void killSimulator() { simulator_.kill9(); }
  // extra: "key = value" lines for the gateway's config (defaults below keep tests quick).
  void startGateway(const std::vector<std::string>& extra = {});
  void killGateway() { gateway_.kill9(); }
  bool stopGateway() { return gateway_.terminate(10000); }
  [[nodiscard]] bool gatewayRunning() { return gateway_.isRunning(); }

  // A second gateway process, for another broker whose simulator is never started (its
  // order-entry port refuses connections): same PostgreSQL server (database gateway_peer) and
  // Redis. For isolation tests.
  void startPeerGateway(const std::string& broker);

  // XADD a NEW entry; returns the order id. limit_price empty: a MARKET order.
  std::string placeOrder(int64_t quantity = 10, const std::string& limit_price = "200.00",
                         const std::string& symbol = "AAPL");
  // The same for another broker's stream (a peer gateway's).
  std::string placeOrderFor(const std::string& broker);
  void requestCancel(const std::string& order_id, int cancel_request);
  // Every order-events entry so far, in stream order.
  [[nodiscard]] std::vector<OrderEvent> events() const;
  // Number of events of `kind` (for `order_id` unless empty), counted by distinct event_id.
  [[nodiscard]] std::size_t eventCount(const std::string& kind,
                                       const std::string& order_id = "") const;

  nlohmann::json simulatorAdmin(const std::string& method, const std::string& path,
                                const std::string& body = "") const;
  // Ground truth: how many broker orders the simulator holds for a ClOrdID.
  [[nodiscard]] std::size_t brokerOrderCount(const std::string& cl_ord_id) const;
  [[nodiscard]] HttpResponse gatewayGet(const std::string& path) const;
  [[nodiscard]] HttpResponse peerGatewayGet(const std::string& path) const;
  [[nodiscard]] std::string gatewaySql(const std::string& query) {
    return postgres.queryScalar("gateway", query);
  }
  [[nodiscard]] long long gatewayCount(const std::string& query) {
    return std::stoll(gatewaySql(query));
  }
  // A metric's value from the gateway's /metrics (sum of the series whose labels contain
  // label_filter).
  [[nodiscard]] double gatewayMetric(const std::string& name,
                                     const std::string& label_filter = "") const;

  [[nodiscard]] const std::string& broker() const { return broker_; }
  [[nodiscard]] int orderPort() const { return order_port_; }
  [[nodiscard]] const std::filesystem::path& folder() const { return folder_; }
  [[nodiscard]] std::string gatewayLogTail() const { return logTail(folder_ / "gateway.log"); }

  // The fill receiver (optional): its own PostgreSQL server (fills_postgres, database fills), so
  // a test can stop the fills database alone; the shared Redis; the drop-copy acceptor on the
  // port the simulator connects to. The first call starts fills_postgres; later calls (after a
  // kill or stop) start the process again on the same ports and database. extra: "key = value"
  // lines for its config. Returns once /healthz answers (not once the drop copy logged on).
  void startFillReceiver(const std::vector<std::string>& extra = {});
  void killFillReceiver() { fill_receiver_.kill9(); }
  bool stopFillReceiver() { return fill_receiver_.terminate(10000); }
  [[nodiscard]] bool fillReceiverRunning() { return fill_receiver_.isRunning(); }
  [[nodiscard]] std::optional<int> waitForFillReceiverExit(int timeout_ms) {
    return fill_receiver_.waitForExit(timeout_ms);
  }
  [[nodiscard]] HttpResponse fillsGet(const std::string& path) const;
  [[nodiscard]] std::string fillsSql(const std::string& query) {
    return fills_postgres.queryScalar("fills", query);
  }
  [[nodiscard]] long long fillsCount(const std::string& query) {
    return std::stoll(fillsSql(query));
  }
  // As gatewayMetric, from the fill receiver's /metrics.
  [[nodiscard]] double fillsMetric(const std::string& name,
                                   const std::string& label_filter = "") const;
  // The fill receiver's GET /v1/sessions entry for this broker's drop copy
  // (FIX.4.4:FILLS->{broker}); null when it does not answer or lists no such session.
  [[nodiscard]] nlohmann::json dropCopySession() const;
  [[nodiscard]] bool dropCopyLoggedOn() const;
  // Ground truth: every report the simulator issued, in issue order (GET /v1/executions pages
  // until an empty one), and their ExecIDs.
  [[nodiscard]] std::vector<nlohmann::json> groundTruthExecutions() const;
  [[nodiscard]] std::vector<std::string> groundTruthExecIds() const;
  // The fill receiver's stored reports in seq order (its GET /v1/executions pages from
  // after = 0), and their ExecIDs.
  [[nodiscard]] std::vector<nlohmann::json> storedExecutions(int64_t after = 0) const;
  [[nodiscard]] std::vector<std::string> storedExecIds() const;
  [[nodiscard]] int dropCopyPort() const { return drop_copy_port_; }
  [[nodiscard]] std::string fillReceiverLogTail() const {
    return logTail(folder_ / "fill_receiver.log");
  }

  PostgresInstance postgres;
  RedisInstance redis;
  PostgresInstance fills_postgres;  // started by the first startFillReceiver()

 private:
  std::string broker_;
  std::filesystem::path folder_;
  int order_port_ = 0;
  int drop_copy_port_ = 0;
  int simulator_http_port_ = 0;
  int gateway_http_port_ = 0;
  int64_t order_sequence_ = 0;
  std::string orderPayload(const std::string& order_id, const std::string& broker, int64_t quantity,
                           const std::string& limit_price, const std::string& symbol) const;
  void launchGateway(ChildProcess& process, const std::string& name,
                     const std::vector<std::string>& lines);

  int peer_gateway_http_port_ = 0;
  ChildProcess simulator_;
  ChildProcess gateway_;
  ChildProcess peer_gateway_;

  int fills_http_port_ = 0;
  ChildProcess fill_receiver_;
};

}  // namespace fbg::test
