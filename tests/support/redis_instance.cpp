#include "support/redis_instance.h"

#include <hiredis/hiredis.h>

#include <fstream>
#include <memory>
#include <stdexcept>

#include "support/ports.h"
#include "support/temp_folder.h"
#include "support/wait.h"

namespace fbg::test {

namespace {

constexpr int kRedisStartTimeoutMs = 10000;
constexpr int kRedisStopTimeoutMs = 10000;
constexpr int kConnectTimeoutMs = 2000;
constexpr int kCommandTimeoutMs = 10000;
constexpr int kPingPollMs = 20;

timeval toTimeval(int duration_ms) {
  return timeval{duration_ms / 1000, static_cast<suseconds_t>(duration_ms % 1000) * 1000};
}

struct ContextDeleter {
  void operator()(redisContext* context) const { redisFree(context); }
};
struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

ContextPtr connectTo(int port) {
  ContextPtr context(redisConnectWithTimeout("127.0.0.1", port, toTimeval(kConnectTimeoutMs)));
  if (!context) throw std::runtime_error("RedisInstance: cannot allocate a connection");
  if (context->err != 0) {
    throw std::runtime_error("RedisInstance: connect to 127.0.0.1:" + std::to_string(port) + ": " +
                             context->errstr);
  }
  if (redisSetTimeout(context.get(), toTimeval(kCommandTimeoutMs)) != REDIS_OK) {
    throw std::runtime_error("RedisInstance: cannot set the command timeout");
  }
  return context;
}

// hiredis 0.14 speaks RESP2: status, error, string, integer, nil and (nested) array replies.
RedisReply decode(const redisReply& reply) {
  RedisReply decoded;
  switch (reply.type) {
    case REDIS_REPLY_STATUS:
      decoded.kind = RedisReply::Kind::Status;
      decoded.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ERROR:
      decoded.kind = RedisReply::Kind::Error;
      decoded.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_STRING:
      decoded.kind = RedisReply::Kind::String;
      decoded.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_INTEGER:
      decoded.kind = RedisReply::Kind::Integer;
      decoded.integer = reply.integer;
      break;
    case REDIS_REPLY_ARRAY:
      decoded.kind = RedisReply::Kind::Array;
      for (size_t i = 0; i < reply.elements; ++i) {
        decoded.elements.push_back(decode(*reply.element[i]));
      }
      break;
    default:
      decoded.kind = RedisReply::Kind::Nil;
  }
  return decoded;
}

void writeServerConfig(const std::filesystem::path& folder, int port) {
  std::ofstream config(folder / "redis.conf", std::ios::trunc);
  config << "# Written by fbg::test::RedisInstance.\n"
         << "bind 127.0.0.1\n"
         << "port " << port << "\n"
         << "dir " << folder.string() << "\n"
         << "daemonize no\n"
         << "appendonly yes\n"
         << "appendfsync everysec\n"
         << "save \"\"\n"
         << "logfile \"\"\n";  // standard output, which ChildProcess appends to redis.log
  if (!config.flush()) {
    throw std::runtime_error("RedisInstance: cannot write " + (folder / "redis.conf").string());
  }
}

}  // namespace

std::vector<std::string> RedisReply::strings() const {
  std::vector<std::string> texts;
  texts.reserve(elements.size());
  for (const auto& element : elements) {
    texts.push_back(element.kind == Kind::Integer ? std::to_string(element.integer) : element.text);
  }
  return texts;
}

RedisInstance::~RedisInstance() {
  server_.kill9();
  if (folder_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(folder_, ignored);
}

void RedisInstance::create() {
  std::filesystem::path folder = makeTempFolder("fbg-redis-");
  try {
    port_ = freeLoopbackPort();
    writeServerConfig(folder, port_);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(folder, ignored);
    throw;
  }
  folder_ = std::move(folder);
}

void RedisInstance::start() {
  if (folder_.empty()) create();
  if (server_.isRunning()) return;
  server_.launch("redis-server", {(folder_ / "redis.conf").string()}, {}, logPath());
  const bool ready = waitUntil([this] { return !server_.isRunning() || answersPing(); },
                               std::chrono::milliseconds(kRedisStartTimeoutMs),
                               std::chrono::milliseconds(kPingPollMs));
  if (!ready || !server_.isRunning()) {
    server_.kill9();
    throw std::runtime_error("RedisInstance: server on port " + std::to_string(port_) +
                             " did not answer PING within " + std::to_string(kRedisStartTimeoutMs) +
                             " ms; " + logPath().string() + ":\n" + logTail(logPath()));
  }
}

void RedisInstance::stop() {
  server_.terminate(kRedisStopTimeoutMs);
}

void RedisInstance::kill9() {
  server_.kill9();
}

bool RedisInstance::answersPing() const {
  try {
    const RedisReply reply = command({"PING"});
    return reply.kind == RedisReply::Kind::Status && reply.text == "PONG";
  } catch (const std::runtime_error&) {
    return false;  // not listening yet
  }
}

RedisReply RedisInstance::command(const std::vector<std::string>& args) const {
  if (args.empty()) throw std::invalid_argument("RedisInstance::command: no arguments");
  const ContextPtr context = connectTo(port_);
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const auto& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  const ReplyPtr reply(static_cast<redisReply*>(
      redisCommandArgv(context.get(), static_cast<int>(argv.size()), argv.data(), lengths.data())));
  if (!reply) {
    throw std::runtime_error("RedisInstance: " + args.front() + " on port " +
                             std::to_string(port_) + " failed: " + context->errstr);
  }
  return decode(*reply);
}

}  // namespace fbg::test
