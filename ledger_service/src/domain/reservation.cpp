#include "domain/reservation.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace fbg::ledger {

Money CashBalance::available() const {
  assert(!reserved.isNegative());
  const auto available = balance.minus(reserved);
  assert(available && !available->isNegative());
  return *available;
}

Result<Reservation> planReservation(const PlaceOrderRequest& request, const CashBalance& cash,
                                    const std::optional<PositionBalance>& position) {
  if (request.side == Side::Sell) {
    const int64_t available = position ? position->available() : 0;
    assert(available >= 0);
    if (available < request.quantity) {
      return makeError(ErrorCode::InsufficientPosition,
                       "needs " + std::to_string(request.quantity) + " " + request.symbol + ", " +
                           std::to_string(available) + " available");
    }
    return Reservation{Money(), request.quantity};
  }
  // parsePlaceOrder refuses MARKET BUY and checks the notional, so both hold here.
  assert(request.type == OrderType::Limit && request.limit_price);
  const auto needed = request.limit_price->times(request.quantity);
  assert(needed && needed->isPositive());
  const Money available = cash.available();
  if (available < *needed) {
    return makeError(ErrorCode::InsufficientFunds, "needs " + needed->toString() + " USD, " +
                                                       available.toString() + " available");
  }
  Reservation reservation{*needed, 0};
  assert(!available.minus(reservation.cash)->isNegative());
  return reservation;
}

Status checkWithdrawal(Money amount, const CashBalance& cash) {
  assert(amount.isPositive());
  const Money available = cash.available();
  if (available < amount) {
    return makeError(ErrorCode::InsufficientFunds,
                     "needs " + amount.toString() + " USD, " + available.toString() + " available");
  }
  return Ok{};
}

int64_t lockBackoffMs(int attempt, int64_t backoff_ms_min, int64_t backoff_ms_max,
                      double random_unit) {
  assert(attempt >= 0 && backoff_ms_min >= 0 && backoff_ms_max >= backoff_ms_min);
  assert(random_unit >= 0.0 && random_unit < 1.0);
  const int shift = std::min(attempt, 20);
  const int64_t window = std::min(backoff_ms_max, backoff_ms_min << shift);
  const auto sleep_ms =
      backoff_ms_min + static_cast<int64_t>(std::floor(
                           random_unit * static_cast<double>(window - backoff_ms_min + 1)));
  assert(sleep_ms >= backoff_ms_min && sleep_ms <= backoff_ms_max);
  return sleep_ms;
}

}  // namespace fbg::ledger
