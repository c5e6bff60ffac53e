// Group commit of requests that arrive together: each caller hands its request over and waits;
// a caller that finds fewer than batches_in_flight_max batches running becomes the leader of
// the next one, takes up to batch_size_max queued requests (its own among them or not) and
// runs them as one batch, then hands every request of it its outcome. Nobody waits for a batch
// to fill: a request alone runs alone, and the requests that arrived while batches ran go
// together in the next.
//
// Why: an order's intake is a read and a write of a few rows, and on this machine each
// statement's round trip and each commit cost PostgreSQL more than the rows
// (docs/performance.md). Requests that run together share them.
//
// Requests with the same key (the account) never share a batch: one statement must not guard
// two changes of one row with the same version. A later request of a key already in the batch
// stays queued, in order, for the next.
//
// Bounds: the queue holds at most one request per waiting caller (each caller is a request
// thread, at most http_threads_max); a batch at most batch_size_max.
#pragma once

#include <cassert>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace fbg::ledger {

template <typename Request, typename Outcome>
class GroupCommit {
 public:
  // Runs a batch: one outcome per request, in the batch's order. Must not throw.
  using RunBatch = std::function<std::vector<Outcome>(const std::vector<const Request*>&)>;
  using KeyOf = std::function<std::string(const Request&)>;

  GroupCommit(int batch_size_max, int batches_in_flight_max, KeyOf key_of, RunBatch run_batch)
      : batch_size_max_(static_cast<std::size_t>(batch_size_max)),
        batches_in_flight_max_(batches_in_flight_max),
        key_of_(std::move(key_of)),
        run_batch_(std::move(run_batch)) {
    assert(batch_size_max >= 1);
    assert(batches_in_flight_max >= 1);
  }
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // The request's outcome, once a batch holding it ran (this caller's or another's).
  [[nodiscard]] Outcome submit(const Request& request) {
    Slot slot{&request, key_of_(request), std::nullopt};
    std::unique_lock lock(mutex_);
    queue_.push_back(&slot);
    while (!slot.outcome) {
      if (batches_in_flight_ < batches_in_flight_max_ && !queue_.empty()) {
        lead(lock);
      } else {
        changed_.wait(lock);
      }
    }
    return std::move(*slot.outcome);
  }

  // Requests waiting for a batch to take them.
  [[nodiscard]] std::size_t waitingCount() {
    std::lock_guard lock(mutex_);
    return queue_.size();
  }

 private:
  struct Slot {
    const Request* request;
    std::string key;
    std::optional<Outcome> outcome;
  };

  // Called with the lock held; returns with it held.
  void lead(std::unique_lock<std::mutex>& lock) {
    std::vector<Slot*> batch = takeBatch();
    assert(!batch.empty());
    ++batches_in_flight_;
    lock.unlock();
    std::vector<const Request*> requests;
    requests.reserve(batch.size());
    for (const Slot* slot : batch) requests.push_back(slot->request);
    std::vector<Outcome> outcomes = run_batch_(requests);
    assert(outcomes.size() == batch.size());
    lock.lock();
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i]->outcome = std::move(outcomes[i]);
    --batches_in_flight_;
    changed_.notify_all();
  }

  // The oldest queued requests, at most batch_size_max, one per key; the queue's front is
  // always taken, so every request is taken in time.
  std::vector<Slot*> takeBatch() {
    std::vector<Slot*> batch;
    std::unordered_set<std::string> keys;
    for (auto at = queue_.begin(); at != queue_.end() && batch.size() < batch_size_max_;) {
      if (keys.insert((*at)->key).second) {
        batch.push_back(*at);
        at = queue_.erase(at);
      } else {
        ++at;
      }
    }
    return batch;
  }

  const std::size_t batch_size_max_;
  const int batches_in_flight_max_;
  const KeyOf key_of_;
  const RunBatch run_batch_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Slot*> queue_;
  int batches_in_flight_ = 0;
};

}  // namespace fbg::ledger
