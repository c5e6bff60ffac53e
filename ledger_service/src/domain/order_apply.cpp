#include "domain/order_apply.h"

#include <cassert>

namespace fbg::ledger {
namespace {

Money sum(Money a, Money b) {
  const auto out = a.plus(b);
  assert(out);  // ledger amounts are bounded far below int64 (order_notional_max)
  return *out;
}

Money diff(Money a, Money b) {
  return sum(a, b.negated());
}

Money product(Money price, int64_t quantity) {
  const auto out = price.times(quantity);
  assert(out);
  return *out;
}

Money shares(int64_t quantity) {
  return Money::fromWhole(quantity);
}

// The cost of `sold` of `held` shares, rounded down to a unit; the last share takes the rest.
Money costOf(Money cost_basis, int64_t sold, int64_t held) {
  assert(sold > 0 && sold <= held);
  if (sold == held) return cost_basis;
  const __int128 units = static_cast<__int128>(cost_basis.units()) * sold / held;
  return Money::fromUnits(static_cast<int64_t>(units));
}

// Releases what the order still holds beyond what `outstanding` fills will need.
void release(Applied& out, int64_t outstanding) {
  OrderState& o = out.order;
  if (o.side == Side::Buy) {
    const Money keep = product(*o.limit_price, outstanding);
    if (o.reserved_amount <= keep) return;
    const Money freed = diff(o.reserved_amount, keep);
    o.reserved_amount = keep;
    out.cash.reserved = diff(out.cash.reserved, freed);
    out.journal = {{"cash.reserved", "USD", freed.negated()}, {"cash.available", "USD", freed}};
  } else {
    if (o.reserved_quantity <= outstanding) return;
    const int64_t freed = o.reserved_quantity - outstanding;
    o.reserved_quantity = outstanding;
    out.position.quantity_reserved -= freed;
    out.journal = {{"securities.reserved", o.symbol, shares(freed).negated()},
                   {"securities.available", o.symbol, shares(freed)}};
  }
  out.journal_kind = "RELEASE";
  out.changed = true;
}

void end(Applied& out, OrderStatus status, int64_t final_cum_qty) {
  if (isTerminal(out.order.status) || !canTransition(out.order.status, status)) return;
  out.order.status = status;
  out.changed = true;
  const int64_t outstanding =
      final_cum_qty < 0 ? 0 : std::max<int64_t>(0, final_cum_qty - out.order.filled_quantity);
  release(out, outstanding);
}

void bookBuy(Applied& out, int64_t q, Money p) {
  OrderState& o = out.order;
  const Money held = product(*o.limit_price, q);
  const Money from_reserve = std::min(held, o.reserved_amount);
  const Money cost = product(p, q);
  o.reserved_amount = diff(o.reserved_amount, from_reserve);
  out.cash.reserved = diff(out.cash.reserved, from_reserve);
  out.cash.balance = diff(out.cash.balance, cost);
  out.position.quantity += q;
  out.position.cost_basis = sum(out.position.cost_basis, cost);
  out.journal = {{"cash.reserved", "USD", from_reserve.negated()},
                 {"cash.available", "USD", diff(from_reserve, cost)},
                 {"external", "USD", cost},
                 {"securities.available", o.symbol, shares(q)},
                 {"external", o.symbol, shares(q).negated()}};
}

void bookSell(Applied& out, int64_t q, Money p) {
  OrderState& o = out.order;
  const Money proceeds = product(p, q);
  out.position.cost_basis =
      diff(out.position.cost_basis, costOf(out.position.cost_basis, q, out.position.quantity));
  out.position.quantity -= q;
  out.position.quantity_reserved -= q;
  o.reserved_quantity -= q;
  out.cash.balance = sum(out.cash.balance, proceeds);
  out.journal = {{"securities.reserved", o.symbol, shares(q).negated()},
                 {"external", o.symbol, shares(q)},
                 {"cash.available", "USD", proceeds},
                 {"external", "USD", proceeds.negated()}};
}

// A fill the rows cannot carry: past the quantity, or more than the order still holds (a
// late fill after a release that did not know of it) and the account cannot pay.
bool refuseFill(Applied& out, int64_t q, Money p) {
  const OrderState& o = out.order;
  if (o.filled_quantity + q > o.quantity) return out.overfill = true;
  if (o.side == Side::Sell) {
    return out.uncovered = o.reserved_quantity < q;
  }
  const Money held = product(*o.limit_price, q);
  const Money from_reserve = std::min(held, o.reserved_amount);
  const Money available = diff(out.cash.balance, out.cash.reserved);
  return out.uncovered = diff(product(p, q), from_reserve) > available;
}

void fill(Applied& out, int64_t q, Money p) {
  assert(q > 0 && p.isPositive());
  if (refuseFill(out, q, p)) return;
  OrderState& o = out.order;
  if (o.side == Side::Buy)
    bookBuy(out, q, p);
  else
    bookSell(out, q, p);
  o.filled_quantity += q;
  o.fill_notional = sum(o.fill_notional, product(p, q));
  out.journal_kind = "FILL";
  out.changed = true;
  if (o.filled_quantity == o.quantity) {
    // The broker's fills cover the whole order: it was filled, whatever ending came first (a
    // cancel confirmed or refused before a resent NewOrderSingle reached the broker). This also
    // makes the final status the same in any arrival order.
    o.status = OrderStatus::Filled;
    return;
  }
  if (o.status == OrderStatus::PendingNew || o.status == OrderStatus::New ||
      o.status == OrderStatus::Unconfirmed) {
    o.status = OrderStatus::PartiallyFilled;
  }
}

void move(Applied& out, OrderStatus from_required, OrderStatus to) {
  if (out.order.status != from_required) return;
  out.order.status = to;
  out.changed = true;
}

}  // namespace

Applied applyBrokerEvent(const OrderState& order, const CashState& cash,
                         const PositionState& position, const BrokerEvent& event) {
  assert(order.quantity > 0 && order.filled_quantity <= order.quantity);
  assert(order.side == Side::Sell || order.limit_price);
  Applied out{order, cash, position, {}, "", false, false, false};
  switch (event.kind) {
    case BrokerEventKind::Acked:
      move(out, OrderStatus::PendingNew, OrderStatus::New);
      move(out, OrderStatus::Unconfirmed, OrderStatus::New);
      break;
    case BrokerEventKind::Fill:
      fill(out, event.last_qty, event.last_px);
      break;
    case BrokerEventKind::Canceled:
      end(out, OrderStatus::Canceled, event.final_cum_qty);
      break;
    case BrokerEventKind::Expired:
      end(out, OrderStatus::Expired, event.final_cum_qty);
      break;
    case BrokerEventKind::Rejected:
      end(out, OrderStatus::Rejected, 0);
      break;
    case BrokerEventKind::CancelRejected:
      move(out, OrderStatus::PendingCancel,
           order.filled_quantity > 0 ? OrderStatus::PartiallyFilled : OrderStatus::New);
      break;
    case BrokerEventKind::Unconfirmed:
      move(out, OrderStatus::PendingNew, OrderStatus::Unconfirmed);
      break;
  }
  assert(out.order.filled_quantity >= order.filled_quantity);
  assert(!out.order.reserved_amount.isNegative() && out.order.reserved_quantity >= 0);
  assert(!out.cash.reserved.isNegative());
  return out;
}

}  // namespace fbg::ledger
