#include "fill_config.h"

namespace fbg::fills {

const ConfigSchema& fillConfigSchema() {
  using T = ConfigType;
  static const ConfigSchema schema = {
      {"http_bind_address", T::String, "127.0.0.1", "address of the HTTP port"},
      {"http_port", T::Integer, "8081", "HTTP port (0 picks a free one)", 0, 65535},
      {"postgres_uri", T::String, std::nullopt, "libpq URI of the fills database"},
      {"postgres_pool_size_max", T::Integer, "8", "database connections at most", 3, 256},
      {"redis_host", T::String, "127.0.0.1", "Redis host (executions stream)"},
      {"redis_port", T::Integer, "6379", "Redis port", 1, 65535},
      {"redis_timeout_ms", T::Integer, "500", "connect and command timeout", 10, 60000},
      {"fix_settings_file", T::String, std::nullopt,
       "QuickFIX settings (fix_config/fill_receiver.cfg)"},
      {"fix_config_dir", T::String, std::nullopt, "folder of FIX44.xml, for ${FIX_CONFIG_DIR}"},
      {"run_dir", T::String, std::nullopt, "folder for FIX logs, for ${RUN_DIR}"},
      {"fix_accept_port", T::Integer, "0", "drop-copy accept port; 0 keeps the file's", 0, 65535},
      {"fix_store_synchronous_commit", T::Boolean, "false",
       "wait for the WAL flush on FIX store writes. The reports themselves are always "
       "committed synchronously; the store only keeps sequence numbers here, and one that "
       "lags after a database crash only makes the broker resend reports, which are "
       "deduplicated"},
      {"fix_store_sender_seq_block_messages", T::Integer, "1000",
       "sequence numbers of the drop-copy sessions' own messages (logons, heartbeats, resend "
       "requests) reserved per synchronous commit; after a crash of the database server a "
       "session resumes at the reserved bound, never behind a number the broker saw (the "
       "broker's resend request for the numbers skipped gets a gap fill)",
       1, 1000000},
      {"fix_store_target_seq_write_every_messages", T::Integer, "64",
       "the broker's sequence number is written to the FIX store every this many received "
       "messages; after a crash of this process the broker resends up to that many reports, "
       "which were stored already and are deduplicated on ExecID. 1 writes it on every message",
       1, 10000},
      {"store_queue_reports_max", T::Integer, "4096",
       "reports fromApp may hand to the batch writer before it waits (memory bound; a kill -9 "
       "loses them from memory only: the FIX store never acknowledges a queued report, so the "
       "broker resends them)",
       1, 1000000},
      {"store_queue_full_wait_ms", T::Integer, "1000",
       "how long fromApp waits for room in a full queue before it refuses the report as a "
       "storage failure (the session drops, the broker resends); it blocks the session's FIX "
       "thread meanwhile",
       0, 60000},
      {"store_batch_reports_max", T::Integer, "512",
       "reports committed together in one statement and one synchronous commit", 1, 10000},
      {"store_batch_linger_ms", T::Integer, "0",
       "how long the writer waits for a fuller batch once a report is queued; 0 commits what "
       "has queued at once (under load the queue fills while the previous batch commits)",
       0, 1000},
      {"store_retry_interval_ms", T::Integer, "200",
       "pause between attempts to commit a batch while the database is down (the batch is kept "
       "and retried until it commits)",
       10, 60000},
      {"store_reset_drain_wait_ms", T::Integer, "5000",
       "before a session's sequence numbers are reset to 1 (daily schedule, ResetSeqNumFlag), "
       "how long to wait for its pending reports to commit; past it the reset fails and the "
       "session drops",
       0, 600000},
      {"store_stop_wait_ms", T::Integer, "5000",
       "at shutdown, how long a failing commit of the remaining reports is retried", 0, 600000},
      {"relay_batch_size_max", T::Integer, "256", "reports published per relay round", 1, 10000},
      {"relay_poll_interval_ms", T::Integer, "100", "relay's wait after a round that failed", 1,
       60000},
      {"relay_idle_wait_ms_max", T::Integer, "1000",
       "relay's wait after a round that found nothing (the report writer hands it each batch "
       "stored); at least relay_poll_interval_ms",
       1, 60000},
      {"relay_handoff_rows_max", T::Integer, "4096",
       "stored reports held in memory for the relay, and published ones not yet marked in the "
       "table; past it the relay reads the table. 0: every round reads the table",
       0, 1000000},
      {"relay_table_read_interval_ms", T::Integer, "500",
       "while reports flow, the relay reads the table (marking what it published) at least "
       "this often; at most relay_idle_wait_ms_max",
       1, 60000},
      {"stream_length_max", T::Integer, "1000000", "approximate MAXLEN of executions", 1000,
       1000000000},
      {"page_size_max", T::Integer, "1000", "largest limit of GET /v1/executions", 1, 100000},
  };
  return schema;
}

Result<FillSettings> loadFillSettings(const std::string& path,
                                      const std::vector<std::string>& overrides) {
  auto loaded = Config::load(fillConfigSchema(), path, overrides);
  if (!loaded) return loaded.error();
  const Config& c = *loaded;
  auto asInt = [&c](const char* key) { return static_cast<int>(c.integer(key)); };
  FillSettings s;
  s.http_bind_address = c.string("http_bind_address");
  s.http_port = asInt("http_port");
  s.postgres_uri = c.string("postgres_uri");
  s.postgres_pool_size_max = asInt("postgres_pool_size_max");
  s.redis_host = c.string("redis_host");
  s.redis_port = asInt("redis_port");
  s.redis_timeout_ms = asInt("redis_timeout_ms");
  s.fix_settings_file = c.string("fix_settings_file");
  s.fix_config_dir = c.string("fix_config_dir");
  s.run_dir = c.string("run_dir");
  s.fix_accept_port = asInt("fix_accept_port");
  s.fix_store_synchronous_commit = c.boolean("fix_store_synchronous_commit");
  s.fix_store_target_seq_write_every_messages = asInt("fix_store_target_seq_write_every_messages");
  s.fix_store_sender_seq_block_messages = asInt("fix_store_sender_seq_block_messages");
  s.store_queue_reports_max = asInt("store_queue_reports_max");
  s.store_queue_full_wait_ms = asInt("store_queue_full_wait_ms");
  s.store_batch_reports_max = asInt("store_batch_reports_max");
  s.store_batch_linger_ms = asInt("store_batch_linger_ms");
  s.store_retry_interval_ms = asInt("store_retry_interval_ms");
  s.store_reset_drain_wait_ms = asInt("store_reset_drain_wait_ms");
  s.store_stop_wait_ms = asInt("store_stop_wait_ms");
  s.relay_batch_size_max = asInt("relay_batch_size_max");
  s.relay_poll_interval_ms = asInt("relay_poll_interval_ms");
  s.relay_idle_wait_ms_max = asInt("relay_idle_wait_ms_max");
  s.relay_handoff_rows_max = asInt("relay_handoff_rows_max");
  s.relay_table_read_interval_ms = asInt("relay_table_read_interval_ms");
  if (s.relay_idle_wait_ms_max < s.relay_poll_interval_ms) {
    return makeError(
        ErrorCode::InvalidRequest,
        "config key 'relay_idle_wait_ms_max' must be at least 'relay_poll_interval_ms'");
  }
  if (s.relay_table_read_interval_ms > s.relay_idle_wait_ms_max) {
    return makeError(
        ErrorCode::InvalidRequest,
        "config key 'relay_table_read_interval_ms' must be at most 'relay_idle_wait_ms_max'");
  }
  s.stream_length_max = c.integer("stream_length_max");
  s.page_size_max = asInt("page_size_max");
  return s;
}

}  // namespace fbg::fills
