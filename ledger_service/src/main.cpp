// ledger_service: the REST ledger (API.md "Ledger service").
//
//   ledger_service serve      --config FILE [--set key=value]...
//   ledger_service migrate    --config FILE [--set key=value]...
//   ledger_service reconcile  --config FILE [--set key=value]...   (exit 1: differences found)
//   ledger_service mint-token --config FILE --sub SUB --role trader|admin [--account ID]...
//                             [--ttl-s SECONDS]
//   ledger_service config-help
#include <spdlog/spdlog.h>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "common/auth_token.h"
#include "common/migrations.h"
#include "common/stop_signals.h"
#include "event_consumers.h"
#include "executions_sweeper.h"
#include "ledger_api.h"
#include "ledger_config.h"
#include "outbox_sweeper.h"
#include "reconcile.h"

std::vector<fbg::Migration> ledgerMigrations();

namespace {

struct CommandLine {
  std::string command;
  std::string config_path;
  std::vector<std::string> overrides;
  std::string subject;
  std::string role;
  std::vector<std::string> accounts;
  int64_t ttl_s = int64_t{24} * 3600;
};

std::optional<CommandLine> parseCommandLine(int argc, char** argv) {
  if (argc < 2) return std::nullopt;
  CommandLine line;
  line.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return std::nullopt;
    const std::string value = argv[++i];
    if (flag == "--config")
      line.config_path = value;
    else if (flag == "--set")
      line.overrides.push_back(value);
    else if (flag == "--sub")
      line.subject = value;
    else if (flag == "--role")
      line.role = value;
    else if (flag == "--account")
      line.accounts.push_back(value);
    else if (flag == "--ttl-s")
      line.ttl_s = std::stoll(value);
    else
      return std::nullopt;
  }
  return line;
}

int usage() {
  std::cerr << "usage: ledger_service serve|migrate|reconcile|mint-token|config-help --config FILE "
               "[--set key=value]...\n";
  return 2;
}

int reconcileCommand(const fbg::ledger::LedgerSettings& settings) {
  using namespace fbg;
  using namespace fbg::ledger;
  if (!migrateWithRetry(settings.postgres_uri, ledgerMigrations(), 1)) return 2;
  MetricsRegistry metrics;
  PgPool pool({settings.postgres_uri, 2, settings.postgres_acquire_timeout_ms},
              [](pqxx::connection& connection) {
                LedgerStore::prepareStatements(connection);
                EventApplier::prepareStatements(connection);
              });
  RedisPool redis({settings.redis_host, settings.redis_port, settings.redis_timeout_ms, 2,
                   settings.redis_timeout_ms, settings.redis_down_retry_interval_ms});
  AccountLocks locks(redis,
                     {settings.lock_ttl_ms, settings.lock_wait_ms_max, settings.lock_backoff_ms_min,
                      settings.lock_backoff_ms_max},
                     metrics);
  GuardedWriter writer(locks, settings.version_retry_count_max, metrics);
  EventApplier applier(pool, writer, metrics, /*cursor_write_interval_ms=*/0);
  auto report = reconcile({settings.postgres_uri, settings.fill_receiver_host,
                           settings.fill_receiver_port, 1000, 10'000'000},
                          applier);
  if (!report) {
    std::cerr << "reconcile: " << report.error().message << "\n";
    return 2;
  }
  for (const auto& difference : report->differences)
    std::cout << "DIFFERENCE " << difference << "\n";
  std::cout << "reports checked: " << report->reports_checked
            << ", unconfirmed settled: " << report->unconfirmed_settled
            << ", unconfirmed left: " << report->unconfirmed_left
            << ", differences: " << report->differences.size() << "\n";
  return report->differences.empty() ? 0 : 1;
}

fbg::ledger::ExecutionsSweeperSettings sweeperSettings(
    const fbg::ledger::LedgerSettings& settings) {
  // A page of the sweep is not urgent: a slow fill receiver is waited for a while.
  constexpr int kSweepFetchTimeoutMs = 5000;
  return {{settings.fill_receiver_host, settings.fill_receiver_port, kSweepFetchTimeoutMs},
          settings.sweep_interval_ms,
          settings.sweep_grace_ms,
          settings.sweep_page_size,
          settings.sweep_pages_max};
}

