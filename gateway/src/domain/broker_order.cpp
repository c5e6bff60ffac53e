#include "domain/broker_order.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <utility>

namespace fbg::gateway {
namespace {

constexpr std::array<std::pair<BrokerOrderState, std::string_view>, 9> kStateNames{{
    {BrokerOrderState::Received, "RECEIVED"},
    {BrokerOrderState::Sent, "SENT"},
    {BrokerOrderState::Unconfirmed, "UNCONFIRMED"},
    {BrokerOrderState::Acked, "ACKED"},
    {BrokerOrderState::PartiallyFilled, "PARTIALLY_FILLED"},
    {BrokerOrderState::Filled, "FILLED"},
    {BrokerOrderState::Canceled, "CANCELED"},
    {BrokerOrderState::Expired, "EXPIRED"},
    {BrokerOrderState::Rejected, "REJECTED"},
}};

constexpr std::array<std::pair<CancelState, std::string_view>, 5> kCancelNames{{
    {CancelState::None, "NONE"},
    {CancelState::Pending, "PENDING"},
    {CancelState::Sent, "SENT"},
    {CancelState::Done, "DONE"},
    {CancelState::Rejected, "REJECTED"},
}};

int rank(BrokerOrderState state) {
  switch (state) {
    case BrokerOrderState::Received:
      return 0;
    case BrokerOrderState::Sent:
      return 1;
    case BrokerOrderState::Unconfirmed:
      return 2;
    case BrokerOrderState::Acked:
      return 3;
    case BrokerOrderState::PartiallyFilled:
      return 4;
    default:
      return 5;
  }
}

// OrdStatus(39) -> state; nullopt: the status says the broker does not hold it (rejected).
BrokerOrderState stateOf(char ord_status) {
  switch (ord_status) {
    case '1':
      return BrokerOrderState::PartiallyFilled;
    case '2':
      return BrokerOrderState::Filled;
    case '4':
      return BrokerOrderState::Canceled;
    case 'C':
      return BrokerOrderState::Expired;
    case '8':
      return BrokerOrderState::Rejected;
    default:
      return BrokerOrderState::Acked;  // 0 New, 6 PendingCancel, A PendingNew, ...
  }
}

// Moves the order to `next` if that is forward, with the events the move means.
void moveTo(Outcome& out, BrokerOrderState next, const std::string& reason, int cancel_request) {
  const BrokerOrderState before = out.order.state;
  if (isTerminal(before) || rank(next) <= rank(before)) return;
  out.order.state = next;
  if (next == BrokerOrderState::Rejected) {
    out.events.push_back({EventKind::Rejected, 0, reason.empty() ? "rejected by broker" : reason});
    return;
  }
  if (!isKnownToBroker(before)) out.events.push_back({EventKind::Acked, 0, ""});
  if (next == BrokerOrderState::Canceled) {
    out.events.push_back({EventKind::Canceled, cancel_request, ""});
  }
  if (next == BrokerOrderState::Expired) out.events.push_back({EventKind::Expired, 0, ""});
}

void finishCancel(Outcome& out) {
  if (out.order.cancel_state == CancelState::Pending ||
      out.order.cancel_state == CancelState::Sent) {
    out.order.cancel_state = CancelState::Done;
  }
}

}  // namespace

std::string_view toText(BrokerOrderState state) {
  for (const auto& [value, name] : kStateNames) {
    if (value == state) return name;
  }
  return "UNKNOWN";
}

std::string_view toText(CancelState state) {
  for (const auto& [value, name] : kCancelNames) {
    if (value == state) return name;
  }
  return "UNKNOWN";
}

std::string_view toText(EventKind kind) {
  switch (kind) {
    case EventKind::Acked:
      return "ACKED";
    case EventKind::Rejected:
      return "REJECTED";
    case EventKind::Canceled:
      return "CANCELED";
    case EventKind::CancelRejected:
      return "CANCEL_REJECTED";
    case EventKind::Expired:
      return "EXPIRED";
    case EventKind::Unconfirmed:
      return "UNCONFIRMED";
  }
  return "UNKNOWN";
}

std::optional<BrokerOrderState> parseBrokerOrderState(std::string_view text) {
  for (const auto& [value, name] : kStateNames) {
    if (name == text) return value;
  }
  return std::nullopt;
}

std::optional<CancelState> parseCancelState(std::string_view text) {
  for (const auto& [value, name] : kCancelNames) {
    if (name == text) return value;
  }
  return std::nullopt;
}

bool isTerminal(BrokerOrderState state) {
  return rank(state) == 5;
}

bool isCancelInProgress(const OrderSnapshot& order) {
  return order.cancel_state == CancelState::Pending || order.cancel_state == CancelState::Sent;
}

bool isKnownToBroker(BrokerOrderState state) {
  return rank(state) >= 3 && state != BrokerOrderState::Rejected;
}

Outcome applyReport(const OrderSnapshot& order, const ReportFacts& report) {
  assert(order.quantity > 0);
  Outcome out{order, {}, false};
  const bool status_answer = report.exec_type == 'I';
  const bool unknown = status_answer && report.ord_status == '8' &&
                       report.ord_rej_reason == kOrdRejReasonUnknownOrder;
  if (unknown) {
    // The broker never took it: send it again unless it is known or finished by now, or the
    // customer wants it canceled (the cancel's answer settles it: onTimeout).
    out.resend_now =
        rank(order.state) <= rank(BrokerOrderState::Unconfirmed) && !isCancelInProgress(order);
    return out;
  }
  // CumQty only grows and never past the order (an overfill is the ledger's alarm, not ours).
  out.order.cum_qty = std::clamp(report.cum_qty, order.cum_qty, order.quantity);
  moveTo(out, stateOf(report.ord_status), report.text, report.cancel_request);
  if (report.exec_type == '4' && report.cancel_request > 0) finishCancel(out);
  if (out.order.state == BrokerOrderState::Canceled) finishCancel(out);
  assert(rank(out.order.state) >= rank(order.state));
  assert(out.order.cum_qty >= order.cum_qty && out.order.cum_qty <= order.quantity);
  return out;
}

Outcome applyCancelReject(const OrderSnapshot& order, const CancelRejectFacts& reject) {
  Outcome out{order, {}, false};
  if (reject.ord_status == '4') {  // canceled after all (an earlier request, or by the broker)
    moveTo(out, BrokerOrderState::Canceled, "", reject.cancel_request);
    finishCancel(out);
    return out;
  }
  if (reject.ord_status == '8' &&
      (order.state == BrokerOrderState::Sent || order.state == BrokerOrderState::Unconfirmed)) {
    // The broker holds no order for it, and it read every NewOrderSingle of it before this
    // cancel: one session, in sequence order, and once a cancel is in progress the retry path
    // only asks status (onTimeout), never sends the order again. So it never took it and never
    // will. Left open here, the customer's money would stay reserved for an order that cannot
    // fill; canceled is what the customer asked for.
    out.order.state = BrokerOrderState::Canceled;
    finishCancel(out);
    out.events.push_back({EventKind::Canceled, reject.cancel_request,
                          "the broker holds no such order" +
                              (reject.text.empty() ? std::string() : ": " + reject.text)});
    return out;
  }
  if (reject.ord_status != '8') moveTo(out, stateOf(reject.ord_status), "", 0);
  if (reject.cancel_request == order.cancel_request &&
      (order.cancel_state == CancelState::Pending || order.cancel_state == CancelState::Sent)) {
    out.order.cancel_state = CancelState::Rejected;
    out.events.push_back({EventKind::CancelRejected, reject.cancel_request,
                          reject.text.empty() ? "cancel rejected by broker" : reject.text});
  }
  return out;
}

Outcome applyCancelRequest(const OrderSnapshot& order, int cancel_request) {
  assert(cancel_request > 0);
  Outcome out{order, {}, false};
  if (cancel_request <= order.cancel_request) return out;  // redelivered or older
  out.order.cancel_request = cancel_request;
  if (order.state == BrokerOrderState::Received) {
    out.order.state = BrokerOrderState::Canceled;
    out.order.cancel_state = CancelState::Done;
    out.events.push_back({EventKind::Canceled, cancel_request, "canceled before it was sent"});
    return out;
  }
  if (isTerminal(order.state)) {
    out.order.cancel_state = CancelState::Rejected;
    out.events.push_back({EventKind::CancelRejected, cancel_request,
                          "order is " + std::string(toText(order.state))});
    return out;
  }
  out.order.cancel_state = CancelState::Pending;
  return out;
}

Outcome giveUp(const OrderSnapshot& order) {
  Outcome out{order, {}, false};
  if (order.state != BrokerOrderState::Sent) return out;
  out.order.state = BrokerOrderState::Unconfirmed;
  out.events.push_back({EventKind::Unconfirmed, 0, "no reply from the broker after retries"});
  return out;
}

Outcome giveUpCancel(const OrderSnapshot& order) {
  Outcome out{order, {}, false};
  if (order.cancel_state != CancelState::Sent && order.cancel_state != CancelState::Pending) {
    return out;
  }
  out.order.cancel_state = CancelState::Rejected;
  out.events.push_back({EventKind::CancelRejected, order.cancel_request,
                        "no reply from the broker to the cancel after retries"});
  return out;
}

}  // namespace fbg::gateway
