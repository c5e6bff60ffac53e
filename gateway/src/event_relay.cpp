#include "event_relay.h"

#include <spdlog/spdlog.h>

namespace fbg::gateway {

EventRelay::EventRelay(EventRelaySettings settings, PgPool& pool, RedisPool& redis,
                       MetricsRegistry& metrics)
    : settings_(std::move(settings)),
      pool_(pool),
      redis_(redis),
      rounds_(metrics.counter("gateway_event_relay_rounds_total",
                              "Rounds of the event relay (one statement each).")),
      published_(
          metrics.counter("gateway_events_published_total", "order-events entries published.")),
      backlog_(metrics.gauge("gateway_event_backlog", "order_events rows not yet published.")) {}

EventRelay::~EventRelay() {
  stop();
}

void EventRelay::start() {
  thread_ = std::thread([this] { run(); });
}

void EventRelay::stop() {
  stopping_ = true;
  wake();
  if (thread_.joinable()) thread_.join();
  if (unmarked_.relay_seqs.empty()) return;
  // Best effort: left unmarked, the events are published again at the next start.
  try {
    auto marked = withConnection<int>(pool_, [&](pqxx::connection& connection) -> Result<int> {
      pqxx::nontransaction work(connection);
      work.exec_prepared("relay_mark", pgArrayLiteral(unmarked_.relay_seqs),
                         pgArrayLiteral(unmarked_.entry_ids));
      return 0;
    });
    if (marked) unmarked_ = {};
  } catch (const std::exception& failure) {
    spdlog::warn("event relay: {} published events left unmarked: {}", unmarked_.relay_seqs.size(),
                 failure.what());
  }
}

void EventRelay::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_one();
}

void EventRelay::run() {
  while (!stopping_) {
    int relayed = -1;
    try {
      rounds_.add();
      relayed = relayBatch();
    } catch (const std::exception& failure) {
      spdlog::warn("event relay: {}", failure.what());
    }
    if (relayed >= settings_.batch_size_max) continue;
    std::unique_lock lock(mutex_);
    // A round that published marks its rows in the next one; one that failed retries soon.
    const int wait_ms = relayed == 0 ? settings_.idle_wait_ms_max : settings_.poll_interval_ms;
    wake_.wait_for(lock, std::chrono::milliseconds(wait_ms),
                   [this] { return woken_ || stopping_.load(); });
    if (woken_ && settings_.batch_linger_ms > 0) {
      wake_.wait_for(lock, std::chrono::milliseconds(settings_.batch_linger_ms),
                     [this] { return stopping_.load(); });
    }
    woken_ = false;
  }
}

int EventRelay::relayBatch() {
  auto relayed = withConnection<int>(pool_, [&](pqxx::connection& connection) -> Result<int> {
    pqxx::nontransaction work(connection);
    // One statement (relay_round): mark what the last round published, read what is still
    // unpublished. A crash before the mark publishes them again; consumers deduplicate on
    // event_id, as after a crash between XADD and marking.
    const auto rows = work.exec_prepared("relay_round", settings_.batch_size_max,
                                         pgArrayLiteral(unmarked_.relay_seqs),
                                         pgArrayLiteral(unmarked_.entry_ids));
    unmarked_ = {};
    // One round trip for the batch. Stream ids are Redis's (*): a batch resent after a failure
    // part-way adds its events again, and consumers deduplicate on event_id.
    std::vector<std::vector<std::string>> commands;
    commands.reserve(rows.size());
    for (const auto& row : rows) {
      commands.push_back({"XADD", settings_.stream, "MAXLEN", "~",
                          std::to_string(settings_.stream_length_max), "*", "event_id",
                          row[1].as<std::string>(), "kind", row[2].as<std::string>(), "order_id",
                          row[3].as<std::string>(), "payload", row[4].as<std::string>()});
    }
    int count = 0;
    auto added = commands.empty() ? Result<std::vector<RedisReply>>(std::vector<RedisReply>{})
                                  : redis_.pipeline(commands);
    if (added) {
      for (std::size_t i = 0; i < added->size(); ++i) {
        if ((*added)[i].kind != RedisReply::Kind::String) continue;  // left for a later round
        unmarked_.relay_seqs.push_back(rows[static_cast<int>(i)][0].as<std::string>());
        unmarked_.entry_ids.push_back((*added)[i].text);
        ++count;
      }
    }
    backlog_.set(static_cast<int64_t>(rows.size()) - count);
    // Rows waiting and none published (Redis down) is a failure: the next round comes after
    // the short poll, not the idle wait.
    return rows.empty() || count > 0 ? count : -1;
  });
  if (!relayed) return -1;
  if (*relayed > 0) published_.add(*relayed);
  return *relayed;
}

}  // namespace fbg::gateway
