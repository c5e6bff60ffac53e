// fill_receiver: the system's record of what the brokers did (FLOW.md section 3; API.md "Fill
// receiver"). Every ExecutionReport of every drop-copy session is committed before QuickFIX
// counts it, once per (broker, ExecID), then published to the executions stream.
//
//   fill_receiver serve --config FILE [--set key=value]...
//   fill_receiver config-help
#include <spdlog/spdlog.h>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/fix_settings_text.h"
#include "common/http.h"
#include "common/migrations.h"
#include "common/service_main.h"
#include "common/stop_signals.h"
#include "execution_relay.h"
#include "fill_config.h"
#include "fix_engine.h"
#include "fix_sessions_json.h"

std::vector<fbg::Migration> fillMigrations();

namespace fbg::fills {
namespace {

using Json = nlohmann::json;

// "FIX.4.4:FILLS->SIM-A" -> "SIM-A": the broker is the session's counterparty.
std::string brokerOf(const std::string& session_id) {
  const auto arrow = session_id.find("->");
  return arrow == std::string::npos ? session_id : session_id.substr(arrow + 2);
}

class ReportSink {
 public:
  ReportSink(FillsStore& store, ExecutionRelay& relay, MetricsRegistry& metrics)
      : store_(store),
        relay_(relay),
        received_(metrics.counter("fills_reports_received_total",
                                  "Execution reports received (duplicates included).")),
        stored_(metrics.counter("fills_reports_stored_total", "Execution reports stored.")),
        duplicates_(metrics.counter("fills_reports_duplicate_total",
                                    "Reports whose (broker, ExecID) was already stored.")),
        invalid_(metrics.counter("fills_reports_invalid_total",
                                 "Reports refused as malformed (logged, not stored).")),
        failures_(metrics.counter("fills_store_failures_total",
                                  "Reports not stored (database down): the session drops and "
                                  "the broker resends them.")),
        store_latency_(metrics.histogram("fills_store_seconds", "Time to commit one report.")) {}

  fix::Delivery onMessage(const std::string& session_id, const fix::Message& message) {
    if (message.msg_type != "8") return fix::Delivery::UnsupportedMessageType;
    received_.add();
    std::vector<FixField> body;
    for (const auto& field : message.body) body.push_back({field.tag, field.value});
    auto record = parseExecutionReport(body, brokerOf(session_id));
    if (!record) {
      invalid_.add();
      spdlog::error("{}: report refused: {}: {}", session_id, record.error().message, message.raw);
      return fix::Delivery::Accepted;  // keeping it would not make it valid; it is logged
    }
    const auto started = std::chrono::steady_clock::now();
    auto stored = store_.store(*record, message.raw);
    if (!stored) {
      failures_.add();
      spdlog::error("{}: report {} not stored: {}", session_id, record->exec_id,
                    stored.error().message);
      return fix::Delivery::StorageFailed;
    }
    store_latency_.observeMicros(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::steady_clock::now() - started)
                                     .count());
    if (*stored == StoreOutcome::Duplicate) {
      duplicates_.add();
      return fix::Delivery::Accepted;
    }
    stored_.add();
    relay_.wake();
    return fix::Delivery::Accepted;
  }

