// The ledger service's declared configuration: every key, its type, default and meaning.
#pragma once

#include <string>
#include <vector>

#include "common/config.h"
#include "common/money.h"

namespace fbg::ledger {

[[nodiscard]] const ConfigSchema& ledgerConfigSchema();

struct LedgerSettings {
  std::string http_bind_address;
  int http_port = 0;
  int http_threads_max = 0;
  int http_queue_length_max = 0;
  std::string postgres_uri;
  int postgres_pool_size_max = 0;
  int postgres_acquire_timeout_ms = 0;
  std::string redis_host;
  int redis_port = 0;
  int redis_timeout_ms = 0;
  int redis_pool_size_max = 0;
  int redis_down_retry_interval_ms = 0;
  std::string jwt_secret;
  int lock_ttl_ms = 0;
  int lock_wait_ms_max = 0;
  int lock_backoff_ms_min = 0;
  int lock_backoff_ms_max = 0;
  int version_retry_count_max = 0;
  int intake_batch_orders_max = 0;
  int intake_batches_in_flight_max = 0;
  int intake_events_lag_ms_max = 0;
  int intake_events_lag_wait_ms_max = 0;
  int64_t order_quantity_max = 0;
  Money order_notional_max;
  std::vector<std::string> routing_brokers;
  std::string routing_default_broker;
  int page_size_default = 0;
  int page_size_max = 0;
  int outbox_batch_size_max = 0;
  int outbox_poll_interval_ms = 0;
  int64_t stream_length_max = 0;
  int test_transaction_delay_ms = 0;
  bool consumers_enabled = true;
  std::string consumer_name;
  int consumer_threads = 2;
  int executions_cursor_write_interval_ms = 1000;
  int order_account_cache_entries_max = 100000;
  std::string fill_receiver_host;
  int fill_receiver_port = 8081;
  int sweep_interval_ms = 0;
  int sweep_grace_ms = 0;
  int sweep_page_size = 0;
  int sweep_pages_max = 0;
  int outbox_sweep_interval_ms = 0;
  int outbox_sweep_grace_ms = 0;
  int outbox_sweep_batch_size_max = 0;
};

// Cross-key checks (default broker among the brokers, backoff min <= max, ...) happen here.
[[nodiscard]] Result<LedgerSettings> loadLedgerSettings(const std::string& path,
                                                        const std::vector<std::string>& overrides);

}  // namespace fbg::ledger
