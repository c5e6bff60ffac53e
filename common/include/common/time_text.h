// Wall-clock instants as text, UTC, millisecond precision; and the wall clock as a number.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace fbg {

// The wall clock (system_clock) since the Unix epoch, for timestamps other hosts read too.
[[nodiscard]] inline int64_t wallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
[[nodiscard]] inline int64_t wallClockUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// FIX UTCTimestamp: "YYYYMMDD-HH:MM:SS.sss".
[[nodiscard]] std::string fixTimestamp(std::chrono::system_clock::time_point at);
// RFC 3339: "YYYY-MM-DDTHH:MM:SS.sssZ".
[[nodiscard]] std::string rfc3339Timestamp(std::chrono::system_clock::time_point at);
// FIX UTCTimestamp ("YYYYMMDD-HH:MM:SS" or with ".sss") -> ms since the epoch; -1 if malformed.
[[nodiscard]] int64_t parseFixTimestampMs(const std::string& text);
// RFC 3339 in UTC ("YYYY-MM-DDTHH:MM:SSZ", or with a fraction of 3 or more digits, of which the
// first 3 count) -> ms since the epoch; -1 if malformed.
[[nodiscard]] int64_t parseRfc3339Ms(const std::string& text);

}  // namespace fbg
