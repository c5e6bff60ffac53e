#include "gateway_config.h"

#include "common/identifiers.h"

namespace fbg::gateway {

const ConfigSchema& gatewayConfigSchema() {
  using T = ConfigType;
  static const ConfigSchema schema = {
      {"broker", T::String, std::nullopt, "broker profile this process serves (SIM-A, SIM-B)"},
      {"broker_answers_status_requests", T::Boolean, "true",
       "retry with OrderStatusRequest (35=H); false: resend the NewOrderSingle with "
       "PossResend=Y (SIM-B)"},
      {"http_bind_address", T::String, "127.0.0.1", "address of the HTTP port"},
      {"http_port", T::Integer, "8082", "HTTP port (0 picks a free one)", 0, 65535},
      {"postgres_uri", T::String, std::nullopt, "libpq URI of the gateway's database"},
      {"postgres_pool_size_max", T::Integer, "8", "database connections at most", 4, 256},
      {"redis_host", T::String, "127.0.0.1", "Redis host (streams)"},
      {"redis_port", T::Integer, "6379", "Redis port", 1, 65535},
      {"redis_timeout_ms", T::Integer, "1000", "connect and command timeout", 10, 60000},
      {"fix_settings_file", T::String, std::nullopt,
       "QuickFIX settings (fix_config/gateway-*.cfg)"},
      {"fix_config_dir", T::String, std::nullopt, "folder of FIX44.xml, for ${FIX_CONFIG_DIR}"},
      {"run_dir", T::String, std::nullopt, "folder for FIX logs, for ${RUN_DIR}"},
      {"fix_connect_port", T::Integer, "0", "broker's order-entry port; 0 keeps the file's", 0,
       65535},
      {"stream_consumer_group", T::String, "gateway", "consumer group on orders:{broker}"},
      {"stream_consumer_name", T::String, "gateway-1",
       "this process's consumer name; a restarted process must keep it to re-read its pending "
       "entries"},
      {"stream_batch_size_max", T::Integer, "256", "entries per stream read", 1, 10000},
      {"stream_block_ms", T::Integer, "200", "stream read wait; below redis_timeout_ms", 1, 60000},
      {"ack_timeout_ms", T::Integer, "5000", "wait for the broker's first reply", 1, 3600000},
      {"retry_backoff_multiplier", T::Integer, "2", "each retry waits this much longer", 1, 10},
      {"retry_backoff_ms_max", T::Integer, "60000", "longest wait between retries", 1, 3600000},
      {"retry_jitter_percent", T::Integer, "20", "random +- share of each wait", 0, 99},
      {"retry_count_max", T::Integer, "5", "retries after the first send, then UNCONFIRMED", 0,
       1000},
      {"retry_hold_ms_max", T::Integer, "30000",
       "a due retry is held back while the broker is still answering messages sent before the "
       "order's (it is behind, not deaf) and sent after this long anyway",
       0, 3600000},
      {"resend_age_ms_max", T::Integer, "30000",
       "on the broker's ResendRequest, application messages older than this are gap-filled "
       "instead of replayed",
       0, 86400000},
      {"sender_batch_size_max", T::Integer, "256", "orders claimed per sender round", 1, 10000},
      {"in_flight_orders_max", T::Integer, "1000",
       "orders sent and not yet answered at most; more wait as RECEIVED (a broker's throttle, "
       "and what keeps the reply timeout meaningful under load)",
       1, 1000000},
      {"sender_poll_interval_ms", T::Integer, "50",
       "sender's wait after a round while more work may be right behind it (it claimed some, "
       "orders wait for in-flight room, or a due retry is held back)",
       1, 60000},
      {"sender_idle_wait_ms_max", T::Integer, "1000",
       "sender's longest wait: with orders in flight it sleeps until the earliest reply or "
       "cancel deadline, at most this long; nothing in flight, this long (it is woken for new "
       "orders, resends and logons); at least sender_poll_interval_ms",
       1, 60000},
      {"event_batch_size_max", T::Integer, "256", "order events published per round", 1, 10000},
      {"event_poll_interval_ms", T::Integer, "100",
       "event relay's wait after a round that published (its rows are marked by the next) or "
       "failed",
       1, 60000},
      {"event_idle_wait_ms_max", T::Integer, "1000",
       "event relay's wait after a round that found nothing (every writer of order_events wakes "
       "it); at least event_poll_interval_ms",
       1, 60000},
      {"event_stream_length_max", T::Integer, "1000000", "approximate MAXLEN of order-events", 1000,
       1000000000},
      {"event_sweep_interval_ms", T::Integer, "5000",
       "the event sweep's round interval: it publishes again order_events rows whose stream "
       "entry Redis lost (event_sweeper.h); 0 turns it off",
       0, 600000},
      {"event_sweep_grace_ms", T::Integer, "30000",
       "a published row is checked once it was published this long ago: past any fsync window of "
       "Redis, so that a loss has happened or will not",
       1000, 86400000},
      {"event_sweep_batch_size_max", T::Integer, "500", "rows checked per event sweep batch", 1,
       10000},
      {"reply_synchronous_commit", T::Boolean, "false",
       "wait for the WAL flush when applying a broker reply (off: a reply lost in a database "
       "crash is asked again by the retry path)"},
      {"reply_queue_size_max", T::Integer, "20000",
       "broker replies waiting to be applied at most; past it a reply is refused (the session "
       "drops and the broker resends)",
       1, 10000000},
      {"reply_batch_size_max", T::Integer, "500", "broker replies applied per transaction", 1,
       100000},
      {"reply_batch_linger_ms", T::Integer, "2",
       "after the first reply of a batch, wait this long for more before applying them in one "
       "transaction (0: apply at once)",
       0, 1000},
      {"event_batch_linger_ms", T::Integer, "2",
       "after a wake-up, let more events commit for this long before relaying them (0: at once)", 0,
       1000},
      {"fix_store_synchronous_commit", T::Boolean, "false",
       "wait for the WAL flush on every FIX store write. Off, a sent message and its sequence "
       "number still commit together and survive a crash of this process; a crash of the "
       "database server itself may lose the last few hundred milliseconds of store writes. On "
       "costs one WAL flush per FIX message (docs/performance.md)"},
      {"fix_store_sender_seq_block_messages", T::Integer, "1000",
       "sender sequence numbers reserved per synchronous commit. After a crash of the database "
       "server, which may lose the store's asynchronous writes, the session resumes at the "
       "reserved bound, never behind a number the broker saw: the broker's resend request for "
       "the numbers skipped gets a gap fill, and the retry path covers any order among them. 1 "
       "commits every sent number synchronously",
       1, 1000000},
      {"fix_store_target_seq_write_every_messages", T::Integer, "64",
       "the peer's sequence number is written to the FIX store every this many received "
       "messages (and with every sent one); after a crash of this process the broker resends "
       "up to that many replies, which apply idempotently. 1 writes it on every message",
       1, 10000},
  };
  return schema;
}

namespace {

int asInt(const Config& config, const char* key) {
  return static_cast<int>(config.integer(key));
}

Result<GatewaySettings> settingsFrom(const Config& c) {
  GatewaySettings s;
  s.broker = c.string("broker");
  if (!isValidBrokerName(s.broker)) {
    return makeError(ErrorCode::InvalidRequest, "config key 'broker' is not a broker name");
  }
  s.broker_answers_status_requests = c.boolean("broker_answers_status_requests");
  s.http_bind_address = c.string("http_bind_address");
  s.http_port = asInt(c, "http_port");
  s.postgres_uri = c.string("postgres_uri");
  s.postgres_pool_size_max = asInt(c, "postgres_pool_size_max");
  s.redis_host = c.string("redis_host");
  s.redis_port = asInt(c, "redis_port");
  s.redis_timeout_ms = asInt(c, "redis_timeout_ms");
  s.fix_settings_file = c.string("fix_settings_file");
  s.fix_config_dir = c.string("fix_config_dir");
  s.run_dir = c.string("run_dir");
  s.fix_connect_port = asInt(c, "fix_connect_port");
  s.stream_consumer_group = c.string("stream_consumer_group");
  s.stream_consumer_name = c.string("stream_consumer_name");
  s.stream_batch_size_max = asInt(c, "stream_batch_size_max");
  s.stream_block_ms = asInt(c, "stream_block_ms");
  if (s.stream_block_ms >= s.redis_timeout_ms) {
    return makeError(ErrorCode::InvalidRequest,
                     "config key 'stream_block_ms' must be below 'redis_timeout_ms'");
  }
  s.retry = RetryPolicy{c.integer("ack_timeout_ms"), c.integer("retry_backoff_multiplier"),
                        c.integer("retry_backoff_ms_max"), c.integer("retry_jitter_percent"),
                        c.integer("retry_count_max")};
  s.retry_hold_ms_max = c.integer("retry_hold_ms_max");
  if (!isValid(s.retry)) {
    return makeError(ErrorCode::InvalidRequest,
                     "config key 'retry_backoff_ms_max' must be at least 'ack_timeout_ms'");
  }
  s.resend_age_ms_max = c.integer("resend_age_ms_max");
  s.sender_batch_size_max = asInt(c, "sender_batch_size_max");
  s.sender_poll_interval_ms = asInt(c, "sender_poll_interval_ms");
  s.sender_idle_wait_ms_max = asInt(c, "sender_idle_wait_ms_max");
  if (s.sender_idle_wait_ms_max < s.sender_poll_interval_ms) {
    return makeError(ErrorCode::InvalidRequest,
                     "config key 'sender_idle_wait_ms_max' must be at least "
                     "'sender_poll_interval_ms'");
  }
  s.in_flight_orders_max = asInt(c, "in_flight_orders_max");
  s.event_batch_size_max = asInt(c, "event_batch_size_max");
  s.event_poll_interval_ms = asInt(c, "event_poll_interval_ms");
  s.event_idle_wait_ms_max = asInt(c, "event_idle_wait_ms_max");
  if (s.event_idle_wait_ms_max < s.event_poll_interval_ms) {
    return makeError(
        ErrorCode::InvalidRequest,
        "config key 'event_idle_wait_ms_max' must be at least 'event_poll_interval_ms'");
  }
  s.event_stream_length_max = c.integer("event_stream_length_max");
  s.event_sweep_interval_ms = asInt(c, "event_sweep_interval_ms");
  s.event_sweep_grace_ms = asInt(c, "event_sweep_grace_ms");
  s.event_sweep_batch_size_max = asInt(c, "event_sweep_batch_size_max");
  s.reply_synchronous_commit = c.boolean("reply_synchronous_commit");
  s.reply_queue_size_max = asInt(c, "reply_queue_size_max");
  s.reply_batch_size_max = asInt(c, "reply_batch_size_max");
  s.reply_batch_linger_ms = asInt(c, "reply_batch_linger_ms");
  s.event_batch_linger_ms = asInt(c, "event_batch_linger_ms");
  s.fix_store_synchronous_commit = c.boolean("fix_store_synchronous_commit");
  s.fix_store_target_seq_write_every_messages =
      asInt(c, "fix_store_target_seq_write_every_messages");
  s.fix_store_sender_seq_block_messages = asInt(c, "fix_store_sender_seq_block_messages");
  return s;
}

}  // namespace

Result<GatewaySettings> loadGatewaySettings(const std::string& path,
                                            const std::vector<std::string>& overrides) {
  auto config = Config::load(gatewayConfigSchema(), path, overrides);
  if (!config) return config.error();
  return settingsFrom(*config);
}

}  // namespace fbg::gateway
