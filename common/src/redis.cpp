#include "common/redis.h"

#include <hiredis/hiredis.h>

#include <chrono>

namespace fbg {
namespace {

RedisReply convert(const redisReply* reply) {
  RedisReply out;
  switch (reply->type) {
    case REDIS_REPLY_INTEGER:
      out.kind = RedisReply::Kind::Integer;
      out.integer = reply->integer;
      break;
    case REDIS_REPLY_STRING:
      out.kind = RedisReply::Kind::String;
      out.text.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_STATUS:
      out.kind = RedisReply::Kind::Status;
      out.text.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_ERROR:
      out.kind = RedisReply::Kind::Error;
      out.text.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.kind = RedisReply::Kind::Array;
      for (std::size_t i = 0; i < reply->elements; ++i)
        out.elements.push_back(convert(reply->element[i]));
      break;
    default:
      out.kind = RedisReply::Kind::Nil;
  }
  return out;
}

timeval toTimeval(int milliseconds) {
  return timeval{milliseconds / 1000, static_cast<suseconds_t>((milliseconds % 1000) * 1000)};
}

}  // namespace

RedisConnection::~RedisConnection() {
  if (context_ != nullptr) redisFree(context_);
}

Result<RedisReply> RedisConnection::command(const std::vector<std::string>& argv,
                                            int extra_timeout_ms) {
  if (broken_) return makeError(ErrorCode::Unavailable, "redis connection broken");
  if (extra_timeout_ms > 0) {
    redisSetTimeout(context_, toTimeval(timeout_ms_ + extra_timeout_ms));
  }
  std::vector<const char*> parts;
  std::vector<std::size_t> lengths;
  for (const auto& arg : argv) {
    parts.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(context_, static_cast<int>(argv.size()), parts.data(), lengths.data()));
  if (reply == nullptr) {
    broken_ = true;
    return makeError(ErrorCode::Unavailable, std::string("redis: ") + context_->errstr);
  }
  RedisReply converted = convert(reply);
  freeReplyObject(reply);
  if (extra_timeout_ms > 0) redisSetTimeout(context_, toTimeval(timeout_ms_));
  return converted;
}

Result<std::vector<RedisReply>> RedisConnection::pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  if (broken_) return makeError(ErrorCode::Unavailable, "redis connection broken");
  for (const auto& argv : commands) {
    std::vector<const char*> parts;
    std::vector<std::size_t> lengths;
    for (const auto& arg : argv) {
      parts.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), parts.data(),
                               lengths.data()) != REDIS_OK) {
      broken_ = true;
      return makeError(ErrorCode::Unavailable, std::string("redis: ") + context_->errstr);
    }
  }
  std::vector<RedisReply> replies;
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      broken_ = true;  // the unread replies would answer a later command
      return makeError(ErrorCode::Unavailable, std::string("redis: ") + context_->errstr);
    }
    auto* reply = static_cast<redisReply*>(raw);
    replies.push_back(convert(reply));
    freeReplyObject(reply);
  }
  return replies;
}

namespace {

int64_t steadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

RedisPool::RedisPool(RedisConfig config)
    : config_(std::move(config)),
      pool_(
          "redis", config_.pool_size_max, config_.acquire_timeout_ms, [this] { return open(); },
          [](RedisConnection& connection) { return !connection.broken(); }) {}

Result<std::unique_ptr<RedisConnection>> RedisPool::open() {
  redisContext* context =
      redisConnectWithTimeout(config_.host.c_str(), config_.port, toTimeval(config_.timeout_ms));
  if (context == nullptr || context->err != 0) {
    std::string why = context == nullptr ? "out of memory" : context->errstr;
    if (context != nullptr) redisFree(context);
    markDown();
    return makeError(ErrorCode::Unavailable, "redis unreachable: " + why);
  }
  const timeval timeout = toTimeval(config_.timeout_ms);
  redisSetTimeout(context, timeout);
  return std::make_unique<RedisConnection>(context, config_.timeout_ms);
}

void RedisPool::markDown() {
  up_ = false;
  down_until_ms_ = steadyNowMs() + config_.down_retry_interval_ms;
}

Result<RedisPool::Lease> RedisPool::acquire() {
  if (steadyNowMs() < down_until_ms_.load()) return makeError(ErrorCode::Unavailable, "redis down");
  return pool_.acquire();
}

Result<RedisReply> RedisPool::command(const std::vector<std::string>& argv, int extra_timeout_ms) {
  auto lease = acquire();
  if (!lease) return lease.error();
  auto reply = (*lease)->command(argv, extra_timeout_ms);
  if (reply) {
    up_ = true;
  } else {
    markDown();
  }
  return reply;
}

Result<std::vector<RedisReply>> RedisPool::pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  auto lease = acquire();
  if (!lease) return lease.error();
  auto replies = (*lease)->pipeline(commands);
  if (replies) {
    up_ = true;
  } else {
    markDown();
  }
  return replies;
}

}  // namespace fbg
