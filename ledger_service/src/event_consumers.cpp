#include "event_consumers.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <spdlog/spdlog.h>
#include <algorithm>
#include <nlohmann/json.hpp>

namespace fbg::ledger {
namespace {

constexpr int kRetryIntervalMs = 500;  // a stream reader's pause after a failure

}  // namespace

EventConsumers::EventConsumers(ConsumerSettings settings, RedisPool& redis, EventApplier& applier,
                               MetricsRegistry& metrics)
    : settings_(std::move(settings)),
      applier_(applier),
      invalid_(metrics.counter("ledger_events_invalid_total",
                               "Stream entries that could not be understood (logged, skipped).")),
      polled_(metrics.counter("ledger_executions_polled_total",
                              "Executions read from the fill receiver's API while the stream "
                              "was down.")) {
  const auto make = [&](const std::string& stream, int index, StreamConsumer::Handler handler,
                        std::function<void()> fallback) {
    return std::make_unique<StreamConsumer>(
        StreamConsumerSettings{stream, settings_.group,
                               settings_.consumer + "-" + std::to_string(index),
                               settings_.batch_size_max, settings_.block_ms, kRetryIntervalMs},
        redis, std::move(handler), std::move(fallback));
  };
  for (int i = 0; i < settings_.threads_per_stream; ++i) {
    consumers_.push_back(make("order-events", i,
                              [this](const StreamMessage& m) { return handleOrderEvent(m); }, {}));
    // One poller is enough while the stream is down; the cursor is shared.
    std::function<void()> poll;
    if (i == 0) poll = [this] { pollFillReceiver(); };
    consumers_.push_back(make(
        "executions", i, [this](const StreamMessage& m) { return handleExecution(m); }, poll));
  }
}

void EventConsumers::start() {
  for (auto& consumer : consumers_) consumer->start();
}

void EventConsumers::stop() {
  for (auto& consumer : consumers_) consumer->stop();
}

bool EventConsumers::applyOne(const Result<IncomingEvent>& event, const std::string& what) {
  if (!event) {
    invalid_.add();
    spdlog::error("{} skipped: {}", what, event.error().message);
    return true;  // it will not become valid by waiting
  }
  auto applied = applier_.apply(*event);
  if (!applied) {
    spdlog::warn("{} {} not applied yet: {}", what, event->dedup_id, applied.error().message);
    return false;
  }
  return true;
}

bool EventConsumers::handleOrderEvent(const StreamMessage& message) {
  return applyOne(parseOrderEvent(message.fields), "order event " + message.entry_id);
}

bool EventConsumers::handleExecution(const StreamMessage& message) {
  const auto payload = message.fields.find("payload");
  if (payload == message.fields.end())
    return applyOne(makeError(ErrorCode::InvalidRequest, "no payload"),
                    "execution " + message.entry_id);
  return applyOne(parseExecution(payload->second), "execution " + message.entry_id);
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
  nlohmann::json body;
  try {
    Poco::Net::HTTPClientSession session(settings_.fill_receiver_host,
                                         static_cast<Poco::UInt16>(settings_.fill_receiver_port));
    session.setTimeout(Poco::Timespan(0, settings_.poll_timeout_ms * 1000));
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET,
                                   "/v1/executions?after=" + std::to_string(after) +
                                       "&limit=" + std::to_string(settings_.poll_page_size));
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::string text;
    Poco::StreamCopier::copyToString(session.receiveResponse(response), text);
    if (response.getStatus() != Poco::Net::HTTPResponse::HTTP_OK) return false;
    body = nlohmann::json::parse(text, nullptr, false);
  } catch (const std::exception& failure) {
    spdlog::warn("polling the fill receiver: {}", failure.what());
    return false;
  }
  if (!body.is_object() || !body["executions"].is_array() || body["executions"].empty()) {
    return false;
  }
  for (const auto& item : body["executions"]) {
    if (!applyOne(parseExecution(item.dump()), "polled execution")) return false;
    polled_.add();
    const auto seq = item.find("seq");
    if (seq == item.end() || !seq->is_number_integer()) continue;
    after = std::max(after, seq->get<int64_t>());
    // Skipped items (unknown order, unreadable) commit nothing: move the stored cursor past them
    // explicitly, so the next outage starts here.
    if (!applier_.advanceExecutionsCursor(after)) return false;
  }
  return true;
}

}  // namespace fbg::ledger
