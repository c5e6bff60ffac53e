#include "ledger_config.h"

#include <algorithm>

#include "common/identifiers.h"

namespace fbg::ledger {

const ConfigSchema& ledgerConfigSchema() {
  using T = ConfigType;
  static const ConfigSchema schema = {
      {"http_bind_address", T::String, "127.0.0.1", "address the HTTP server listens on"},
      {"http_port", T::Integer, "8080", "HTTP port (0 picks a free one)", 0, 65535},
      {"http_threads_max", T::Integer, "64", "request threads; one per keep-alive connection", 2,
       1024},
      {"http_queue_length_max", T::Integer, "256", "accepted connections waiting for a thread", 1,
       65536},
      {"postgres_uri", T::String, std::nullopt, "libpq URI of the ledger database"},
      {"postgres_pool_size_max", T::Integer, "24", "database connections at most", 1, 512},
      {"postgres_acquire_timeout_ms", T::Integer, "2000", "wait for a free connection", 1, 60000},
      {"redis_host", T::String, "127.0.0.1", "Redis host (locks and streams)"},
      {"redis_port", T::Integer, "6379", "Redis port", 1, 65535},
      {"redis_timeout_ms", T::Integer, "200", "connect and command timeout", 1, 60000},
      {"redis_pool_size_max", T::Integer, "32", "Redis connections at most", 1, 1024},
      {"redis_down_retry_interval_ms", T::Integer, "500",
       "after Redis fails, callers skip it this long before trying again", 1, 60000},
      {"jwt_secret", T::String, std::nullopt, "HS256 secret of bearer tokens"},
      {"lock_ttl_ms", T::Integer, "5000", "account lock lifetime in Redis", 1, 600000},
      {"lock_wait_ms_max", T::Integer, "2000", "wait for an account lock, then ACCOUNT_BUSY", 0,
       60000},
      {"lock_backoff_ms_min", T::Integer, "1",
       "first retry window for a lock another ledger process holds", 1, 1000},
      {"lock_backoff_ms_max", T::Integer, "20",
       "largest retry window for a lock another ledger process holds", 1, 10000},
      {"version_retry_count_max", T::Integer, "8",
       "re-reads after a version conflict before answering ACCOUNT_BUSY", 0, 1000},
      {"intake_batch_orders_max", T::Integer, "32",
       "orders placed together at most (one read and one write of the ledger for all, each "
       "order of another account; order_intake.h); 1 places each order alone",
       1, 1000},
      {"intake_batches_in_flight_max", T::Integer, "2",
       "batches of orders being placed at once at most (each holds a database connection)", 1, 64},
      {"intake_events_lag_ms_max", T::Integer, "100",
       "a new order waits while the oldest broker event being applied has waited longer than "
       "this (fills first; event_lag.h)",
       0, 600000},
      {"intake_events_lag_wait_ms_max", T::Integer, "1000",
       "how long a new order waits at most for the event readers to catch up, then it is "
       "placed anyway; 0: never waits",
       0, 60000},
      {"order_quantity_max", T::Integer, "1000000", "largest order quantity", 1, 1000000000},
      {"order_notional_max", T::Money, "1000000.00", "largest quantity x limit_price"},
      {"routing_brokers", T::List, "SIM-A,SIM-B", "brokers orders may be routed to"},
      {"routing_default_broker", T::String, "SIM-A", "broker of orders that name none"},
      {"page_size_default", T::Integer, "50", "list size when the request gives no limit", 1, 1000},
      {"page_size_max", T::Integer, "500", "largest list size a request may ask for", 1, 10000},
      {"outbox_batch_size_max", T::Integer, "256", "outbox rows relayed per round", 1, 10000},
      {"outbox_poll_interval_ms", T::Integer, "100", "relay wake-up when no commit signalled it", 1,
       60000},
      {"stream_length_max", T::Integer, "1000000", "approximate MAXLEN of orders:{broker}", 1000,
       1000000000},
      {"consumers_enabled", T::Boolean, "true",
       "apply order-events and executions (FLOW.md section 4)"},
      {"consumer_name", T::String, "ledger-1",
       "this process's name in the consumer groups; a restart must keep it to re-read its "
       "pending entries"},
      {"consumer_threads", T::Integer, "2",
       "readers per event stream (each a consumer of the group named {consumer_name}-{i}). More "
       "readers split the stream into smaller batches that compete for the same account locks; "
       "one reader waits out every round trip alone (bench/e2e.sh at 150 orders/s: p99 0.9 s "
       "with 2, 2.1 s with 4, 6.3 s with 1)",
       1, 64},
      {"executions_cursor_write_interval_ms", T::Integer, "1000",
       "the polling path's cursor is written at most this often (and when the executions stream "
       "is quiet); behind after a crash, the polling path re-reads that much (deduplicated)",
       1, 60000},
      {"order_account_cache_entries_max", T::Integer, "100000",
       "orders whose account the event appliers remember (the oldest forgotten past it)", 1,
       10000000},
      {"fill_receiver_host", T::String, "127.0.0.1",
       "fill receiver for the polling path while the executions stream is down"},
      {"fill_receiver_port", T::Integer, "8081", "fill receiver HTTP port", 1, 65535},
      {"sweep_interval_ms", T::Integer, "2000",
       "the executions sweep's round interval: it applies stored reports the stream lost "
       "(executions_sweeper.h); 0 turns it off",
       0, 600000},
      {"sweep_grace_ms", T::Integer, "10000",
       "a report is applied by the sweep only after it was seen missing this long (a stream "
       "read in flight is not raced), and reports past the applied cursor are looked at only "
       "once the cursor stood still this long",
       100, 3600000},
      {"sweep_page_size", T::Integer, "500", "reports per GET /v1/executions page of the sweep", 1,
       10000},
      {"sweep_pages_max", T::Integer, "10", "pages per sweep round at most", 1, 1000},
      {"outbox_sweep_interval_ms", T::Integer, "5000",
       "the outbox sweep's round interval: it publishes again sent outbox rows whose stream "
       "entry Redis lost while the order still waits for its gateway (outbox_sweeper.h); 0 "
       "turns it off",
       0, 600000},
      {"outbox_sweep_grace_ms", T::Integer, "30000",
       "a sent row is checked once it was sent this long ago: past any fsync window of Redis, "
       "so that a loss has happened or will not",
       1000, 86400000},
      {"outbox_sweep_batch_size_max", T::Integer, "500", "rows checked per outbox sweep round", 1,
       10000},
      {"test_transaction_delay_ms", T::Integer, "0",
       "TESTS ONLY: pause between reading and writing an account, to force lock expiry", 0, 60000},
  };
  return schema;
}

namespace {

int asInt(const Config& config, const char* key) {
  return static_cast<int>(config.integer(key));
}

Result<LedgerSettings> settingsFrom(const Config& config) {
  LedgerSettings s;
  s.http_bind_address = config.string("http_bind_address");
  s.http_port = asInt(config, "http_port");
  s.http_threads_max = asInt(config, "http_threads_max");
  s.http_queue_length_max = asInt(config, "http_queue_length_max");
  s.postgres_uri = config.string("postgres_uri");
  s.postgres_pool_size_max = asInt(config, "postgres_pool_size_max");
  s.postgres_acquire_timeout_ms = asInt(config, "postgres_acquire_timeout_ms");
  s.redis_host = config.string("redis_host");
  s.redis_port = asInt(config, "redis_port");
  s.redis_timeout_ms = asInt(config, "redis_timeout_ms");
  s.redis_pool_size_max = asInt(config, "redis_pool_size_max");
  s.redis_down_retry_interval_ms = asInt(config, "redis_down_retry_interval_ms");
  s.jwt_secret = config.string("jwt_secret");
  s.lock_ttl_ms = asInt(config, "lock_ttl_ms");
  s.lock_wait_ms_max = asInt(config, "lock_wait_ms_max");
  s.lock_backoff_ms_min = asInt(config, "lock_backoff_ms_min");
  s.lock_backoff_ms_max = asInt(config, "lock_backoff_ms_max");
  s.version_retry_count_max = asInt(config, "version_retry_count_max");
  s.intake_batch_orders_max = asInt(config, "intake_batch_orders_max");
  s.intake_batches_in_flight_max = asInt(config, "intake_batches_in_flight_max");
  s.intake_events_lag_ms_max = asInt(config, "intake_events_lag_ms_max");
  s.intake_events_lag_wait_ms_max = asInt(config, "intake_events_lag_wait_ms_max");
  s.order_quantity_max = config.integer("order_quantity_max");
  s.order_notional_max = config.money("order_notional_max");
  s.routing_brokers = config.list("routing_brokers");
  s.consumers_enabled = config.boolean("consumers_enabled");
  s.consumer_name = config.string("consumer_name");
  s.consumer_threads = asInt(config, "consumer_threads");
  s.fill_receiver_host = config.string("fill_receiver_host");
  s.fill_receiver_port = asInt(config, "fill_receiver_port");
  s.sweep_interval_ms = asInt(config, "sweep_interval_ms");
  s.sweep_grace_ms = asInt(config, "sweep_grace_ms");
  s.sweep_page_size = asInt(config, "sweep_page_size");
  s.sweep_pages_max = asInt(config, "sweep_pages_max");
  s.outbox_sweep_interval_ms = asInt(config, "outbox_sweep_interval_ms");
  s.outbox_sweep_grace_ms = asInt(config, "outbox_sweep_grace_ms");
  s.outbox_sweep_batch_size_max = asInt(config, "outbox_sweep_batch_size_max");
  s.routing_default_broker = config.string("routing_default_broker");
  s.page_size_default = asInt(config, "page_size_default");
  s.page_size_max = asInt(config, "page_size_max");
  s.outbox_batch_size_max = asInt(config, "outbox_batch_size_max");
  s.outbox_poll_interval_ms = asInt(config, "outbox_poll_interval_ms");
  s.executions_cursor_write_interval_ms = asInt(config, "executions_cursor_write_interval_ms");
  s.order_account_cache_entries_max = asInt(config, "order_account_cache_entries_max");
  s.stream_length_max = config.integer("stream_length_max");
  s.test_transaction_delay_ms = asInt(config, "test_transaction_delay_ms");
  return s;
}

Status crossCheck(const LedgerSettings& s) {
  auto bad = [](const std::string& message) {
    return makeError(ErrorCode::InvalidRequest, message);
  };
  if (s.jwt_secret.size() < 16) return bad("config key 'jwt_secret': at least 16 characters");
  if (s.lock_backoff_ms_min > s.lock_backoff_ms_max) {
    return bad("config key 'lock_backoff_ms_min' is above 'lock_backoff_ms_max'");
  }
  if (s.routing_brokers.empty()) return bad("config key 'routing_brokers' is empty");
  for (const auto& broker : s.routing_brokers) {
    if (!isValidBrokerName(broker)) return bad("config key 'routing_brokers': bad name " + broker);
  }
  if (std::find(s.routing_brokers.begin(), s.routing_brokers.end(), s.routing_default_broker) ==
      s.routing_brokers.end()) {
    return bad("config key 'routing_default_broker' is not in 'routing_brokers'");
  }
  if (!s.order_notional_max.isPositive()) return bad("config key 'order_notional_max' must be > 0");
  if (s.page_size_default > s.page_size_max) {
    return bad("config key 'page_size_default' is above 'page_size_max'");
  }
  return Ok{};
}

}  // namespace

Result<LedgerSettings> loadLedgerSettings(const std::string& path,
                                          const std::vector<std::string>& overrides) {
  auto config = Config::load(ledgerConfigSchema(), path, overrides);
  if (!config) return config.error();
  auto settings = settingsFrom(*config);
  if (!settings) return settings;
  if (auto checked = crossCheck(*settings); !checked) return checked.error();
  return settings;
}

}  // namespace fbg::ledger
