#include "event_consumers.h"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <nlohmann/json.hpp>

#include "executions_client.h"

namespace fbg::ledger {
namespace {

constexpr int kRetryIntervalMs = 500;  // a stream reader's pause after a failure

// A polled item's seq, 0 when it has none (it is then unreadable: parseExecution refuses it).
int64_t seqOf(const nlohmann::json& item) {
  const auto seq = item.find("seq");
  return seq != item.end() && seq->is_number_integer() ? seq->get<int64_t>() : 0;
}

// The earliest received_at of the reports read (unix ms); 0 when none says.
int64_t oldestReceived(const std::vector<Result<IncomingEvent>>& parsed) {
  int64_t oldest = 0;
  for (const auto& event : parsed) {
    const int64_t received = event ? event->received_unix_ms : 0;
    if (received > 0) oldest = oldest == 0 ? received : std::min(oldest, received);
  }
  return oldest;
}

}  // namespace

EventConsumers::EventConsumers(ConsumerSettings settings, RedisPool& redis, EventApplier& applier,
                               EventLag& lag, MetricsRegistry& metrics)
    : settings_(std::move(settings)),
      applier_(applier),
      lag_(lag),
      invalid_(metrics.counter("ledger_events_invalid_total",
                               "Stream entries that could not be understood (logged, skipped).")),
      polled_(metrics.counter("ledger_executions_polled_total",
                              "Executions read from the fill receiver's API while the stream "
                              "was down.")) {
  const auto make = [&](const std::string& stream, int index, StreamConsumer::BatchHandler handler,
                        std::function<void()> fallback) {
    return std::make_unique<StreamConsumer>(
        StreamConsumerSettings{stream, settings_.group,
                               settings_.consumer + "-" + std::to_string(index),
                               settings_.batch_size_max, settings_.block_ms, kRetryIntervalMs},
        redis, std::move(handler), std::move(fallback));
  };
  for (int i = 0; i < settings_.threads_per_stream; ++i) {
    consumers_.push_back(make("order-events", i,
                              [this, i](const std::vector<StreamMessage>& m) {
                                return handleOrderEvents(kEventStreams * i, m);
                              },
                              {}));
    // One poller is enough while the stream is down; the cursor is shared.
    std::function<void()> poll;
    if (i == 0) poll = [this] { pollFillReceiver(); };
    consumers_.push_back(make(
        "executions", i,
        [this, i](const std::vector<StreamMessage>& m) {
          return handleExecutions(kEventStreams * i + 1, m);
        },
        poll));
    consumers_.back()->setWhileIdle([this] { applier_.flushExecutionsCursor(); });
  }
}

void EventConsumers::start() {
  for (auto& consumer : consumers_) consumer->start();
}

void EventConsumers::stop() {
  for (auto& consumer : consumers_) consumer->stop();
}

std::vector<bool> EventConsumers::applyRead(int reader, int64_t oldest_unix_ms,
                                            const std::vector<Result<IncomingEvent>>& parsed,
                                            const std::vector<StreamMessage>& messages,
                                            const std::string& what) {
  lag_.working(reader, oldest_unix_ms);
  struct Done {
    EventLag& lag;
    int reader;
    ~Done() { lag.done(reader); }
  } lag_reported{lag_, reader};
  std::vector<bool> done(messages.size(), true);  // an unreadable entry will not become readable
  std::vector<IncomingEvent> events;
  std::vector<std::size_t> index_of;
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    if (!parsed[i]) {
      invalid_.add();
      spdlog::error("{} {} skipped: {}", what, messages[i].entry_id, parsed[i].error().message);
      continue;
    }
    events.push_back(*parsed[i]);
    index_of.push_back(i);
  }
  if (events.empty()) return done;
  const auto outcomes = applier_.applyBatch(events);
  for (std::size_t k = 0; k < outcomes.size(); ++k) {
    if (outcomes[k]) continue;
    done[index_of[k]] = false;
    spdlog::warn("{} {} not applied yet: {}", what, events[k].dedup_id,
                 outcomes[k].error().message);
  }
  return done;
}

