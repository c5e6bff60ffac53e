#include "outbox_relay.h"

#include "common/pg_pool.h"
#include "common/time_text.h"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <chrono>
#include <vector>

namespace fbg::ledger {
namespace {

constexpr int64_t kRelayLockKey = 0x6662675f6f7574;  // "fbg_out"

// An XRANGE entry is [id, [field, value, ...]]: ours if kind and order_id match.
bool holdsOrder(const RedisReply& entry, const std::string& kind, const std::string& order_id) {
  if (entry.elements.size() != 2) return false;
  const auto& fields = entry.elements[1].elements;
  bool kind_matches = false;
  bool order_matches = false;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].text == "kind") kind_matches = fields[i + 1].text == kind;
    if (fields[i].text == "order_id") order_matches = fields[i + 1].text == order_id;
  }
  return kind_matches && order_matches;
}

}  // namespace

OutboxRelay::OutboxRelay(OutboxRelaySettings settings, RedisPool& redis, MetricsRegistry& metrics)
    : settings_(std::move(settings)),
      redis_(redis),
      relayed_(metrics.counter("ledger_outbox_relayed_total", "Outbox rows delivered to streams.")),
      already_present_(metrics.counter("ledger_outbox_already_in_stream_total",
                                       "Outbox rows found already in the stream (re-send after a "
                                       "crash), marked sent without a second entry.")),
      stream_ahead_(metrics.counter("ledger_outbox_stream_ahead_total",
                                    "ALARM: a stream's last id is past an unsent outbox row that "
                                    "it does not hold; the row waits for an operator.")),
      backlog_(metrics.gauge("ledger_outbox_backlog", "Outbox rows not yet delivered.")) {}

OutboxRelay::~OutboxRelay() {
  stop();
}

void OutboxRelay::start() {
  thread_ = std::thread([this] { run(); });
}

void OutboxRelay::stop() {
  stopping_ = true;
  wake();
  if (thread_.joinable()) thread_.join();
  markDelivered();
}

void OutboxRelay::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_one();
}

void OutboxRelay::run() {
  while (!stopping_) {
    int relayed = 0;
    try {
      if (ensureConnection()) relayed = relayBatch();
    } catch (const std::exception& failure) {
      spdlog::warn("outbox relay: {}", failure.what());
      connection_.reset();  // reconnect (and re-take the relay lock) next round
    }
    if (relayed >= settings_.batch_size_max) continue;  // more may be waiting
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, std::chrono::milliseconds(settings_.poll_interval_ms),
                   [this] { return woken_ || stopping_.load(); });
    woken_ = false;
  }
}

bool OutboxRelay::ensureConnection() {
  if (connection_ && connection_->is_open()) return true;
  connection_.reset();
  auto connection = std::make_unique<pqxx::connection>(settings_.postgres_uri);
  pqxx::nontransaction work(*connection);
  const bool leader =
      work.exec1("SELECT pg_try_advisory_lock(" + std::to_string(kRelayLockKey) + ")")[0]
          .as<bool>();
  if (!leader) return false;  // another relay is working on this database
  // The unsent rows in relay_seq order, at most $1: those numbered in an earlier round (their
  // delivery failed) and those this statement numbers now. Newly committed rows are numbered
  // after every number given so far, in id order. The same statement marks sent the rows the
  // previous round delivered ($2 their relay_seq, $3 when, in microseconds since the epoch), so
  // a round is one round trip. One statement for all three, because it runs on every wake-up:
  // the CTE's snapshot does not show its own UPDATEs, so the first branch sees only rows
  // numbered before (and skips the ones being marked by their relay_seq), the second only rows
  // numbered here.
  //
  //   outbox row:  id (commit order unknown) | relay_seq (stream id <relay_seq>-0) | sent_at
  connection->prepare(
      "outbox_claim",
      "WITH marked AS (UPDATE outbox o SET sent_at = timestamptz 'epoch' + m.us * "
      "interval '1 microsecond' FROM unnest($2::bigint[], $3::bigint[]) AS m(relay_seq, us) "
      "WHERE o.relay_seq = m.relay_seq AND o.sent_at IS NULL), "
      "fresh AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM outbox "
      "WHERE sent_at IS NULL AND relay_seq IS NULL ORDER BY id LIMIT $1), "
      "base AS (SELECT coalesce(max(relay_seq), 0) AS b FROM outbox), "
      "numbered AS (UPDATE outbox o SET relay_seq = base.b + fresh.n FROM fresh, base "
      "WHERE o.id = fresh.id RETURNING o.relay_seq, o.broker, o.kind, o.order_id, o.payload) "
      "(SELECT relay_seq, broker, kind, order_id, payload FROM outbox "
      "WHERE sent_at IS NULL AND relay_seq IS NOT NULL AND relay_seq <> ALL($2::bigint[]) "
      "UNION ALL SELECT * FROM numbered) ORDER BY relay_seq LIMIT $1");
  connection->prepare("outbox_mark_sent",
                      "UPDATE outbox SET sent_at = timestamptz 'epoch' + m.us * "
                      "interval '1 microsecond' FROM unnest($1::bigint[], $2::bigint[]) AS "
                      "m(relay_seq, us) WHERE outbox.relay_seq = m.relay_seq "
                      "AND outbox.sent_at IS NULL");
  connection->prepare("outbox_backlog", "SELECT count(*) FROM outbox WHERE sent_at IS NULL");
  connection_ = std::move(connection);
  return true;
}

