#include "event_sweeper.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/sweep_mark.h"

namespace fbg::gateway {
namespace {

// Bounds a round's work after a long outage: the rest waits for the next round.
constexpr int kBatchesPerRoundMax = 20;

// An XRANGE entry is [id, [field, value, ...]]: the row's if its event_id matches.
bool entryHoldsEvent(const RedisReply& entry, const std::string& event_id) {
  if (entry.elements.size() != 2) return false;
  const auto& fields = entry.elements[1].elements;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].text == "event_id") return fields[i + 1].text == event_id;
  }
  return false;
}

}  // namespace

EventSweeper::EventSweeper(EventSweeperSettings settings, PgPool& pool, RedisPool& redis,
                           MetricsRegistry& metrics)
    : settings_(std::move(settings)),
      pool_(pool),
      redis_(redis),
      republished_(metrics.counter("gateway_events_republished_total",
                                   "Published order_events rows whose stream entry was lost, "
                                   "published again by the event sweep.")),
      mark_gauge_(metrics.gauge("gateway_event_sweep_mark",
                                "The relay_seq below which every published event is checked.")),
      task_(
          "event sweep", std::max(1, settings_.interval_ms), [this] { return round(); },
          metrics.counter("gateway_event_sweep_failures_total",
                          "Event sweep rounds ended by an error (database or Redis "
                          "unreachable).")) {}

Status EventSweeper::round() {
  if (mark_ < 0) {
    auto stored = withConnection<int64_t>(pool_, [](pqxx::connection& c) -> Result<int64_t> {
      pqxx::nontransaction work(c);
      return work.exec1("SELECT position FROM event_sweep_mark")[0].as<int64_t>();
    });
    if (!stored) return stored.error();
    mark_ = *stored;
  }
  for (int batch = 0; batch < kBatchesPerRoundMax && !task_.stopping(); ++batch) {
    auto more = sweepBatch();
    if (!more) return more.error();
    if (!*more) break;
  }
  mark_gauge_.set(mark_);
  return Ok{};
}

Result<bool> EventSweeper::sweepBatch() {
  auto rows = dueRows();
  if (!rows) return rows.error();
  if (rows->empty()) return false;
  auto present = inStream(*rows);
  if (!present) return present.error();
  std::vector<int64_t> relay_seqs;
  std::vector<bool> settled;
  for (std::size_t i = 0; i < rows->size(); ++i) {
    relay_seqs.push_back((*rows)[i].relay_seq);
    settled.push_back((*present)[i] || republish((*rows)[i]));
    if (!settled.back()) break;  // Redis refused: the rest waits, in order, for the next round
  }
  const int64_t mark = markOverSettled(mark_, relay_seqs, settled);
  if (mark > mark_) {
    auto stored = withConnection<Ok>(pool_, [mark](pqxx::connection& c) -> Status {
      pqxx::nontransaction work(c);
      work.exec_params("UPDATE event_sweep_mark SET position = greatest(position, $1)", mark);
      return Ok{};
    });
    if (!stored) return stored.error();
    mark_ = mark;
  }
  return static_cast<int>(rows->size()) == settings_.batch_size_max &&
         mark == rows->back().relay_seq;
}

// The next rows past the mark, up to the first that is not yet published or was published less
// than the grace ago.
Result<std::vector<EventSweeper::Row>> EventSweeper::dueRows() {
  return withConnection<std::vector<Row>>(
      pool_, [this](pqxx::connection& c) -> Result<std::vector<Row>> {
        pqxx::nontransaction work(c);
        std::vector<Row> rows;
        const auto result = work.exec_params(
            "SELECT relay_seq, event_id, kind, order_id, payload, coalesce(stream_entry_id, ''), "
            "published_at IS NOT NULL AND published_at < clock_timestamp() - $2 * interval "
            "'1 ms' FROM order_events WHERE relay_seq > $1 ORDER BY relay_seq LIMIT $3",
            mark_, settings_.grace_ms, settings_.batch_size_max);
        for (const auto& r : result) {
          if (!r[6].as<bool>()) break;
          rows.push_back({r[0].as<int64_t>(), r[1].as<std::string>(), r[2].as<std::string>(),
                          r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<std::string>()});
        }
        return rows;
      });
}

Result<std::vector<bool>> EventSweeper::inStream(const std::vector<Row>& rows) {
  std::vector<std::vector<std::string>> commands;
  std::vector<std::size_t> asked;  // rows with an entry id, in command order
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].entry_id.empty()) continue;
    commands.push_back({"XRANGE", settings_.stream, rows[i].entry_id, rows[i].entry_id});
    asked.push_back(i);
  }
  std::vector<bool> present(rows.size(), true);  // no id: nothing to ask, passed
  if (commands.empty()) return present;
  auto replies = redis_.pipeline(commands);
  if (!replies) return replies.error();
  if (replies->size() != asked.size()) return makeError(ErrorCode::Unavailable, "short pipeline");
  for (std::size_t k = 0; k < asked.size(); ++k) {
    const RedisReply& reply = (*replies)[k];
    if (reply.kind != RedisReply::Kind::Array) {  // LOADING after a restart, for example
      return makeError(ErrorCode::Unavailable, "XRANGE: " + reply.text);
    }
    const Row& row = rows[asked[k]];
    present[asked[k]] =
        reply.elements.size() == 1 && entryHoldsEvent(reply.elements[0], row.event_id);
  }
  return present;
}

bool EventSweeper::republish(const Row& row) {
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
