#include "common/stream_sweep.h"

#include <algorithm>

#include "common/sweep_mark.h"

namespace fbg {
namespace {

// An XRANGE entry is [id, [field, value, ...]].
bool entryHolds(const RedisReply& entry, const std::string& field, const std::string& value) {
  if (entry.elements.size() != 2) return false;
  const auto& fields = entry.elements[1].elements;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].text == field) return fields[i + 1].text == value;
  }
  return false;
}

}  // namespace

StreamSweep::StreamSweep(StreamSweepSettings settings, RedisPool& redis, Hooks hooks,
                         MetricsRegistry& metrics)
    : settings_(std::move(settings)),
      redis_(redis),
      hooks_(std::move(hooks)),
      mark_gauge_(
          metrics.gauge(settings_.metric_prefix + "_mark",
                        "The seq below which every row is checked (" + settings_.name + ").")),
      task_(
          settings_.name, std::max(1, settings_.interval_ms), [this] { return round(); },
          metrics.counter(settings_.metric_prefix + "_failures_total",
                          "Rounds of the " + settings_.name +
                              " ended by an error (database or Redis unreachable).")) {}

Status StreamSweep::round() {
  if (mark_ < 0) {
    auto stored = hooks_.read_mark();
    if (!stored) return stored.error();
    mark_ = *stored;
  }
  for (int batch = 0; batch < settings_.batches_per_round_max && !task_.stopping(); ++batch) {
    auto more = sweepBatch();
    if (!more) return more.error();
    if (!*more) break;
  }
  mark_gauge_.set(mark_);
  return Ok{};
}

Result<bool> StreamSweep::sweepBatch() {
  auto rows = hooks_.due(mark_, settings_.batch_size_max);
  if (!rows) return rows.error();
  if (rows->empty()) return false;
  auto present = inStream(*rows);
  if (!present) return present.error();
  std::vector<int64_t> seqs;
  std::vector<bool> settled;
  for (std::size_t i = 0; i < rows->size(); ++i) {
    seqs.push_back((*rows)[i].seq);
    settled.push_back(hooks_.settle(i, (*present)[i]));
    if (!settled.back()) break;  // the rest waits, in order, for the next round
  }
  const int64_t mark = markOverSettled(mark_, seqs, settled);
  if (mark > mark_) {
    if (auto stored = hooks_.store_mark(mark); !stored) return stored.error();
    mark_ = mark;
  }
  return static_cast<int>(rows->size()) == settings_.batch_size_max && mark == rows->back().seq;
}

Result<std::vector<bool>> StreamSweep::inStream(const std::vector<SweptEntry>& rows) {
  std::vector<std::vector<std::string>> commands;
  std::vector<std::size_t> asked;  // rows with an entry id, in command order
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].entry_id.empty()) continue;
    commands.push_back({"XRANGE", rows[i].stream, rows[i].entry_id, rows[i].entry_id});
    asked.push_back(i);
  }
  std::vector<bool> present(rows.size(), true);  // no id: nothing to ask
  if (commands.empty()) return present;
  auto replies = redis_.pipeline(commands);
  if (!replies) return replies.error();
  if (replies->size() != asked.size()) return makeError(ErrorCode::Unavailable, "short pipeline");
  for (std::size_t k = 0; k < asked.size(); ++k) {
    const RedisReply& reply = (*replies)[k];
    if (reply.kind != RedisReply::Kind::Array) {  // LOADING after a restart, for example
      return makeError(ErrorCode::Unavailable, "XRANGE: " + reply.text);
    }
    const SweptEntry& row = rows[asked[k]];
    present[asked[k]] =
        reply.elements.size() == 1 && entryHolds(reply.elements[0], row.field, row.value);
  }
  return present;
}

}  // namespace fbg
