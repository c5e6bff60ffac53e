// Validation of the identifiers that cross the system's edges, and order id minting.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace fbg {

// ^[A-Z][A-Z0-9.]{0,9}$ (API.md).
[[nodiscard]] bool isValidSymbol(std::string_view symbol);
// 1..32 chars of [A-Za-z0-9._:-]: account ids appear in Redis keys and URLs, so no '/' or spaces.
[[nodiscard]] bool isValidAccountId(std::string_view account_id);
// 1..64 chars of [A-Za-z0-9._:-] (API.md, Idempotency-Key and deposit references).
[[nodiscard]] bool isValidIdempotencyKey(std::string_view key);
// 1..16 chars of [A-Z0-9-]: broker profile names such as SIM-A.
[[nodiscard]] bool isValidBrokerName(std::string_view broker);

// An order id is also the FIX ClOrdID (at most 20 characters). Ours are 16 so that cancel
// requests can use "{order_id}-C{n}" (n <= 9) and stay within 20:
//
//   O  TTTTTTTT  SSSSSSS
//   |  |         +-- base-36 of (sequence mod 36^7), zero padded (7 chars)
//   |  +------------ base-36 of milliseconds since 2020-01-01T00:00:00Z (8 chars, lasts ~89 years)
//   +--------------- literal 'O'
//
// The database sequence makes ids unique within one ledger; the time part keeps them unique
// against a broker that remembers ClOrdIDs from before a ledger database was recreated.
inline constexpr std::size_t kOrderIdLength = 16;
inline constexpr std::size_t kClOrdIdLengthMax = 20;
[[nodiscard]] std::string makeOrderId(int64_t unix_time_ms, int64_t sequence);
[[nodiscard]] bool isValidOrderId(std::string_view order_id);

}  // namespace fbg
