#include "common/pg_pool.h"

#include <spdlog/spdlog.h>

namespace fbg {

PgPool::Lease::~Lease() {
  if (pool_ != nullptr && connection_) pool_->giveBack(std::move(connection_), broken_);
}

PgPool::PgPool(PgPoolConfig config, Prepare prepare)
    : config_(std::move(config)), prepare_(std::move(prepare)) {}

Result<PgPool::Lease> PgPool::acquire() {
  {
    std::unique_lock lock(mutex_);
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.acquire_timeout_ms);
    while (idle_.empty() && open_count_ >= config_.size_max) {
      if (freed_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
          open_count_ >= config_.size_max) {
        return makeError(ErrorCode::Unavailable, "no database connection free within " +
                                                     std::to_string(config_.acquire_timeout_ms) +
                                                     " ms");
      }
    }
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(connection));
    }
    ++open_count_;  // reserve the slot; open outside the lock
  }
  try {
    auto connection = std::make_unique<pqxx::connection>(config_.uri);
    if (prepare_) prepare_(*connection);
    return Lease(this, std::move(connection));
  } catch (const std::exception& failure) {
    {
      std::lock_guard lock(mutex_);
      --open_count_;
    }
    freed_.notify_one();
    spdlog::warn("cannot open database connection: {}", failure.what());
    return makeError(ErrorCode::Unavailable, "database unavailable");
  }
}

void PgPool::giveBack(std::unique_ptr<pqxx::connection> connection, bool broken) {
  {
    std::lock_guard lock(mutex_);
    if (broken || !connection->is_open()) {
      --open_count_;
      connection.reset();
    } else {
      idle_.push_back(std::move(connection));
    }
  }
  freed_.notify_one();
}

}  // namespace fbg
