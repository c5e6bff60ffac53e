#include "common/redis.h"

#include <hiredis/hiredis.h>

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

Result<RedisReply> RedisConnection::command(const std::vector<std::string>& argv) {
  if (broken_) return makeError(ErrorCode::Unavailable, "redis connection broken");
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
  return converted;
}

RedisPool::Lease::~Lease() {
  if (pool_ != nullptr && connection_) pool_->giveBack(std::move(connection_));
}

Result<std::unique_ptr<RedisConnection>> RedisPool::open() {
  redisContext* context =
      redisConnectWithTimeout(config_.host.c_str(), config_.port, toTimeval(config_.timeout_ms));
  if (context == nullptr || context->err != 0) {
    std::string why = context == nullptr ? "out of memory" : context->errstr;
    if (context != nullptr) redisFree(context);
    return makeError(ErrorCode::Unavailable, "redis unreachable: " + why);
  }
  const timeval timeout = toTimeval(config_.timeout_ms);
  redisSetTimeout(context, timeout);
  return std::make_unique<RedisConnection>(context);
}

Result<RedisPool::Lease> RedisPool::acquire() {
  {
    std::unique_lock lock(mutex_);
    if (std::chrono::steady_clock::now() < down_until_) {
      return makeError(ErrorCode::Unavailable, "redis down");
    }
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.acquire_timeout_ms);
    while (idle_.empty() && open_count_ >= config_.pool_size_max) {
      if (freed_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
          open_count_ >= config_.pool_size_max) {
        return makeError(ErrorCode::Unavailable, "no redis connection free");
      }
    }
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(connection));
    }
    ++open_count_;
  }
  auto opened = open();
  std::lock_guard lock(mutex_);
  if (!opened) {
    --open_count_;
    down_until_ = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(config_.down_retry_interval_ms);
    up_ = false;
    freed_.notify_one();
    return opened.error();
  }
  return Lease(this, std::move(opened.value()));
}

Result<RedisReply> RedisPool::command(const std::vector<std::string>& argv) {
  auto lease = acquire();
  if (!lease) return lease.error();
  return (*lease)->command(argv);
}

void RedisPool::giveBack(std::unique_ptr<RedisConnection> connection) {
  {
    std::lock_guard lock(mutex_);
    if (connection->broken()) {
      --open_count_;
      up_ = false;
      down_until_ = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(config_.down_retry_interval_ms);
    } else {
      up_ = true;
      idle_.push_back(std::move(connection));
    }
  }
  freed_.notify_one();
}

}  // namespace fbg
