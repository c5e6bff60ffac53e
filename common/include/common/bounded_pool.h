// A bounded pool of connections of any kind, shared by the PostgreSQL and Redis adapters.
// Connections open lazily up to size_max; a caller waits at most acquire_timeout_ms for a free
// one, then gets Unavailable. A connection whose lease was marked broken, or that fails the
// health check on return, is dropped, so the next acquire opens a fresh one: a restarted server
// heals without restarting the process.
#pragma once

#include <cassert>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"

namespace fbg {

template <typename Connection>
class BoundedPool {
 public:
  using Open = std::function<Result<std::unique_ptr<Connection>>()>;
  using Healthy = std::function<bool(Connection&)>;

  class Lease {
   public:
    Lease(BoundedPool* pool, std::unique_ptr<Connection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    Lease(Lease&& other) noexcept
        : pool_(other.pool_), connection_(std::move(other.connection_)), broken_(other.broken_) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (pool_ != nullptr && connection_) pool_->giveBack(std::move(connection_), broken_);
    }
    Connection& connection() { return *connection_; }
    Connection& operator*() { return *connection_; }
    Connection* operator->() { return connection_.get(); }
    void markBroken() { broken_ = true; }

   private:
    BoundedPool* pool_;
    std::unique_ptr<Connection> connection_;
    bool broken_ = false;
  };

  // what: named in the Unavailable message ("database", "redis").
  BoundedPool(std::string what, int size_max, int acquire_timeout_ms, Open open, Healthy healthy)
      : what_(std::move(what)),
        size_max_(size_max),
        acquire_timeout_ms_(acquire_timeout_ms),
        open_(std::move(open)),
        healthy_(std::move(healthy)) {
    assert(size_max_ > 0 && acquire_timeout_ms_ >= 0);
  }

  [[nodiscard]] Result<Lease> acquire() {
    {
      std::unique_lock lock(mutex_);
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(acquire_timeout_ms_);
      if (!freed_.wait_until(lock, deadline,
                             [this] { return !idle_.empty() || open_count_ < size_max_; })) {
        return makeError(ErrorCode::Unavailable, "no " + what_ + " connection free within " +
                                                     std::to_string(acquire_timeout_ms_) + " ms");
      }
      if (!idle_.empty()) {
        auto connection = std::move(idle_.back());
        idle_.pop_back();
        return Lease(this, std::move(connection));
      }
      ++open_count_;  // hold the slot; open outside the lock
    }
    auto opened = open_();
    if (!opened) {
      {
        std::lock_guard lock(mutex_);
        --open_count_;
      }
      freed_.notify_one();
      return opened.error();
    }
    return Lease(this, std::move(opened.value()));
  }

 private:
  void giveBack(std::unique_ptr<Connection> connection, bool broken) {
    const bool keep = !broken && healthy_(*connection);
    {
      std::lock_guard lock(mutex_);
      if (keep) {
        idle_.push_back(std::move(connection));
      } else {
        --open_count_;
      }
    }
    connection.reset();  // a dropped connection closes outside the lock
    freed_.notify_one();
  }

  const std::string what_;
  const int size_max_;
  const int acquire_timeout_ms_;
  Open open_;
  Healthy healthy_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int open_count_ = 0;
};

}  // namespace fbg
