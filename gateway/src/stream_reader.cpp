#include "stream_reader.h"

#include <spdlog/spdlog.h>
#include <chrono>

namespace fbg::gateway {
namespace {

// XREADGROUP reply: [[stream, [[id, [field, value, ...] or nil], ...]]] or nil (timeout).
std::vector<StreamEntry> entriesOf(const RedisReply& reply) {
  std::vector<StreamEntry> entries;
  if (reply.kind != RedisReply::Kind::Array || reply.elements.empty()) return entries;
  const RedisReply& stream = reply.elements[0];
  if (stream.elements.size() != 2) return entries;
  for (const RedisReply& item : stream.elements[1].elements) {
    if (item.elements.size() != 2) continue;
    StreamEntry entry;
    entry.entry_id = item.elements[0].text;
    const auto& fields = item.elements[1].elements;  // empty when the entry was trimmed
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
      entry.fields[fields[i].text] = fields[i + 1].text;
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace

StreamReader::StreamReader(StreamReaderSettings settings, RedisPool& redis, GatewayStore& store,
                           MetricsRegistry& metrics, std::function<void()> on_recorded)
    : settings_(std::move(settings)),
      redis_(redis),
      store_(store),
      on_recorded_(std::move(on_recorded)),
      entries_(metrics.counter("gateway_stream_entries_total", "Stream entries recorded.")),
      duplicates_(metrics.counter("gateway_stream_duplicates_total",
                                  "Redelivered stream entries that found their order recorded.")),
      refused_(metrics.counter("gateway_stream_refused_total",
                               "Stream entries that could not be understood (kept in "
                               "refused_entries).")),
      failures_(metrics.counter("gateway_stream_failures_total",
                                "Rounds that failed on Redis or PostgreSQL and were retried.")) {}

StreamReader::~StreamReader() {
  stop();
}

void StreamReader::start() {
  thread_ = std::thread([this] { run(); });
}

void StreamReader::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

bool StreamReader::ensureGroup() {
  if (group_ready_) return true;
  auto created =
      redis_.command({"XGROUP", "CREATE", settings_.stream, settings_.group, "0", "MKSTREAM"});
  if (!created) return false;
  if (created->kind == RedisReply::Kind::Error && created->text.rfind("BUSYGROUP", 0) != 0) {
    spdlog::error("XGROUP CREATE {}: {}", settings_.stream, created->text);
    return false;
  }
  group_ready_ = true;
  return true;
}

void StreamReader::run() {
  while (!stopping_) {
    int handled = -1;
    if (ensureGroup()) {
      // Own pending entries first (after a crash or a failed round), then new ones.
      handled = round(pending_drained_ ? ">" : "0");
      if (handled == 0 && !pending_drained_) {
        pending_drained_ = true;
        continue;
      }
    }
    if (handled < 0) {
      failures_.add();
      pending_drained_ = false;  // what was read but not acknowledged is pending again
      std::this_thread::sleep_for(std::chrono::milliseconds(settings_.retry_interval_ms));
    }
  }
}

int StreamReader::round(const std::string& from) {
  std::vector<std::string> command = {"XREADGROUP",    "GROUP",
                                      settings_.group, settings_.consumer,
                                      "COUNT",         std::to_string(settings_.batch_size_max)};
  if (from == ">") {
    command.push_back("BLOCK");
    command.push_back(std::to_string(settings_.block_ms));
  }
  command.insert(command.end(), {"STREAMS", settings_.stream, from});
  auto reply = redis_.command(command);
  if (!reply) return -1;
  if (reply->kind == RedisReply::Kind::Error) {
    spdlog::error("XREADGROUP {}: {}", settings_.stream, reply->text);
    if (reply->text.rfind("NOGROUP", 0) == 0) group_ready_ = false;  // stream was deleted
    return -1;
  }
  const std::vector<StreamEntry> entries = entriesOf(*reply);
  if (entries.empty()) return 0;
  IntakeCounts counts;
  Status recorded = Ok{};
  try {
    recorded = store_.recordEntries(entries, counts);
  } catch (const std::exception& failure) {  // an SQL error: nothing was committed
    recorded = makeError(ErrorCode::Internal, failure.what());
  }
  if (!recorded) {
    spdlog::warn("recording {} stream entries failed: {}", entries.size(),
                 recorded.error().message);
    return -1;
  }
  std::vector<std::string> ack = {"XACK", settings_.stream, settings_.group};
  for (const auto& entry : entries) ack.push_back(entry.entry_id);
  if (!redis_.command(ack)) return -1;  // recorded; the redelivery will find the rows
  entries_.add(counts.recorded + counts.cancels);
  duplicates_.add(counts.duplicates);
  refused_.add(counts.refused);
  if (on_recorded_) on_recorded_();
  return static_cast<int>(entries.size());
}

}  // namespace fbg::gateway
