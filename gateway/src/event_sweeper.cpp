#include "event_sweeper.h"

#include <spdlog/spdlog.h>

namespace fbg::gateway {

EventSweeper::EventSweeper(EventSweeperSettings settings, PgPool& pool, RedisPool& redis,
                           MetricsRegistry& metrics)
    : settings_(std::move(settings)),
      pool_(pool),
      redis_(redis),
      republished_(metrics.counter("gateway_events_republished_total",
                                   "Published order_events rows whose stream entry was lost, "
                                   "published again by the event sweep.")),
      sweep_(
          {"event sweep", "gateway_event_sweep", settings_.interval_ms, settings_.batch_size_max},
          redis,
          {[this]() -> Result<int64_t> {
             return withConnection<int64_t>(pool_, [](pqxx::connection& c) -> Result<int64_t> {
               pqxx::nontransaction work(c);
               return work.exec1("SELECT position FROM event_sweep_mark")[0].as<int64_t>();
             });
           },
           [this](int64_t mark) -> Status {
             return withConnection<Ok>(pool_, [mark](pqxx::connection& c) -> Status {
               pqxx::nontransaction work(c);
               work.exec_params("UPDATE event_sweep_mark SET position = greatest(position, $1)",
                                mark);
               return Ok{};
             });
           },
           [this](int64_t mark, int limit) { return due(mark, limit); },
           [this](std::size_t index, bool in_stream) { return settle(index, in_stream); }},
          metrics) {}

Result<std::vector<SweptEntry>> EventSweeper::due(int64_t mark, int limit) {
  batch_.clear();
  auto read = withConnection<Ok>(pool_, [&](pqxx::connection& c) -> Status {
    pqxx::nontransaction work(c);
    const auto result = work.exec_params(
        "SELECT relay_seq, event_id, kind, order_id, payload, coalesce(stream_entry_id, ''), "
        "published_at IS NOT NULL AND published_at < clock_timestamp() - $2 * interval '1 ms' "
        "FROM order_events WHERE relay_seq > $1 ORDER BY relay_seq LIMIT $3",
        mark, settings_.grace_ms, limit);
    for (const auto& r : result) {
      if (!r[6].as<bool>()) break;
      batch_.push_back({r[0].as<int64_t>(), r[1].as<std::string>(), r[2].as<std::string>(),
                        r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<std::string>()});
    }
    return Ok{};
  });
  if (!read) return read.error();
  std::vector<SweptEntry> entries;
  for (const Row& row : batch_) {
    entries.push_back({row.relay_seq, settings_.stream, row.entry_id, "event_id", row.event_id});
  }
  return entries;
}

bool EventSweeper::settle(std::size_t index, bool in_stream) {
  if (in_stream) return true;
  const Row& row = batch_.at(index);
  auto added =
      redis_.command({"XADD", settings_.stream, "MAXLEN", "~",
                      std::to_string(settings_.stream_length_max), "*", "event_id", row.event_id,
                      "kind", row.kind, "order_id", row.order_id, "payload", row.payload});
  if (!added || added->kind != RedisReply::Kind::String) {
    spdlog::warn("event sweep: {} not published again: {}", row.event_id,
                 added ? added->text : added.error().message);
    return false;
  }
  republished_.add();
  spdlog::error("event sweep: the entry {} of {} was lost from {}; published again as {}",
                row.entry_id, row.event_id, settings_.stream, added->text);
  return true;
}

}  // namespace fbg::gateway
