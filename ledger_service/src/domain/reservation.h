// Buying power and reservations (FLOW.md section 1, step 3). Pure: balances as read from the
// database in, the amounts to move out. Balances read from our own rows are trusted (asserted);
// requests are not (errors).
#pragma once

#include <cstdint>
#include <optional>

#include "common/money.h"
#include "domain/order_request.h"

namespace fbg::ledger {

struct CashBalance {
  Money balance;
  Money reserved;
  [[nodiscard]] Money available() const;
};

struct PositionBalance {
  int64_t quantity = 0;
  int64_t quantity_reserved = 0;
  [[nodiscard]] int64_t available() const { return quantity - quantity_reserved; }
};

// What an accepted order takes out of "available": cash for a BUY LIMIT (quantity x limit
// price), shares for a SELL. Exactly one of the two is non-zero.
struct Reservation {
  Money cash;
  int64_t shares = 0;
};

// INSUFFICIENT_FUNDS / INSUFFICIENT_POSITION when available does not cover the order.
// position is nullopt when the account holds no row for the symbol.
[[nodiscard]] Result<Reservation> planReservation(const PlaceOrderRequest& request,
                                                  const CashBalance& cash,
                                                  const std::optional<PositionBalance>& position);

// INSUFFICIENT_FUNDS when a withdrawal exceeds cash available.
[[nodiscard]] Status checkWithdrawal(Money amount, const CashBalance& cash);

// Sleep before lock attempt number `attempt` (0-based): "full jitter" over an exponentially
// growing window, capped. random_unit is uniform in [0, 1), injected so this stays pure.
[[nodiscard]] int64_t lockBackoffMs(int attempt, int64_t backoff_ms_min, int64_t backoff_ms_max,
                                    double random_unit);

}  // namespace fbg::ledger
