// The fill receiver's declared configuration. `fill_receiver config-help` prints every key.
#pragma once

#include <string>

#include "common/config.h"

namespace fbg::fills {

struct FillSettings {
  std::string http_bind_address;
  int http_port = 8081;
  std::string postgres_uri;
  int postgres_pool_size_max = 8;
  std::string redis_host;
  int redis_port = 6379;
  int redis_timeout_ms = 500;
  std::string fix_settings_file;
  std::string fix_config_dir;
  std::string run_dir;
  int fix_accept_port = 0;
  bool fix_store_synchronous_commit = false;
  int fix_store_target_seq_write_every_messages = 64;
  int fix_store_sender_seq_block_messages = 1000;
  int store_queue_reports_max = 4096;
  int store_queue_full_wait_ms = 1000;
  int store_batch_reports_max = 512;
  int store_batch_linger_ms = 0;
  int store_retry_interval_ms = 200;
  int store_reset_drain_wait_ms = 5000;
  int store_stop_wait_ms = 5000;
  int relay_batch_size_max = 256;
  int relay_poll_interval_ms = 100;
  int relay_idle_wait_ms_max = 1000;
  int relay_handoff_rows_max = 4096;
  int relay_table_read_interval_ms = 500;
  int64_t stream_length_max = 1'000'000;
  int page_size_max = 1000;
};

[[nodiscard]] const ConfigSchema& fillConfigSchema();
[[nodiscard]] Result<FillSettings> loadFillSettings(const std::string& path,
                                                    const std::vector<std::string>& overrides);

}  // namespace fbg::fills
