// The simulator's seeded random walk of a symbol's price (FLOW.md "The broker simulator": a
// price per symbol, settable, or a seeded random walk). Pure and deterministic: the same seed,
// symbol and starting price give the same prices on every machine and standard library, because
// the generator is our own 64-bit mix (std:: distributions differ between implementations) and
// the arithmetic is integer, on Money's 1/10,000 units (never a double for money).
//
// Each symbol walks on its own generator state, derived from (seed, symbol), so one symbol's
// prices do not depend on which other symbols exist or in what order a tick visits them.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/money.h"

namespace fbg::simulator {

// A walked price stays in [kWalkPriceMin, kWalkPriceMax]: never zero or negative, and far from
// Money's range so a step can never overflow.
inline constexpr Money kWalkPriceMin = Money::fromUnits(100);  // 0.01, one cent
inline constexpr Money kWalkPriceMax = Money::fromWhole(1'000'000'000);
inline constexpr int64_t kWalkStepBpsMax = 1'000;  // 10% of the price per tick

struct PriceWalk {
  Money price;
  uint64_t random_state = 0;
};

// The walk of `symbol` under `seed`, at `start` (> 0; a price set through the API is a start).
[[nodiscard]] PriceWalk startPriceWalk(uint64_t seed, std::string_view symbol, Money start);

// One tick: the price moves up or down (even odds) by step_bps basis points of itself, rounded
// down but at least one unit (0.0001), then is clamped into [kWalkPriceMin, kWalkPriceMax].
// step_bps 0 leaves the price as it is. Pre: 0 <= step_bps <= kWalkStepBpsMax, price > 0.
[[nodiscard]] PriceWalk stepPriceWalk(const PriceWalk& walk, int64_t step_bps);

}  // namespace fbg::simulator
