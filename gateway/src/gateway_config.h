// The gateway's declared configuration (one process per broker). `gateway config-help` prints
// every key with its type, default and description.
#pragma once

#include <string>

#include "common/config.h"
#include "domain/retry_policy.h"

namespace fbg::gateway {

struct GatewaySettings {
  std::string broker;
  bool broker_answers_status_requests = true;
  std::string http_bind_address;
  int http_port = 8082;
  std::string postgres_uri;
  int postgres_pool_size_max = 8;
  std::string redis_host;
  int redis_port = 6379;
  int redis_timeout_ms = 1000;
  std::string fix_settings_file;
  std::string fix_config_dir;
  std::string run_dir;
  int fix_connect_port = 0;
  std::string stream_consumer_group;
  std::string stream_consumer_name;
  int stream_batch_size_max = 256;
  int stream_block_ms = 200;
  RetryPolicy retry;
  int64_t retry_hold_ms_max = 30000;
  int64_t resend_age_ms_max = 30000;
  int sender_batch_size_max = 256;
  int in_flight_orders_max = 1000;
  int sender_poll_interval_ms = 50;
  int sender_idle_wait_ms_max = 1000;
  int event_batch_size_max = 256;
  int event_poll_interval_ms = 100;
  int event_idle_wait_ms_max = 1000;
  int64_t event_stream_length_max = 1'000'000;
  int event_sweep_interval_ms = 5000;
  int event_sweep_grace_ms = 30000;
  int event_sweep_batch_size_max = 500;
  bool reply_synchronous_commit = false;
  int reply_queue_size_max = 20000;
  int reply_batch_size_max = 500;
  int reply_batch_linger_ms = 2;
  int event_batch_linger_ms = 2;
  bool fix_store_synchronous_commit = false;
  int fix_store_target_seq_write_every_messages = 64;
  int fix_store_sender_seq_block_messages = 1000;
};

[[nodiscard]] const ConfigSchema& gatewayConfigSchema();
[[nodiscard]] Result<GatewaySettings> loadGatewaySettings(
    const std::string& path, const std::vector<std::string>& overrides);

}  // namespace fbg::gateway
