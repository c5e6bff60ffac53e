// The gateway's view of one order at its broker, and how each broker reply moves it (FLOW.md
// section 2). Pure: no FIX, no database. The adapters turn FIX messages into the facts below and
// write back the outcome and its events in one transaction.
//
// State ranks (forward only; a reply that ranks lower than the current state changes nothing
// but the quantities):
//   RECEIVED (0)  recorded from the stream, never sent
//   SENT (1)      sent, no reply yet; retried on timeout
//   UNCONFIRMED (2) retries exhausted; a late reply still moves it on
//   ACKED (3)  PARTIALLY_FILLED (4)  known to the broker
//   FILLED, CANCELED, EXPIRED, REJECTED (5) terminal
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fbg::gateway {

enum class BrokerOrderState {
  Received,
  Sent,
  Unconfirmed,
  Acked,
  PartiallyFilled,
  Filled,
  Canceled,
  Expired,
  Rejected,
};

// The cancel request the gateway is working on, if any.
enum class CancelState { None, Pending, Sent, Done, Rejected };

// order-events kinds (FLOW.md section 2).
enum class EventKind { Acked, Rejected, Canceled, CancelRejected, Expired, Unconfirmed };

[[nodiscard]] std::string_view toText(BrokerOrderState state);
[[nodiscard]] std::string_view toText(CancelState state);
[[nodiscard]] std::string_view toText(EventKind kind);
[[nodiscard]] std::optional<BrokerOrderState> parseBrokerOrderState(std::string_view text);
[[nodiscard]] std::optional<CancelState> parseCancelState(std::string_view text);
[[nodiscard]] bool isTerminal(BrokerOrderState state);
// True once the broker has shown that it holds the order.
[[nodiscard]] bool isKnownToBroker(BrokerOrderState state);

struct OrderSnapshot {
  BrokerOrderState state = BrokerOrderState::Received;
  int64_t quantity = 0;
  int64_t cum_qty = 0;
  int cancel_request = 0;  // the newest cancel request taken (1, 2, ...); 0: none
  CancelState cancel_state = CancelState::None;
};

// The customer asked to cancel and the cancel is not settled yet.
[[nodiscard]] bool isCancelInProgress(const OrderSnapshot& order);

// What an ExecutionReport (35=8) says, in the gateway's terms.
struct ReportFacts {
  char exec_type = 0;       // 150
  char ord_status = 0;      // 39
  int64_t cum_qty = 0;      // 14
  int ord_rej_reason = -1;  // 103; -1 when absent
  int cancel_request = 0;   // n of ClOrdID {order_id}-C{n}; 0 for the order's own ClOrdID
  std::string text;         // 58
};

// What an OrderCancelReject (35=9) says.
struct CancelRejectFacts {
  char ord_status = 0;     // 39: where the order stands at the broker
  int cancel_request = 0;  // n of ClOrdID {order_id}-C{n}
  std::string text;        // 58
};

struct Event {
  EventKind kind;
  int cancel_request = 0;  // CANCELED / CANCEL_REJECTED: which request; else 0
  std::string reason;      // REJECTED / CANCEL_REJECTED / UNCONFIRMED
};

struct Outcome {
  OrderSnapshot order;
  std::vector<Event> events;
  // A status answer says the broker does not hold the order: send it again now.
  bool resend_now = false;
};

// FIX 4.4 OrdRejReason "Unknown order": the status answer for a ClOrdID the broker never took.
inline constexpr int kOrdRejReasonUnknownOrder = 5;

[[nodiscard]] Outcome applyReport(const OrderSnapshot& order, const ReportFacts& report);
[[nodiscard]] Outcome applyCancelReject(const OrderSnapshot& order,
                                        const CancelRejectFacts& reject);
// A cancel request from the ledger (stream kind CANCEL). An order never sent is canceled here,
// without the broker; a terminal one gets CANCEL_REJECTED; an older or repeated request changes
// nothing.
[[nodiscard]] Outcome applyCancelRequest(const OrderSnapshot& order, int cancel_request);
// Retries exhausted without any reply.
[[nodiscard]] Outcome giveUp(const OrderSnapshot& order);
// The cancel's retries exhausted without any reply.
[[nodiscard]] Outcome giveUpCancel(const OrderSnapshot& order);

}  // namespace fbg::gateway
