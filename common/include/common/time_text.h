// Wall-clock instants as text, UTC, millisecond precision.
#pragma once

#include <chrono>
#include <string>

namespace fbg {

// FIX UTCTimestamp: "YYYYMMDD-HH:MM:SS.sss".
[[nodiscard]] std::string fixTimestamp(std::chrono::system_clock::time_point at);
// RFC 3339: "YYYY-MM-DDTHH:MM:SS.sssZ".
[[nodiscard]] std::string rfc3339Timestamp(std::chrono::system_clock::time_point at);
// FIX UTCTimestamp ("YYYYMMDD-HH:MM:SS" or with ".sss") -> ms since the epoch; -1 if malformed.
[[nodiscard]] int64_t parseFixTimestampMs(const std::string& text);

}  // namespace fbg
