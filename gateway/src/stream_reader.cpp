#include "stream_reader.h"

#include <spdlog/spdlog.h>

namespace fbg::gateway {

StreamReader::StreamReader(const StreamReaderSettings& settings, RedisPool& redis,
                           GatewayStore& store, MetricsRegistry& metrics,
                           std::function<void(const IntakeCounts&)> on_recorded)
    : store_(store),
      on_recorded_(std::move(on_recorded)),
      entries_(metrics.counter("gateway_stream_entries_total", "Stream entries recorded.")),
      duplicates_(metrics.counter("gateway_stream_duplicates_total",
                                  "Redelivered stream entries that found their order recorded.")),
      refused_(metrics.counter("gateway_stream_refused_total",
                               "Stream entries that could not be understood (kept in "
                               "refused_entries).")),
      failures_(metrics.counter("gateway_stream_failures_total",
                                "Reads whose recording failed and were left pending.")),
      consumer_({settings.stream, settings.group, settings.consumer, settings.batch_size_max,
                 settings.block_ms, settings.retry_interval_ms},
                redis, StreamConsumer::BatchHandler([this](const auto& messages) {
                  return record(messages);
                })) {}

std::vector<bool> StreamReader::record(const std::vector<StreamMessage>& messages) {
  std::vector<StreamEntry> entries;
  entries.reserve(messages.size());
  for (const auto& message : messages) entries.push_back({message.entry_id, message.fields});
  IntakeCounts counts;
  Status recorded = Ok{};
  try {
    recorded = store_.recordEntries(entries, counts);
  } catch (const std::exception& failure) {  // an SQL error: nothing was committed
    recorded = makeError(ErrorCode::Internal, failure.what());
  }
  if (!recorded) {
    failures_.add();
    spdlog::warn("recording {} stream entries failed: {}", entries.size(),
                 recorded.error().message);
    return std::vector<bool>(messages.size(), false);
  }
  entries_.add(counts.recorded + counts.cancels);
  duplicates_.add(counts.duplicates);
  refused_.add(counts.refused);
  if (on_recorded_) on_recorded_(counts);
  return std::vector<bool>(messages.size(), true);
}

}  // namespace fbg::gateway
