// Helpers shared by the ledger's route handlers: authentication, request context, paging.
#pragma once

#include <optional>
#include <string>

#include "common/auth_token.h"
#include "common/http.h"
#include "ledger_config.h"
#include "ledger_store.h"

namespace fbg::ledger {

// 401 unless the bearer token verifies; 403 unless it may use account_id (when given) or is
// admin (when admin_only).
[[nodiscard]] Result<Principal> authorize(const HttpRequest& request, const std::string& secret,
                                          const std::optional<std::string>& account_id,
                                          bool admin_only);

// actor from the token, X-Channel (default API), X-Request-Id (generated when absent).
[[nodiscard]] Result<ChangeContext> changeContext(const HttpRequest& request,
                                                  const Principal& principal);

[[nodiscard]] Result<int> pageLimit(const HttpRequest& request, const LedgerSettings& settings);
[[nodiscard]] Result<std::optional<int64_t>> pageCursor(const HttpRequest& request);
[[nodiscard]] HttpResponse pageResponse(const char* items_name, const Page& page);

}  // namespace fbg::ledger