 private:
  FillsStore& store_;
  ExecutionRelay& relay_;
  Counter& received_;
  Counter& stored_;
  Counter& duplicates_;
  Counter& invalid_;
  Counter& failures_;
  Histogram& store_latency_;
};

HttpResponse executionsPage(FillsStore& store, const HttpRequest& request, int page_size_max) {
  int64_t after = 0;
  int limit = std::min(100, page_size_max);
  try {
    if (const auto* text = request.queryParam("after")) after = std::stoll(*text);
    if (const auto* text = request.queryParam("limit")) limit = std::stoi(*text);
  } catch (const std::exception&) {
    return errorResponse(
        makeError(ErrorCode::InvalidRequest, "after and limit must be whole numbers"));
  }
  if (after < 0 || limit < 1 || limit > page_size_max) {
    return errorResponse(makeError(ErrorCode::InvalidRequest,
                                   "after >= 0, limit 1.." + std::to_string(page_size_max)));
  }
  auto rows = store.after(after, limit);
  if (!rows) return errorResponse(rows.error());
  std::string items;
  int64_t next = after;
  for (const auto& row : *rows) {
    items += (items.empty() ? "" : ",") + executionJson(row);
    next = row.seq;
  }
  return jsonResponse(
      200, R"({"executions":[)" + items + R"(],"next_after":)" + std::to_string(next) + "}");
}

void registerRoutes(HttpRouter& router, FillsStore& store, fix::Engine& engine, RedisPool& redis,
                    MetricsRegistry& metrics, int page_size_max) {
  router.add("GET", "/healthz",
             [](const HttpRequest&) { return jsonResponse(200, R"({"status":"ok"})"); });
  router.add("GET", "/metrics", [&metrics](const HttpRequest&) {
    return HttpResponse{200, metrics.render(), "text/plain; version=0.0.4", {}};
  });
  router.add("GET", "/v1/sessions", [&engine](const HttpRequest&) {
    return jsonResponse(200, R"({"sessions":)" + fix::sessionsJson(engine) + "}");
  });
  router.add("GET", "/v1/executions", [&store, page_size_max](const HttpRequest& request) {
    return executionsPage(store, request, page_size_max);
  });
  router.add("GET", "/readyz", [&store, &engine, &redis](const HttpRequest&) {
    Json sessions = Json::object();
    bool all_logged_on = true;
    for (const auto& s : engine.sessions()) {
      sessions[s.session_id] = s.logged_on ? "logged_on" : "logged_off";
      all_logged_on = all_logged_on && s.logged_on;
    }
    const bool postgres = static_cast<bool>(store.ping());
    const bool redis_up = static_cast<bool>(redis.command({"PING"}));
    // Ready while reports can be stored. Redis down is degraded, not unready: reports are still
    // stored and served by polling. A logged-off drop copy is degraded too, not unready: an
    // acceptor cannot make a broker connect, and one broker being away (SIM-B's simulator not
    // running) must not make the receiver look unavailable while it stores the other brokers'
    // reports and serves the polling API. (Was: 503 whenever any session was logged off.)
    const bool ready = postgres;
    return jsonResponse(ready ? 200 : 503,
                        Json{{"status", !ready                      ? "unavailable"
                                        : redis_up && all_logged_on ? "ready"
                                                                    : "degraded"},
                             // API.md's readiness shape, as the ledger's and the gateway's.
                             {"components",
                              {{"postgres", postgres ? "up" : "down"},
                               {"redis", redis_up ? "up" : "down"},
                               {"fix_sessions", sessions}}}}
                            .dump());
  });
}

int serve(const FillSettings& s) {
  if (!migrateWithRetry(s.postgres_uri, fillMigrations(), 60)) return 1;
  auto fix_settings =
      loadFixSettings({s.fix_settings_file, s.fix_config_dir, s.run_dir, s.fix_accept_port, 0});
  if (!fix_settings) {
    spdlog::error("{}", fix_settings.error().message);
    return 2;
  }
  MetricsRegistry metrics;
  PgPool pool({s.postgres_uri, s.postgres_pool_size_max, 2000}, FillsStore::prepareStatements);
  RedisPool redis({s.redis_host, s.redis_port, s.redis_timeout_ms, 4, s.redis_timeout_ms, 500});
  FillsStore store(pool);
  ExecutionRelay relay({.stream = "executions",
                        .batch_size_max = s.relay_batch_size_max,
                        .poll_interval_ms = s.relay_poll_interval_ms,
                        .stream_length_max = s.stream_length_max},
                       pool, redis, metrics);
  ReportSink sink(store, relay, metrics);
  fix::EngineCallbacks callbacks;
  callbacks.on_app_message = [&sink](const std::string& session, const fix::Message& message) {
    return sink.onMessage(session, message);
  };
  const fix::StoreOptions fix_store{
      .kind = fix::StoreKind::Postgres,
      .postgres_uri = s.fix_store_synchronous_commit ? s.postgres_uri
                                                     : withoutSynchronousCommit(s.postgres_uri),
      .target_seq_write_every_messages = s.fix_store_target_seq_write_every_messages};
  fix::Engine engine(fix::EngineRole::Acceptor, *fix_settings, fix_store, callbacks);
  auto router = std::make_shared<HttpRouter>();
  registerRoutes(*router, store, engine, redis, metrics, s.page_size_max);
  HttpServer server({s.http_bind_address, s.http_port, 8, 64, 64 * 1024, 10'000}, router, metrics);
  relay.start();
  engine.start();
  server.start();
  spdlog::info("fill_receiver on HTTP port {}", server.port());
  spdlog::info("signal {}: stopping", waitForStopSignal());
  server.stop();
  engine.stop();
  relay.stop();
  return 0;
}

}  // namespace
}  // namespace fbg::fills

int main(int argc, char** argv) {
  return fbg::runService<fbg::fills::FillSettings>("fill_receiver", argc, argv,
                                                   fbg::fills::fillConfigSchema(),
                                                   fbg::fills::loadFillSettings, fbg::fills::serve);
}
