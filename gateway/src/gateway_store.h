// The gateway's PostgreSQL database (migrations/001_broker_orders.sql): orders recorded before
// they are sent, each send decided and written before it goes on the wire, each broker reply
// applied with the events it means, in one transaction each.
//
// The decisions are the pure domain's (domain/broker_order.h, domain/retry_policy.h); this file
// reads the rows they need, locks them (FOR UPDATE; SKIP LOCKED where work is claimed) and writes
// the outcome back.
#pragma once

#include <atomic>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <string>
#include <vector>

#include "common/pg_pool.h"
#include "domain/broker_order.h"
#include "domain/broker_progress.h"
#include "domain/retry_policy.h"
#include "domain/sender_wait.h"
#include "fix_orders.h"

namespace fbg::gateway {

// A message the sender puts on the wire after the claim that decided it was committed.
struct SendItem {
  enum class Kind { New, Resend, Status, Cancel, CancelResend };
  Kind kind = Kind::New;
  OrderRecord order;
  int cancel_request = 0;
  int64_t received_at_ms = 0;  // wall clock, when the order was recorded
};

struct IntakeCounts {
  int recorded = 0;    // new orders written
  int duplicates = 0;  // redelivered entries that found their row
  int cancels = 0;     // cancel requests taken (may write order_events)
  int refused = 0;     // entries that could not be understood (may write order_events)
};

struct RetryCounts {
  int status_requests = 0;
  int resends = 0;
  int unconfirmed = 0;
  int events = 0;  // order_events rows written (UNCONFIRMED, CANCEL_REJECTED)
};

struct ReplyCounts {
  int applied = 0;
  int unknown = 0;      // no order for the ClOrdID
  int resends_due = 0;  // status answers saying the broker does not hold the order
  int events = 0;       // order_events rows written for the relay
  // The newest send_seq the batch's replies show the broker took (broker_progress.h): the
  // last_sent_seq of each answered order sent only once, as read; 0 when there is none.
  int64_t answered_send_seq = 0;
};

struct StoreSettings {
  std::string broker;
  RetryPolicy retry;
  bool broker_answers_status_requests = true;
  // A due retry the gate holds back (broker_progress.h) is claimed after this long anyway.
  int64_t retry_hold_ms_max = 30000;
};

class GatewayStore {
 public:
  // reply_pool: connections for applyReplies alone, with the synchronous_commit that
  // reply_synchronous_commit asks for set when they connect (withoutSynchronousCommit), so a
  // batch costs no SET round trip. Off is safe: a reply lost in a database crash leaves the
  // order SENT, and the retry path asks the broker again (FLOW.md section 2).
  GatewayStore(PgPool& pool, PgPool& reply_pool, StoreSettings settings);

  [[nodiscard]] Status recordEntries(const std::vector<StreamEntry>& entries, IntakeCounts& counts);
  // The sender's round, claimed and committed, returned in sending order, at most `limit` of
  // each kind: orders never sent, oldest first, marked SENT (attempt 1), as many as keep the
  // orders in flight (SENT) at most in_flight_max; then orders whose reply is overdue (the next
  // attempt, or UNCONFIRMED after the last); then cancel requests to send or to retry
  // (CANCEL_REJECTED after the last attempt). New orders are claimed by one statement, which
  // also says whether anything else is due; only then does a transaction claim the rest.
  // A retry is due only if `gate` lets it through (broker_progress.h). Each message claimed
  // gets the next send_seq, in sending order. `outlook`: what the claim saw, for the sender's
  // wait (domain/sender_wait.h); left as it was when the claim failed.
  [[nodiscard]] Result<std::vector<SendItem>> claimRound(int limit, int in_flight_max,
                                                         const RetryGate& gate, RetryCounts& counts,
                                                         SenderOutlook& outlook);
  // Broker replies in arrival order, written by one all-or-nothing statement.
  [[nodiscard]] Result<ReplyCounts> applyReplies(const std::vector<InboundReply>& replies);
  // At start: every order in flight is rechecked at once rather than at its old deadline.
  [[nodiscard]] Result<int64_t> recheckInFlight();
  // The broker refused status requests (BusinessMessageReject): later retries resend instead.
  void stopAskingStatus() { answers_status_requests_ = false; }

  [[nodiscard]] Result<std::optional<std::string>> brokerOrderJson(const std::string& order_id);
  [[nodiscard]] Result<int64_t> unpublishedEventCount();
  [[nodiscard]] Status ping();

 private:
  [[nodiscard]] std::optional<nlohmann::json> newOrdersOnly(
      const std::vector<StreamEntry>& entries) const;
  void insertNewOrders(pqxx::transaction_base& tx, const nlohmann::json& new_orders,
                       IntakeCounts& counts);
  // What claim_new found due besides new orders.
  struct Due {
    bool retries = false;
    bool cancels = false;
    bool received_waiting = false;
    std::optional<int64_t> next_deadline_in_ms;
  };

  double unitRandom();
  // Reserves `count` send_seqs, base + 1 .. base + count, and returns base: past the last one
  // handed out and not behind the wall clock in microseconds, so send_seqs keep rising across
  // restarts of the process. A reserved one left unused is a harmless gap.
  int64_t reserveSendSeqs(int64_t count);
  std::vector<SendItem> claimNewOrders(pqxx::nontransaction& work, int limit, int in_flight_max,
                                       const RetryGate& gate, Due& due);
  // The due retries and cancels, in one transaction; an exception becomes an error, since the
  // new orders claimed before it must still be sent.
  [[nodiscard]] Result<std::vector<SendItem>> claimDue(int limit, Due due, const RetryGate& gate,
                                                       RetryCounts& counts);
  void claimDueRetries(pqxx::work& work, int limit, const RetryGate& gate, RetryCounts& counts,
                       std::vector<SendItem>& items);
  void claimDueCancels(pqxx::work& work, int limit, RetryCounts& counts,
                       std::vector<SendItem>& items);
  // One attempt of applyReplies: nullopt when a row changed since it was read (rolled back).
  [[nodiscard]] Result<std::optional<ReplyCounts>> applyRepliesOnce(
      pqxx::connection& connection, const std::vector<InboundReply>& replies);

  PgPool& pool_;
  PgPool& reply_pool_;
  StoreSettings settings_;
  std::atomic<bool> answers_status_requests_;       // set false from the FIX thread
  std::mt19937_64 random_{std::random_device{}()};  // claims only: the sender thread
  int64_t last_send_seq_ = 0;                       // claims only: the sender thread
};

}  // namespace fbg::gateway
