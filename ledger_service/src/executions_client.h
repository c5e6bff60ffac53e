// The fill receiver's GET /v1/executions?after=SEQ&limit=N (API.md), for the polling path while
// Redis is down (event_consumers.h) and for `reconcile`.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"

namespace fbg::ledger {

struct ExecutionsEndpoint {
  std::string host;
  int port = 0;
  int timeout_ms = 0;
};

// One page: the body ({"executions": [...]}) on 200 with a JSON object; anything else
// (refused, timed out, another status, unreadable) is Unavailable.
[[nodiscard]] Result<nlohmann::json> fetchExecutionsPage(const ExecutionsEndpoint& endpoint,
                                                         int64_t after, int limit);

}  // namespace fbg::ledger
