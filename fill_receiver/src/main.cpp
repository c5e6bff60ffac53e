// fill_receiver: the system's record of what the brokers did (FLOW.md section 3; API.md "Fill
// receiver"). Every ExecutionReport of every drop-copy session is committed, once per (broker,
// ExecID), before the FIX store persists a sequence number past it (group commit:
// report_writer.h), then published to the executions stream.
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
#include "report_writer.h"

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
  ReportSink(ReportWriter& writer, MetricsRegistry& metrics)
      : writer_(writer),
        received_(metrics.counter("fills_reports_received_total",
                                  "Execution reports received (duplicates included).")),
        invalid_(metrics.counter("fills_reports_invalid_total",
                                 "Reports refused as malformed (logged, not stored).")) {}

  // Validates the report and hands it to the batch writer; QuickFIX counts it when this returns
  // Accepted, but the FIX store persists no number past it until its batch has committed.
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
    const std::string exec_id = record->exec_id;
    const Handover handover = writer_.handOver({session_id, message.msg_seq_num, std::move(*record),
                                                message.raw, std::chrono::steady_clock::now()});
    if (handover == Handover::Queued) return fix::Delivery::Accepted;
    // As a failed commit was before group commit: the session drops without counting the
    // report, and the broker resends it.
    spdlog::error("{}: report {} not stored: {}", session_id, exec_id,
                  handover == Handover::QueueFull ? "the writer's queue stayed full"
                                                  : "the database is down");
    return fix::Delivery::StorageFailed;
  }

 private:
  ReportWriter& writer_;
  Counter& received_;
  Counter& invalid_;
};

// GET /v1/sessions: QuickFIX's numbers, and per session durable_target_seq_num: every report
// below it is committed (the number the FIX store may persist now).
std::string sessionsJson(const fix::Engine& engine, const ReportWriter& writer) {
  Json sessions = Json::array();
  for (const auto& s : engine.sessions()) {
    // QuickFIX's number first, the pending reports after: a report handed over in between has
    // a number at or above the one read, so the result never claims it.
    sessions.push_back(
        {{"session_id", s.session_id},
         {"logged_on", s.logged_on},
         {"next_sender_seq_num", s.next_sender_seq_num},
         {"next_target_seq_num", s.next_target_seq_num},
         {"durable_target_seq_num", writer.limit(s.session_id, s.next_target_seq_num)}});
  }
  return sessions.dump();
}

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

void registerRoutes(HttpRouter& router, FillsStore& store, fix::Engine& engine,
                    const ReportWriter& writer, RedisPool& redis, MetricsRegistry& metrics,
                    int page_size_max) {
  router.add("GET", "/healthz",
             [](const HttpRequest&) { return jsonResponse(200, R"({"status":"ok"})"); });
  router.add("GET", "/metrics", [&metrics](const HttpRequest&) {
    return HttpResponse{200, metrics.render(), "text/plain; version=0.0.4", {}};
  });
  router.add("GET", "/v1/sessions", [&engine, &writer](const HttpRequest&) {
    return jsonResponse(200, R"({"sessions":)" + sessionsJson(engine, writer) + "}");
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
                        .idle_wait_ms_max = s.relay_idle_wait_ms_max,
                        .handoff_rows_max = s.relay_handoff_rows_max,
                        .table_read_interval_ms = s.relay_table_read_interval_ms,
                        .stream_length_max = s.stream_length_max},
                       pool, redis, metrics);
  ReportWriter writer({.queue_reports_max = s.store_queue_reports_max,
                       .queue_full_wait_ms = s.store_queue_full_wait_ms,
                       .batch_reports_max = s.store_batch_reports_max,
                       .batch_linger_ms = s.store_batch_linger_ms,
                       .retry_interval_ms = s.store_retry_interval_ms,
                       .drain_wait_ms = s.store_reset_drain_wait_ms,
                       .stop_wait_ms = s.store_stop_wait_ms},
                      store, relay, metrics);
  ReportSink sink(writer, metrics);
  fix::EngineCallbacks callbacks;
  callbacks.on_app_message = [&sink](const std::string& session, const fix::Message& message) {
    return sink.onMessage(session, message);
  };
  // The FIX store lives in the fills database itself: each batch raises its sessions'
  // fix_sessions.next_target_seq in the statement that stores the reports
  // (FillsStore::storeBatch), and the store holds its own writes under the writer's horizon.
  const fix::StoreOptions fix_store{
      .kind = fix::StoreKind::Postgres,
      .postgres_uri = s.fix_store_synchronous_commit ? s.postgres_uri
                                                     : withoutSynchronousCommit(s.postgres_uri),
      .target_seq_write_every_messages = s.fix_store_target_seq_write_every_messages,
      .target_seq_hold = {
          .limit = [&writer](
                       const std::string& session_id,
                       int next_target_seq) { return writer.limit(session_id, next_target_seq); },
          .drain = [&writer](const std::string& session_id) { return writer.drain(session_id); }},
      .sender_seq_block_messages = s.fix_store_sender_seq_block_messages};
  fix::Engine engine(fix::EngineRole::Acceptor, *fix_settings, fix_store, callbacks);
  auto router = std::make_shared<HttpRouter>();
  registerRoutes(*router, store, engine, writer, redis, metrics, s.page_size_max);
  HttpServer server({.bind_address = s.http_bind_address,
                     .port = s.http_port,
                     .threads_max = 8,
                     .queue_length_max = 64},
                    router, metrics);
  relay.start();
  writer.start();
  engine.start();
  server.start();
  spdlog::info("fill_receiver on HTTP port {}", server.port());
  spdlog::info("signal {}: stopping", waitForStopSignal());
  server.stop();
  engine.stop();  // no more handovers; the stores' last writes still ask the writer's horizon
  writer.stop();
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