int OutboxRelay::relayBatch() {
  pqxx::nontransaction work(*connection_);
  const auto rows = work.exec_prepared("outbox_claim", settings_.batch_size_max,
                                       pgArrayLiteral(unmarked_.relay_seqs),
                                       pgArrayLiteral(unmarked_.sent_at_us));
  unmarked_ = {};
  int sent = 0;
  std::vector<std::string> blocked_brokers;  // a failed row holds back its broker's later rows
  for (const auto& row : rows) {
    const std::string broker = row[1].as<std::string>();
    if (std::find(blocked_brokers.begin(), blocked_brokers.end(), broker) !=
        blocked_brokers.end()) {
      continue;
    }
    if (!deliver("orders:" + broker, row[0].as<std::string>() + "-0", row[2].as<std::string>(),
                 row[3].as<std::string>(), row[4].as<std::string>())) {
      blocked_brokers.push_back(broker);
      continue;
    }
    unmarked_.relay_seqs.push_back(row[0].as<std::string>());
    unmarked_.sent_at_us.push_back(std::to_string(wallClockUs()));
    ++sent;
  }
  relayed_.add(sent);
  // Exact unless the batch was full; only then is the count worth its scan.
  const bool full = static_cast<int>(rows.size()) >= settings_.batch_size_max;
  backlog_.set(full ? work.exec_prepared("outbox_backlog")[0][0].as<int64_t>()
                    : static_cast<int64_t>(rows.size()) - sent);
  return sent;
}

// Best effort, at stop: left unmarked, the rows are delivered again at the next start, and the
// stream refuses them by id (deliver).
void OutboxRelay::markDelivered() {
  if (unmarked_.relay_seqs.empty() || !connection_ || !connection_->is_open()) return;
  try {
    pqxx::nontransaction work(*connection_);
    work.exec_prepared("outbox_mark_sent", pgArrayLiteral(unmarked_.relay_seqs),
                       pgArrayLiteral(unmarked_.sent_at_us));
    unmarked_ = {};
  } catch (const std::exception& failure) {
    spdlog::warn("outbox relay: {} delivered rows left unmarked: {}", unmarked_.relay_seqs.size(),
                 failure.what());
  }
}

bool OutboxRelay::deliver(const std::string& stream, const std::string& id, const std::string& kind,
                          const std::string& order_id, const std::string& payload) {
  auto added =
      redis_.command({"XADD", stream, "MAXLEN", "~", std::to_string(settings_.stream_length_max),
                      id, "kind", kind, "order_id", order_id, "payload", payload});
  if (!added) return false;  // Redis down: retry later
  if (added->kind != RedisReply::Kind::Error) return true;
  // Refused for another reason than its id (LOADING while a restarted Redis replays its file,
  // OOM): not an alarm, the row is offered again next round. Rows are sent one by one, each
  // answered before the next, so no later row of the broker can have gone in meanwhile.
  if (added->text.find("equal or smaller than the target stream top item") == std::string::npos) {
    spdlog::warn("outbox relay: {} refused {}: {}", stream, id, added->text);
    return false;
  }
  // Refused id: delivered before a crash kept us from marking it, or the stream is ahead of us.
  auto present = redis_.command({"XRANGE", stream, id, id});
  if (present && present->kind == RedisReply::Kind::Array && present->elements.size() == 1 &&
      holdsOrder(present->elements[0], kind, order_id)) {
    already_present_.add();
    return true;
  }
  stream_ahead_.add();
  const auto now = std::chrono::steady_clock::now();
  if (now - last_alarm_logged_ > std::chrono::seconds(60)) {  // the metric counts every time
    last_alarm_logged_ = now;
    spdlog::error(
        "stream {} refused {} ({}) and does not hold it: rows for it wait for an "
        "operator (was the stream kept while the ledger database was recreated?)",
        stream, id, added->text);
  }
  return false;
}

}  // namespace fbg::ledger
