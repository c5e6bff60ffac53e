#include "common/time_text.h"

#include <cstdio>
#include <ctime>

namespace fbg {
namespace {

struct Parts {
  std::tm utc{};
  int millis = 0;
};

Parts partsOf(std::chrono::system_clock::time_point at) {
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  Parts parts;
  const std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  gmtime_r(&seconds, &parts.utc);
  parts.millis = static_cast<int>(millis % 1000);
  return parts;
}

}  // namespace

std::string fixTimestamp(std::chrono::system_clock::time_point at) {
  const Parts p = partsOf(at);
  char text[64];
  std::snprintf(text, sizeof text, "%04d%02d%02d-%02d:%02d:%02d.%03d", p.utc.tm_year + 1900,
                p.utc.tm_mon + 1, p.utc.tm_mday, p.utc.tm_hour, p.utc.tm_min, p.utc.tm_sec,
                p.millis);
  return text;
}

std::string rfc3339Timestamp(std::chrono::system_clock::time_point at) {
  const Parts p = partsOf(at);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", p.utc.tm_year + 1900,
                p.utc.tm_mon + 1, p.utc.tm_mday, p.utc.tm_hour, p.utc.tm_min, p.utc.tm_sec,
                p.millis);
  return text;
}

int64_t parseFixTimestampMs(const std::string& text) {
  std::tm utc{};
  int millis = 0;
  char dot = 0;
  const int read =
      std::sscanf(text.c_str(), "%4d%2d%2d-%2d:%2d:%2d%c%3d", &utc.tm_year, &utc.tm_mon,
                  &utc.tm_mday, &utc.tm_hour, &utc.tm_min, &utc.tm_sec, &dot, &millis);
  if (read != 6 && !(read == 8 && dot == '.')) return -1;
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  const std::time_t seconds = timegm(&utc);
  if (seconds < 0) return -1;
  return static_cast<int64_t>(seconds) * 1000 + millis;
}

int64_t parseRfc3339Ms(const std::string& text) {
  std::tm utc{};
  int millis = 0;
  int consumed = 0;
  const int read = std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &utc.tm_year, &utc.tm_mon,
                               &utc.tm_mday, &utc.tm_hour, &utc.tm_min, &utc.tm_sec, &consumed);
  if (read != 6 || consumed != 19) return -1;
  std::size_t at = 19;
  if (at < text.size() && text[at] == '.') {
    std::size_t digits = 0;
    for (++at; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at, ++digits) {
      if (digits < 3) millis = millis * 10 + (text[at] - '0');
    }
    if (digits < 3) return -1;
  }
  if (at + 1 != text.size() || text[at] != 'Z') return -1;
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  const std::time_t seconds = timegm(&utc);
  if (seconds < 0) return -1;
  return static_cast<int64_t>(seconds) * 1000 + millis;
}

}  // namespace fbg
