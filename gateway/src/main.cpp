// gateway: sends the ledger's orders to one broker over FIX (FLOW.md section 2; API.md
// "Gateway").
//
//   gateway serve --config FILE [--set key=value]...
//   gateway config-help
#include <spdlog/spdlog.h>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/fix_settings_text.h"
#include "common/http.h"
#include "common/migrations.h"
#include "common/service_main.h"
#include "common/stop_signals.h"
#include "event_relay.h"
#include "event_sweeper.h"
#include "fix_sessions_json.h"
#include "gateway_config.h"
#include "gateway_rows.h"
#include "order_sender.h"
#include "reply_handler.h"
#include "stream_reader.h"

std::vector<fbg::Migration> gatewayMigrations();

namespace fbg::gateway {
namespace {

using Json = nlohmann::json;

void registerRoutes(HttpRouter& router, GatewayStore& store, fix::Engine& engine, RedisPool& redis,
                    MetricsRegistry& metrics) {
  router.add("GET", "/healthz",
             [](const HttpRequest&) { return jsonResponse(200, R"({"status":"ok"})"); });
  router.add("GET", "/metrics", [&metrics](const HttpRequest&) {
    return HttpResponse{200, metrics.render(), "text/plain; version=0.0.4", {}};
  });
  router.add("GET", "/v1/sessions", [&engine](const HttpRequest&) {
    return jsonResponse(200, R"({"sessions":)" + fix::sessionsJson(engine) + "}");
  });
  router.add("GET", "/readyz", [&store, &engine, &redis](const HttpRequest&) {
    bool logged_on = true;
    for (const auto& s : engine.sessions()) logged_on = logged_on && s.logged_on;
    const bool postgres = static_cast<bool>(store.ping());
    const bool redis_up = static_cast<bool>(redis.command({"PING"}));
    // Redis down alone is degraded: the session and the database still take the broker's
    // replies, and their events wait in order_events; only new orders wait in the ledger.
    const bool usable = logged_on && postgres;
    const char* status = !usable ? "unavailable" : redis_up ? "ready" : "degraded";
    // API.md's readiness shape: status and components.
    return jsonResponse(usable ? 200 : 503,
                        Json{{"status", status},
                             {"components",
                              {{"fix_session", logged_on ? "logged_on" : "logged_off"},
                               {"postgres", postgres ? "up" : "down"},
                               {"redis", redis_up ? "up" : "down"}}}}
                            .dump());
  });
  router.add("GET", "/v1/broker-orders/{order_id}", [&store](const HttpRequest& request) {
    const std::string& order_id = request.path_params.at("order_id");
    auto found = store.brokerOrderJson(order_id);
    if (!found) return errorResponse(found.error());
    if (!*found) return errorResponse(makeError(ErrorCode::NotFound, "no order " + order_id));
    return jsonResponse(200, **found);
  });
}

// The order-entry session id as QuickFIX prints it: FIX.4.4:GATEWAY->{broker}.
std::string sessionIdOf(const std::string& broker) {
  return "FIX.4.4:GATEWAY->" + broker;
}

int serve(const GatewaySettings& s) {
  if (!migrateWithRetry(s.postgres_uri, gatewayMigrations(), 60)) return 1;
  auto fix_settings =
      loadFixSettings({s.fix_settings_file, s.fix_config_dir, s.run_dir, 0, s.fix_connect_port});
  if (!fix_settings) {
    spdlog::error("{}", fix_settings.error().message);
    return 2;
  }
  MetricsRegistry metrics;
  // postgres_pool_size_max counts the reply applier's connection (reply_pool below) too.
  PgPool pool({s.postgres_uri, s.postgres_pool_size_max - 1, 2000}, prepareGatewayStatements);
  RedisPool redis({s.redis_host, s.redis_port, s.redis_timeout_ms, 8, s.redis_timeout_ms, 500});
  // The reply applier's own connection (one thread): synchronous_commit as configured, set at
  // connect time rather than by a statement in every batch.
  PgPool reply_pool(
      {s.reply_synchronous_commit ? s.postgres_uri : withoutSynchronousCommit(s.postgres_uri), 1,
       2000},
      prepareGatewayStatements);
  GatewayStore store(pool, reply_pool,
                     {.broker = s.broker,
                      .retry = s.retry,
                      .broker_answers_status_requests = s.broker_answers_status_requests,
                      .retry_hold_ms_max = s.retry_hold_ms_max});
  BrokerProgress progress(std::chrono::milliseconds(s.retry.ack_timeout_ms));
  EventRelay relay({.stream = "order-events",
                    .batch_size_max = s.event_batch_size_max,
                    .poll_interval_ms = s.event_poll_interval_ms,
                    .idle_wait_ms_max = s.event_idle_wait_ms_max,
                    .batch_linger_ms = s.event_batch_linger_ms,
                    .stream_length_max = s.event_stream_length_max},
                   pool, redis, metrics);
  EventSweeper event_sweeper({.stream = "order-events",
                              .interval_ms = s.event_sweep_interval_ms,
                              .grace_ms = s.event_sweep_grace_ms,
                              .batch_size_max = s.event_sweep_batch_size_max,
                              .stream_length_max = s.event_stream_length_max},
                             pool, redis, metrics);
  OrderSender* sender_ref = nullptr;
  ReplyApplier applier(
      {.queue_size_max = s.reply_queue_size_max,
       .batch_size_max = s.reply_batch_size_max,
       .batch_linger_ms = s.reply_batch_linger_ms,
       .retry_interval_ms = 500},
      store, progress, metrics,
      [&] {
        if (sender_ref) sender_ref->wake();
      },
      [&] { relay.wake(); });
  ReplyHandler replies(store, applier, s.resend_age_ms_max, metrics);
  Gauge& logged_on = metrics.gauge("gateway_fix_session_logged_on",
                                   "1 while the order-entry session is logged on.");
  fix::EngineCallbacks callbacks;
  callbacks.on_logon = [&](const std::string&) {
    logged_on.set(1);
    if (sender_ref) sender_ref->wake();
  };
  callbacks.on_logout = [&](const std::string&) { logged_on.set(0); };
  callbacks.on_app_message = [&](const std::string&, const fix::Message& message) {
    return replies.onAppMessage(message);
  };
  callbacks.before_app_send = [&](const std::string&, const fix::Message& message, bool dup) {
    return replies.beforeSend(message, dup);
  };
  const fix::StoreOptions fix_store{
      .kind = fix::StoreKind::Postgres,
      .postgres_uri = s.fix_store_synchronous_commit ? s.postgres_uri
                                                     : withoutSynchronousCommit(s.postgres_uri),
      .target_seq_write_every_messages = s.fix_store_target_seq_write_every_messages,
      .sender_seq_block_messages = s.fix_store_sender_seq_block_messages};
  fix::Engine engine(fix::EngineRole::Initiator, *fix_settings, fix_store, callbacks);
  OrderSender sender({.session_id = sessionIdOf(s.broker),
                      .batch_size_max = s.sender_batch_size_max,
                      .in_flight_orders_max = s.in_flight_orders_max,
                      .poll_interval_ms = s.sender_poll_interval_ms,
                      .idle_wait_ms_max = s.sender_idle_wait_ms_max,
                      .retry_interval_ms = 500},
                     store, progress, engine, metrics, [&] { relay.wake(); });
  sender_ref = &sender;
  StreamReader reader({.stream = "orders:" + s.broker,
                       .group = s.stream_consumer_group,
                       .consumer = s.stream_consumer_name,
                       .batch_size_max = s.stream_batch_size_max,
                       .block_ms = s.stream_block_ms,
                       .retry_interval_ms = 500},
                      redis, store, metrics, [&](const IntakeCounts& counts) {
                        sender.wake();
                        // A refused NEW entry or a cancel may have written an order event.
                        if (counts.refused > 0 || counts.cancels > 0) relay.wake();
                      });
  auto router = std::make_shared<HttpRouter>();
  registerRoutes(*router, store, engine, redis, metrics);
  // Listening comes before the recheck below and before any session starts: a second gateway
  // started on a taken port (the same config twice) stops here, before it touches the orders or
  // the FIX session of the one that runs.
  HttpServer server({.bind_address = s.http_bind_address,
                     .port = s.http_port,
                     .threads_max = 8,
                     .queue_length_max = 64},
                    router, metrics);
  if (auto rechecked = store.recheckInFlight(); !rechecked) {
    // Not fatal: each order in flight is still retried at its own deadline, only later.
    spdlog::warn("orders in flight not rechecked at start: {}", rechecked.error().message);
  } else if (*rechecked > 0) {
    spdlog::info("{} orders were in flight at the last stop: rechecking them", *rechecked);
  }
  applier.start();
  engine.start();
  sender.start();
  reader.start();
  relay.start();
  if (s.event_sweep_interval_ms > 0) event_sweeper.start();
  server.start();
  spdlog::info("gateway {} on HTTP port {}", s.broker, server.port());
  spdlog::info("signal {}: stopping", waitForStopSignal());
  server.stop();
  reader.stop();
  sender.stop();
  engine.stop();
  applier.stop();
  if (s.event_sweep_interval_ms > 0) event_sweeper.stop();
  relay.stop();
  return 0;
}

}  // namespace
}  // namespace fbg::gateway

int main(int argc, char** argv) {
  return fbg::runService<fbg::gateway::GatewaySettings>(
      "gateway", argc, argv, fbg::gateway::gatewayConfigSchema(), fbg::gateway::loadGatewaySettings,
      fbg::gateway::serve);
}
