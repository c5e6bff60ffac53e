#include "domain/price_walk.h"

#include <algorithm>
#include <cassert>

namespace fbg::simulator {
namespace {

// SplitMix64 (Steele, Lea, Flood 2014): a 64-bit state advanced by a fixed odd increment and
// mixed; every state gives a well-spread output, so any seed works, 0 included.
uint64_t nextRandom(uint64_t& state) {
  state += 0x9E3779B97F4A7C15ULL;
  uint64_t mixed = state;
  mixed = (mixed ^ (mixed >> 30)) * 0xBF58476D1CE4E5B9ULL;
  mixed = (mixed ^ (mixed >> 27)) * 0x94D049BB133111EBULL;
  return mixed ^ (mixed >> 31);
}

// FNV-1a over the symbol's bytes: a fixed, platform-independent hash (std::hash is neither).
uint64_t symbolHash(std::string_view symbol) {
  uint64_t hash = 14695981039346656037ULL;
  for (const char c : symbol) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

}  // namespace

PriceWalk startPriceWalk(uint64_t seed, std::string_view symbol, Money start) {
  assert(start.isPositive());
  return PriceWalk{start, seed ^ symbolHash(symbol)};
}

PriceWalk stepPriceWalk(const PriceWalk& walk, int64_t step_bps) {
  assert(step_bps >= 0 && step_bps <= kWalkStepBpsMax);
  assert(walk.price.isPositive());
  if (step_bps == 0) return walk;
  PriceWalk next = walk;
  // Clamped first, so a price set far above the range cannot overflow the step below.
  const int64_t units =
      std::clamp(walk.price.units(), kWalkPriceMin.units(), kWalkPriceMax.units());
  // floor(units x step_bps / 10,000) without forming the product.
  const int64_t delta =
      std::max<int64_t>(1, units / 10'000 * step_bps + units % 10'000 * step_bps / 10'000);
  const bool up = (nextRandom(next.random_state) >> 63) != 0;
  next.price = Money::fromUnits(
      std::clamp(up ? units + delta : units - delta, kWalkPriceMin.units(), kWalkPriceMax.units()));
  assert(next.price >= kWalkPriceMin && next.price <= kWalkPriceMax);
  return next;
}

}  // namespace fbg::simulator
