#include "account_lock.h"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cassert>
#include <chrono>
#include <random>
#include <thread>

#include "domain/reservation.h"

namespace fbg::ledger {
namespace {

// Deletes the key only while it still holds our token: a lock that expired and was taken by
// someone else is left alone.
constexpr const char* kReleaseScript =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
    "else return 0 end";

std::mt19937_64& randomEngine() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

std::string randomToken() {
  char text[33];
  std::snprintf(text, sizeof text, "%016llx%016llx",
                static_cast<unsigned long long>(randomEngine()()),
                static_cast<unsigned long long>(randomEngine()()));
  return text;
}

std::string lockKey(const std::string& account_id) {
  return "lock:account:" + account_id;
}

}  // namespace

AccountLocks::Held::~Held() {
  if (redis_ == nullptr) return;
  std::vector<std::vector<std::string>> releases;
  for (std::size_t i = 0; i < account_ids_.size(); ++i) {
    if (tokens_[i].empty()) continue;
    releases.push_back({"EVAL", kReleaseScript, "1", lockKey(account_ids_[i]), tokens_[i]});
  }
  if (!releases.empty()) {
    if (auto released = redis_->pipeline(releases); !released) {
      spdlog::warn("{} account locks not released ({}); they expire by TTL", releases.size(),
                   released.error().message);
    }
  }
  // After Redis: a waiter woken here asks Redis next, and finds the key gone.
  if (local_ != nullptr) local_->release(account_ids_);
}

AccountLocks::AccountLocks(RedisPool& redis, AccountLockSettings settings, MetricsRegistry& metrics)
    : redis_(redis),
      settings_(settings),
      wait_seconds_(metrics.histogram("ledger_lock_wait_seconds", "Time to take an account lock.")),
      acquired_(metrics.counter("ledger_lock_total", "Account lock attempts by outcome.",
                                "outcome=\"acquired\"")),
      busy_(metrics.counter("ledger_lock_total", "Account lock attempts by outcome.",
                            "outcome=\"busy\"")),
      skipped_(metrics.counter("ledger_lock_total", "Account lock attempts by outcome.",
                               "outcome=\"skipped_redis_down\"")) {}

Result<AccountLocks::Held> AccountLocks::acquire(const std::string& account_id) {
  if (auto held = acquireAny({account_id}); !held.accountIds().empty()) return held;
  busy_.add();
  return makeError(ErrorCode::AccountBusy, "account " + account_id + " is busy; retry the request");
}

AccountLocks::Held AccountLocks::acquireAny(const std::vector<std::string>& account_ids) {
  if (account_ids.empty()) return Held();
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + std::chrono::milliseconds(settings_.wait_ms_max);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int attempt = 0;; ++attempt) {
    auto free_here = local_.takeAny(account_ids, deadline);
    if (free_here.empty()) return Held();  // none came free in this process in time
    if (auto held = takeInRedis(std::move(free_here)); !held.accountIds().empty()) {
      wait_seconds_.observeSeconds(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      return held;
    }
    // Another ledger process holds every one of them: nothing here will signal its release.
    const auto sleep = std::chrono::milliseconds(
        lockBackoffMs(attempt, settings_.backoff_ms_min, settings_.backoff_ms_max,
                      std::min(unit(randomEngine()), 0.999999)));
    if (std::chrono::steady_clock::now() + sleep > deadline) return Held();
    std::this_thread::sleep_for(sleep);
  }
}

AccountLocks::Held AccountLocks::takeInRedis(std::vector<std::string> account_ids) {
  assert(!account_ids.empty());
  // Held from here on, so that whatever happens below, the destructor gives the accounts back
  // in this process; a token goes in only once Redis has taken it.
  Held group;
  group.redis_ = &redis_;
  group.local_ = &local_;
  group.tokens_.assign(account_ids.size(), std::string());
  group.account_ids_ = std::move(account_ids);
  std::vector<std::string> tokens;
  std::vector<std::vector<std::string>> commands;
  for (const auto& account_id : group.account_ids_) {
    tokens.push_back(randomToken());
    commands.push_back(
        {"SET", lockKey(account_id), tokens.back(), "NX", "PX", std::to_string(settings_.ttl_ms)});
  }
  const auto replies = redis_.pipeline(commands);
  std::vector<std::string> kept_ids;
  std::vector<std::string> kept_tokens;
  std::vector<std::string> held_elsewhere;  // by another ledger process
  for (std::size_t i = 0; i < group.account_ids_.size(); ++i) {
    const RedisReply* reply = replies ? &(*replies)[i] : nullptr;
    if (reply == nullptr || reply->kind == RedisReply::Kind::Error) {
      skipped_.add();  // Redis down (or refusing): the version check alone
      tokens[i].clear();
    } else if (reply->kind != RedisReply::Kind::Status) {
      held_elsewhere.push_back(group.account_ids_[i]);
      continue;
    } else {
      acquired_.add();
    }
    kept_ids.push_back(group.account_ids_[i]);
    kept_tokens.push_back(std::move(tokens[i]));
  }
  group.account_ids_.swap(kept_ids);
  group.tokens_.swap(kept_tokens);
  if (!held_elsewhere.empty()) local_.release(held_elsewhere);
  return group;
}

}  // namespace fbg::ledger