int serve(const fbg::ledger::LedgerSettings& settings) {
  using namespace fbg;
  using namespace fbg::ledger;
  if (!migrateWithRetry(settings.postgres_uri, ledgerMigrations(), 60)) return 1;
  MetricsRegistry metrics;
  PgPool pool({settings.postgres_uri, settings.postgres_pool_size_max,
               settings.postgres_acquire_timeout_ms},
              [](pqxx::connection& connection) {
                LedgerStore::prepareStatements(connection);
                EventApplier::prepareStatements(connection);
                ExecutionsSweeper::prepareStatements(connection);
                OutboxSweeper::prepareStatements(connection);
              });
  RedisPool redis({settings.redis_host, settings.redis_port, settings.redis_timeout_ms,
                   settings.redis_pool_size_max, settings.redis_timeout_ms,
                   settings.redis_down_retry_interval_ms});
  LedgerStore store(pool, settings.test_transaction_delay_ms);
  AccountLocks locks(redis,
                     {settings.lock_ttl_ms, settings.lock_wait_ms_max, settings.lock_backoff_ms_min,
                      settings.lock_backoff_ms_max},
                     metrics);
  GuardedWriter writer(locks, settings.version_retry_count_max, metrics);
  OutboxRelay relay({settings.postgres_uri, settings.outbox_batch_size_max,
                     settings.outbox_poll_interval_ms, settings.stream_length_max},
                    redis, metrics);
  EventApplier applier(pool, writer, metrics, settings.executions_cursor_write_interval_ms,
                       static_cast<std::size_t>(settings.order_account_cache_entries_max));
  ConsumerSettings consumer_settings;
  consumer_settings.consumer = settings.consumer_name;
  consumer_settings.threads_per_stream = settings.consumer_threads;
  // A blocked read must end well inside the Redis command timeout, or it reads as Redis down.
  consumer_settings.block_ms = std::max(1, settings.redis_timeout_ms / 2);
  consumer_settings.fill_receiver_host = settings.fill_receiver_host;
  consumer_settings.fill_receiver_port = settings.fill_receiver_port;
  EventLag event_lag(kEventStreams, consumer_settings.threads_per_stream, metrics);
  EventConsumers consumers(consumer_settings, redis, applier, event_lag, metrics);
  ExecutionsSweeper sweeper(sweeperSettings(settings), pool, applier, metrics);
  const bool sweeping = settings.consumers_enabled && settings.sweep_interval_ms > 0;
  OutboxSweeper outbox_sweeper({settings.outbox_sweep_interval_ms, settings.outbox_sweep_grace_ms,
                                settings.outbox_sweep_batch_size_max, settings.stream_length_max},
                               pool, redis, metrics);
  OrderIntake intake({settings.intake_batch_orders_max, settings.intake_batches_in_flight_max},
                     store, metrics);
  LedgerApi api(settings, store, writer, intake, event_lag, relay, redis, metrics,
                [&applier](const std::string& order_id, const std::string& account_id) {
                  applier.rememberOrderAccount(order_id, account_id);
                });
  auto router = std::make_shared<HttpRouter>();
  api.registerRoutes(*router);
  HttpServer server({.bind_address = settings.http_bind_address,
                     .port = settings.http_port,
                     .threads_max = settings.http_threads_max,
                     .queue_length_max = settings.http_queue_length_max},
                    router, metrics);
  relay.start();
  if (settings.consumers_enabled) consumers.start();
  if (sweeping) sweeper.start();
  if (settings.outbox_sweep_interval_ms > 0) outbox_sweeper.start();
  server.start();
  spdlog::info("ledger_service listening on {}:{}", settings.http_bind_address, server.port());
  const int received = waitForStopSignal();
  spdlog::info("signal {}: stopping", received);
  server.stop();
  if (settings.outbox_sweep_interval_ms > 0) outbox_sweeper.stop();
  if (sweeping) sweeper.stop();
  if (settings.consumers_enabled) consumers.stop();
  relay.stop();
  return 0;
}

// The commands that need the settings: serve, migrate, reconcile, mint-token.
int runCommand(const CommandLine& line, const fbg::ledger::LedgerSettings& settings) {
  if (line.command == "serve") return serve(settings);
  if (line.command == "migrate")
    return migrateWithRetry(settings.postgres_uri, ledgerMigrations(), 1) ? 0 : 1;
  if (line.command == "reconcile") return reconcileCommand(settings);
  if (line.command == "mint-token") {
    if (line.role != "trader" && line.role != "admin") return usage();
    const fbg::Principal principal{
        line.subject, line.role == "admin" ? fbg::Role::Admin : fbg::Role::Trader, line.accounts};
    const int64_t now = std::time(nullptr);
    std::cout << fbg::mintToken(principal, settings.jwt_secret, now + line.ttl_s) << "\n";
    return 0;
  }
  return usage();
}

}  // namespace

int main(int argc, char** argv) {
  fbg::blockStopSignals();

  const auto line = parseCommandLine(argc, argv);
  if (!line) return usage();
  if (line->command == "config-help") {
    std::cout << fbg::Config::describe(fbg::ledger::ledgerConfigSchema());
    return 0;
  }
  auto settings = fbg::ledger::loadLedgerSettings(line->config_path, line->overrides);
  if (!settings) {
    std::cerr << "ledger_service: " << settings.error().message << "\n";
    return 2;
  }
  // One catch for every command: an exception (the port is taken, the database refuses a
  // connection) ends the process with its message and exit 1, never std::terminate.
  try {
    return runCommand(*line, *settings);
  } catch (const std::exception& failure) {
    std::cerr << "ledger_service: " << failure.what() << "\n";
    return 1;
  }
}
