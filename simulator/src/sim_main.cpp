// simulator: the broker simulator (FLOW.md "The broker simulator"; API.md simulator section).
//
//   simulator serve --config FILE [--set key=value]...
//   simulator config-help
#include <spdlog/spdlog.h>
#include <csignal>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "broker_service.h"
#include "common/config.h"
#include "common/http.h"
#include "common/identifiers.h"
#include "common/migrations.h"
#include "common/pg_pool.h"
#include "common/service_main.h"
#include "common/stop_signals.h"

std::vector<fbg::Migration> simulatorMigrations();

namespace fbg::simulator {
namespace {

// The drop-copy thread's longest wait for new reports after a round that sent nothing.
constexpr int kDropCopyIdleWaitMs = 100;

const ConfigSchema& schema() {
  using T = ConfigType;
  static const ConfigSchema keys = {
      {"profile", T::String, std::nullopt, "SIM-A (answers status requests) or SIM-B (does not)"},
      {"http_bind_address", T::String, "127.0.0.1", "admin API address"},
      {"http_port", T::Integer, "8083", "admin API port", 0, 65535},
      {"postgres_uri", T::String, std::nullopt, "libpq URI of the broker_sim database"},
      {"fix_settings_file", T::String, std::nullopt,
       "QuickFIX settings (fix_config/simulator-*.cfg)"},
      {"fix_config_dir", T::String, std::nullopt, "folder of FIX44.xml, for ${FIX_CONFIG_DIR}"},
      {"run_dir", T::String, std::nullopt, "folder for FIX logs, for ${RUN_DIR}"},
      {"fix_order_port", T::Integer, "0", "order-entry accept port; 0 keeps the file's", 0, 65535},
      {"fix_drop_copy_port", T::Integer, "0", "drop-copy connect port; 0 keeps the file's", 0,
       65535},
      {"default_price", T::Money, "100.00", "price of a symbol nobody has set"},
      {"price_walk_seed", T::Integer, "1",
       "seed of the prices' random walk: the same seed replays the same prices", 0, INT64_MAX},
      {"price_walk_step_bps", T::Integer, "0",
       "basis points a price moves up or down at each market tick (fill_delay_ms), for symbols "
       "with a set price or an open order; 0: prices move only through PUT /v1/prices",
       0, kWalkStepBpsMax},
      {"fix_store_synchronous_commit", T::Boolean, "false",
       "postgres store: wait for the WAL flush on every FIX store write (off: a sent message "
       "and its sequence number still commit together and survive a crash of this process)"},
      {"fix_store_sender_seq_block_messages", T::Integer, "1000",
       "postgres store: sender sequence numbers reserved per synchronous commit; after a "
       "crash of the database server the session resumes at the reserved bound, never behind a "
       "number the gateway or the fill receiver saw (their resend request for the numbers "
       "skipped gets a gap fill). 1 commits every sent number synchronously",
       1, 1000000},
      {"fix_store_target_seq_write_every_messages", T::Integer, "64",
       "postgres store: the gateway's sequence number is written every this many received "
       "messages (and with every sent one); behind after a crash, the gateway resends those "
       "messages (PossDupFlag=Y), which are answered idempotently (ClOrdID, cancel ClOrdID, "
       "status); 1 writes it on every message",
       1, 100000},
      {"store_synchronous_commit", T::Boolean, "false",
       "wait for the WAL flush on every write of the book and its reports (off: what was booked "
       "survives a crash of this process, not of the PostgreSQL server; the simulator stands in "
       "for the broker, whose own storage is not this system's, and a flush per order capped it "
       "at ~25 orders/s on a busy 2-core machine)"},
      {"fix_store", T::String, "postgres",
       "FIX sequence numbers and sent messages: postgres (postgres_uri) or file (QuickFIX "
       "FileStore in the settings' FileStorePath, under run_dir; not fsynced)"},
  };
  return keys;
}

std::string readFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error("cannot read " + path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// Placeholders and port overrides; a placeholder left over is refused, not left empty.
std::string fixSettings(const Config& config) {
  std::string text = readFile(config.string("fix_settings_file"));
  text = std::regex_replace(text, std::regex(R"(\$\{FIX_CONFIG_DIR\})"),
                            config.string("fix_config_dir"));
  text = std::regex_replace(text, std::regex(R"(\$\{RUN_DIR\})"), config.string("run_dir"));
  if (const auto port = config.integer("fix_order_port"); port != 0) {
    text = std::regex_replace(text, std::regex("SocketAcceptPort=[0-9]+"),
                              "SocketAcceptPort=" + std::to_string(port));
  }
  if (const auto port = config.integer("fix_drop_copy_port"); port != 0) {
    text = std::regex_replace(text, std::regex("SocketConnectPort=[0-9]+"),
                              "SocketConnectPort=" + std::to_string(port));
  }
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line[0] != '#' && line.find("${") != std::string::npos) {
      throw std::runtime_error("unknown placeholder in FIX settings: " + line);
    }
  }
  return text;
}

// fix_store was checked in main(): postgres or file.
fix::StoreOptions fixStore(const Config& config) {
  const bool file = config.string("fix_store") == "file";
  const std::string& uri = config.string("postgres_uri");
  return {file ? fix::StoreKind::File : fix::StoreKind::Postgres,
          config.boolean("fix_store_synchronous_commit") ? uri : withoutSynchronousCommit(uri),
          static_cast<int>(config.integer("fix_store_target_seq_write_every_messages")),
          {},
          static_cast<int>(config.integer("fix_store_sender_seq_block_messages"))};
}

void registerRoutes(HttpRouter& router, BrokerService& broker, MetricsRegistry& metrics) {
  using Json = nlohmann::json;
  router.add("GET", "/healthz",
             [](const HttpRequest&) { return jsonResponse(200, R"({"status":"ok"})"); });
  router.add("GET", "/metrics", [&metrics](const HttpRequest&) {
    return HttpResponse{200, metrics.render(), "text/plain; version=0.0.4", {}};
  });
  router.add("GET", "/v1/faults", [&broker](const HttpRequest&) {
    return jsonResponse(200, faultsJson(broker.faults()));
  });
  router.add("PUT", "/v1/faults", [&broker](const HttpRequest& request) {
    if (auto set = broker.setFaults(request.body); !set) return errorResponse(set.error());
    return jsonResponse(200, faultsJson(broker.faults()));
  });
  router.add("PUT", "/v1/prices/{symbol}", [&broker](const HttpRequest& request) {
    const std::string& symbol = request.path_params.at("symbol");
    const Json body = Json::parse(request.body, nullptr, false);
    if (!isValidSymbol(symbol) || !body.is_object() || !body.contains("price") ||
        !body["price"].is_string()) {
      return errorResponse(makeError(ErrorCode::InvalidRequest,
                                     "expected {\"price\": \"187.10\"} for a valid symbol"));
    }
    auto price = Money::parse(body["price"].get<std::string>());
    if (!price || !price->isPositive())
      return errorResponse(makeError(ErrorCode::InvalidRequest, "price must be > 0"));
    broker.setPrice(symbol, *price);
    return jsonResponse(200, Json{{"symbol", symbol}, {"price", price->toString()}}.dump());
  });
  router.add("GET", "/v1/prices/{symbol}", [&broker](const HttpRequest& request) {
    const std::string& symbol = request.path_params.at("symbol");
    return jsonResponse(
        200, Json{{"symbol", symbol}, {"price", broker.price(symbol).toString()}}.dump());
  });
  router.add("GET", "/v1/orders", [&broker](const HttpRequest& request) {
    const std::string* id = request.queryParam("cl_ord_id");
    if (id == nullptr || id->empty())
      return errorResponse(makeError(ErrorCode::InvalidRequest, "cl_ord_id is required"));
    return jsonResponse(200, R"({"orders":)" + broker.ordersJson(*id) + "}");
  });
  router.add("GET", "/v1/executions", [&broker](const HttpRequest& request) {
    const std::string* after_text = request.queryParam("after");
    const std::string* limit_text = request.queryParam("limit");
    int64_t after = 0;
    int limit = 1000;
    try {
      if (after_text) after = std::stoll(*after_text);
      if (limit_text) limit = std::stoi(*limit_text);
    } catch (const std::exception&) {
      return errorResponse(
          makeError(ErrorCode::InvalidRequest, "after and limit must be whole numbers"));
    }
    if (after < 0 || limit < 1 || limit > 10000)
      return errorResponse(makeError(ErrorCode::InvalidRequest, "limit is 1..10000"));
    Json items = Json::array();
    int64_t next = after;
    for (const auto& stored : broker.executionsAfter(after, limit)) {
      const auto& r = stored.report;
      items.push_back({{"seq", stored.seq},
                       {"exec_id", r.exec_id},
                       {"cl_ord_id", r.cl_ord_id},
                       {"broker_order_id", r.broker_order_id},
                       {"exec_type", std::string(1, fixCode(r.exec_type))},
                       {"ord_status", std::string(1, fixCode(r.ord_status))},
                       {"last_qty", r.last_qty},
                       {"last_px", r.last_px.toString()},
                       {"cum_qty", r.cum_qty},
                       {"leaves_qty", r.leaves_qty}});
      next = stored.seq;
    }
    return jsonResponse(200, Json{{"executions", items}, {"next_after", next}}.dump());
  });
}

int serve(const Config& config) {
  const std::string uri = config.string("postgres_uri");
  if (auto migrated = applyMigrations(uri, simulatorMigrations()); !migrated) {
    spdlog::error("migrations: {}", migrated.error().message);
    return 1;
  }
  const std::string profile = config.string("profile");
  MetricsRegistry metrics;
  SimStore store(config.boolean("store_synchronous_commit") ? uri : withoutSynchronousCommit(uri));
  BrokerService broker(
      {profile, profile == "SIM-A", config.money("default_price"), "FIX.4.4:" + profile + "->FILLS",
       256, static_cast<uint64_t>(config.integer("price_walk_seed")),
       config.integer("price_walk_step_bps")},
      store, metrics);
  const std::string settings = fixSettings(config);
  fix::EngineCallbacks order_callbacks;
  order_callbacks.on_app_message = [&broker](const std::string& session,
                                             const fix::Message& message) {
    return broker.onOrderEntry(session, message);
  };
  fix::Engine order_entry(fix::EngineRole::Acceptor, settings, fixStore(config), order_callbacks);
  fix::Engine drop_copy(fix::EngineRole::Initiator, settings, fixStore(config),
                        fix::EngineCallbacks{});
  broker.attach(&order_entry, &drop_copy);
  auto router = std::make_shared<HttpRouter>();
  registerRoutes(*router, broker, metrics);
  // Listening first: a taken admin port must end the start before the sessions log on and before
  // the threads below exist (a throw past a joinable std::thread terminates the process).
  HttpServer server({.bind_address = config.string("http_bind_address"),
                     .port = static_cast<int>(config.integer("http_port")),
                     .threads_max = 8,
                     .queue_length_max = 64},
                    router, metrics);
  order_entry.start();
  drop_copy.start();
  std::atomic<bool> stopping{false};
  std::thread ticker([&] {
    while (!stopping) {
      try {
        broker.marketTick();
      } catch (const std::exception& failure) {
        spdlog::warn("market tick: {}", failure.what());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(broker.faults().fill_delay_ms));
    }
  });
  std::thread copier([&] {
    while (!stopping) {
      int sent = 0;
      try {
        sent = broker.dropCopyRound();
      } catch (const std::exception& failure) {
        spdlog::warn("drop copy: {}", failure.what());
      }
      // Woken by the next recorded report rather than polling the store every few ms; read
      // again at once only after a full batch (a report recorded meanwhile wakes it at once).
      if (sent < broker.dropCopyBatchSizeMax()) {
        broker.waitForReports(std::chrono::milliseconds(kDropCopyIdleWaitMs));
      }
    }
  });
  server.start();
  spdlog::info("simulator {} admin on port {}", profile, server.port());
  spdlog::info("signal {}: stopping", waitForStopSignal());
  stopping = true;
  server.stop();
  ticker.join();
  copier.join();
  drop_copy.stop();
  order_entry.stop();
  return 0;
}

}  // namespace
}  // namespace fbg::simulator

namespace fbg::simulator {
namespace {

// The declared keys, then the two whose values are a closed set.
Result<Config> loadConfig(const std::string& path, const std::vector<std::string>& overrides) {
  auto config = Config::load(schema(), path, overrides);
  if (!config) return config;
  const std::string& profile = config->string("profile");
  if (profile != "SIM-A" && profile != "SIM-B") {
    return makeError(ErrorCode::InvalidRequest, "config key 'profile' must be SIM-A or SIM-B");
  }
  if (const std::string& store = config->string("fix_store");
      store != "postgres" && store != "file") {
    return makeError(ErrorCode::InvalidRequest,
                     "config key 'fix_store' must be postgres or file, not '" + store + "'");
  }
  return config;
}

}  // namespace
}  // namespace fbg::simulator

int main(int argc, char** argv) {
  return fbg::runService<fbg::Config>("simulator", argc, argv, fbg::simulator::schema(),
                                      fbg::simulator::loadConfig, fbg::simulator::serve);
}
