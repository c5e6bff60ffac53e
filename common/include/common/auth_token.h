// HS256 bearer tokens (API.md "Authentication"): claims sub, role, accounts, exp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace fbg {

enum class Role { Trader, Admin };

struct Principal {
  std::string subject;
  Role role = Role::Trader;
  std::vector<std::string> accounts;

  // Admins reach every account; a trader only the accounts its token names.
  [[nodiscard]] bool mayUseAccount(const std::string& account_id) const;
};

// Verifies signature, algorithm (HS256 only), expiry and claim shapes. Any failure is
// ErrorCode::Unauthenticated with a message that says which check failed.
[[nodiscard]] Result<Principal> verifyBearerToken(const std::string& authorization_header,
                                                  const std::string& secret, int64_t now_unix_s);

[[nodiscard]] std::string mintToken(const Principal& principal, const std::string& secret,
                                    int64_t expires_at_unix_s);

}  // namespace fbg
