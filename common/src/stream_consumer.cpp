#include "common/stream_consumer.h"

#include <spdlog/spdlog.h>
#include <chrono>

namespace fbg {

std::vector<StreamMessage> streamMessagesOf(const RedisReply& reply) {
  std::vector<StreamMessage> out;
  if (reply.kind != RedisReply::Kind::Array || reply.elements.empty()) return out;
  const RedisReply& stream = reply.elements[0];
  if (stream.elements.size() != 2) return out;
  for (const RedisReply& item : stream.elements[1].elements) {
    if (item.elements.size() != 2) continue;
    StreamMessage message;
    message.entry_id = item.elements[0].text;
    const auto& fields = item.elements[1].elements;
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
      message.fields[fields[i].text] = fields[i + 1].text;
    }
    out.push_back(std::move(message));
  }
  return out;
}

StreamConsumer::StreamConsumer(StreamConsumerSettings settings, RedisPool& redis,
                               BatchHandler handle, std::function<void()> while_unavailable)
    : settings_(std::move(settings)),
      redis_(redis),
      handle_(std::move(handle)),
      while_unavailable_(std::move(while_unavailable)) {}

StreamConsumer::StreamConsumer(StreamConsumerSettings settings, RedisPool& redis, Handler handle,
                               std::function<void()> while_unavailable)
    : StreamConsumer(
          std::move(settings), redis,
          BatchHandler([one = std::move(handle)](const std::vector<StreamMessage>& messages) {
            std::vector<bool> done;
            done.reserve(messages.size());
            for (const auto& message : messages) done.push_back(one(message));
            return done;
          }),
          std::move(while_unavailable)) {}

StreamConsumer::~StreamConsumer() {
  stop();
}

void StreamConsumer::start() {
  thread_ = std::thread([this] { run(); });
}

void StreamConsumer::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

bool StreamConsumer::ensureGroup() {
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

void StreamConsumer::run() {
  while (!stopping_) {
    int handled = -1;
    if (ensureGroup()) handled = round(pending_drained_ ? ">" : "0");
    if (handled == 0 && !pending_drained_) {
      pending_drained_ = true;
      continue;
    }
    if (handled == 0 && while_idle_) while_idle_();
    if (handled >= 0) continue;
    pending_drained_ = false;  // what was read but not acknowledged is pending again
    if (!redis_.up()) {
      stream_up_ = false;
      if (while_unavailable_) while_unavailable_();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(settings_.retry_interval_ms));
  }
}

int StreamConsumer::round(const std::string& from) {
  std::vector<std::string> command = {"XREADGROUP",    "GROUP",
                                      settings_.group, settings_.consumer,
                                      "COUNT",         std::to_string(settings_.batch_size_max)};
  if (from == ">") command.insert(command.end(), {"BLOCK", std::to_string(settings_.block_ms)});
  command.insert(command.end(), {"STREAMS", settings_.stream, from});
  // Redis answers an expired BLOCK at its next event-loop tick, up to 1000/hz ms late (100 ms at
  // the default hz 10): measured, an empty BLOCK 100 read returns after 200 ms. Under the plain
  // command timeout such a read failed as if Redis were down, and the ledger's executions
  // consumer then polled the fill receiver from its cursor again and again.
  const int extra_timeout_ms = from == ">" ? settings_.block_ms : 0;
  auto reply = redis_.command(command, extra_timeout_ms);
  if (!reply) return -1;
  stream_up_ = true;
  if (reply->kind == RedisReply::Kind::Error) {
    spdlog::error("XREADGROUP {}: {}", settings_.stream, reply->text);
    if (reply->text.rfind("NOGROUP", 0) == 0) group_ready_ = false;
    return -1;
  }
  const auto messages = streamMessagesOf(*reply);
  if (messages.empty()) return 0;
  std::vector<bool> done;
  try {
    done = handle_(messages);
  } catch (const std::exception& failure) {
    // An exception out of this thread would end the process. Nothing is acknowledged: the
    // entries stay pending and are read again after the retry interval.
    spdlog::error("{}: handling {} entries failed, retried: {}", settings_.stream, messages.size(),
                  failure.what());
    return -1;
  }
  std::vector<std::string> ack = {"XACK", settings_.stream, settings_.group};
  bool all_done = done.size() == messages.size();
  for (std::size_t i = 0; i < messages.size() && i < done.size(); ++i) {
    if (done[i]) {
      ack.push_back(messages[i].entry_id);
    } else {
      all_done = false;
    }
  }
  if (ack.size() > 3 && !redis_.command(ack)) return -1;
  if (!all_done) return -1;  // re-read the pending ones after the retry interval
  return static_cast<int>(messages.size());
}

}  // namespace fbg