// Order events' entry ids are Redis's own (XADD *): the oldest, the first of the read, gives its
// time.
std::vector<bool> EventConsumers::handleOrderEvents(int reader,
                                                    const std::vector<StreamMessage>& messages) {
  std::vector<Result<IncomingEvent>> parsed;
  parsed.reserve(messages.size());
  for (const auto& message : messages) parsed.push_back(parseOrderEvent(message.fields));
  const int64_t oldest = messages.empty() ? 0 : entryUnixMs(messages.front().entry_id);
  return applyRead(reader, oldest, parsed, messages, "order event");
}

// Executions' entry ids are the fill receiver's seq, not a time: the oldest report's own
// received_at (when the fill receiver stored it) gives it.
std::vector<bool> EventConsumers::handleExecutions(int reader,
                                                   const std::vector<StreamMessage>& messages) {
  std::vector<Result<IncomingEvent>> parsed;
  parsed.reserve(messages.size());
  for (const auto& message : messages) {
    const auto payload = message.fields.find("payload");
    parsed.push_back(payload == message.fields.end()
                         ? Result<IncomingEvent>(makeError(ErrorCode::InvalidRequest, "no payload"))
                         : parseExecution(payload->second));
  }
  return applyRead(reader, oldestReceived(parsed), parsed, messages, "execution");
}

int64_t pollingStart(int64_t cursor, const ConsumerSettings& settings) {
  const int64_t in_flight =
      2 * static_cast<int64_t>(settings.threads_per_stream) * settings.batch_size_max;
  return std::max<int64_t>(0, cursor - in_flight);
}

// The polling path: pages of GET /v1/executions, applied in seq order, from pollingStart() of the
// stored cursor at an outage's first round on. Stops at the first failure; the next round
// resumes from the last report applied or skipped.
void EventConsumers::pollFillReceiver() {
  const auto now = std::chrono::steady_clock::now();
  const bool new_outage = now - last_poll_ > std::chrono::milliseconds(5 * kRetryIntervalMs);
  last_poll_ = now;
  if (new_outage) {
    auto cursor = applier_.executionsCursor();
    if (!cursor) return;
    poll_after_ = pollingStart(*cursor, settings_);
  }
  for (int page = 0; page < settings_.poll_pages_max; ++page) {
    if (!pollPage(poll_after_)) break;
  }
  last_poll_ = std::chrono::steady_clock::now();
}

bool EventConsumers::pollPage(int64_t& after) {
  const auto page = fetchExecutionsPage(
      {settings_.fill_receiver_host, settings_.fill_receiver_port, settings_.poll_timeout_ms},
      after, settings_.poll_page_size);
  if (!page) {
    spdlog::warn("polling the fill receiver: {}", page.error().message);
    return false;
  }
  const nlohmann::json& body = *page;
  if (!body.contains("executions") || !body["executions"].is_array() ||
      body["executions"].empty()) {
    return false;
  }
  // One batch per page (grouped by account, as a stream read); the position moves up to the
  // first report not applied, which the next round starts from.
  const auto& items = body["executions"];
  std::vector<Result<IncomingEvent>> parsed;
  std::vector<StreamMessage> labels;  // for the log lines only
  for (const auto& item : items) {
    parsed.push_back(parseExecution(item.dump()));
    labels.push_back({"seq " + std::to_string(seqOf(item)), {}});
  }
  // The poller runs on the first executions reader's thread (reader 1), whose lag it reports.
  const std::vector<bool> done =
      applyRead(1, oldestReceived(parsed), parsed, labels, "polled execution");
  std::size_t applied = 0;
  for (; applied < items.size() && done[applied]; ++applied) {
    polled_.add();
    after = std::max(after, seqOf(items[applied]));
  }
  // Skipped items (unknown order, unreadable) commit nothing: move the stored cursor past them
  // explicitly, so the next outage starts here.
  if (!applier_.advanceExecutionsCursor(after)) return false;
  return applied == items.size();
}

}  // namespace fbg::ledger
