#include "common/auth_token.h"

#include <Poco/Crypto/OpenSSLInitializer.h>
#include <Poco/JSON/Array.h>
#include <Poco/JWT/JWTException.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <Poco/Timestamp.h>

#include <algorithm>

namespace fbg {
namespace {

// Every Poco::JWT::Signer initialises OpenSSL on construction and uninitialises it on
// destruction. Poco 1.11 races when that reference count moves between 0 and 1 on two threads
// (mutexes created and destroyed under each other; ThreadSanitizer shows it, and under load it
// corrupted the heap). Holding one reference for the life of the process keeps the count above 0.
void keepOpenSslInitialized() {
  static const Poco::Crypto::OpenSSLInitializer kept_for_process_lifetime;
  (void)kept_for_process_lifetime;
}

Error unauthenticated(const std::string& why) {
  return makeError(ErrorCode::Unauthenticated, why);
}

Result<Principal> principalFromToken(const Poco::JWT::Token& token, int64_t now_unix_s) {
  const auto& payload = token.payload();
  if (!payload.has("exp")) return unauthenticated("token has no exp claim");
  if (token.getExpiration().epochTime() <= now_unix_s) return unauthenticated("token expired");
  Principal principal;
  principal.subject = token.getSubject();
  if (principal.subject.empty()) return unauthenticated("token has no sub claim");
  const std::string role = payload.optValue<std::string>("role", "");
  if (role == "admin") {
    principal.role = Role::Admin;
  } else if (role == "trader") {
    principal.role = Role::Trader;
  } else {
    return unauthenticated("token role must be trader or admin");
  }
  if (payload.has("accounts")) {
    auto accounts = payload.getArray("accounts");
    if (accounts.isNull()) return unauthenticated("token accounts must be an array");
    for (std::size_t i = 0; i < accounts->size(); ++i) {
      const auto item = accounts->get(static_cast<unsigned>(i));
      if (!item.isString()) return unauthenticated("token accounts must be strings");
      principal.accounts.push_back(item.extract<std::string>());
    }
  }
  return principal;
}

}  // namespace

bool Principal::mayUseAccount(const std::string& account_id) const {
  return role == Role::Admin ||
         std::find(accounts.begin(), accounts.end(), account_id) != accounts.end();
}

Result<Principal> verifyBearerToken(const std::string& authorization_header,
                                    const std::string& secret, int64_t now_unix_s) {
  static const std::string kPrefix = "Bearer ";
  if (authorization_header.empty()) return unauthenticated("missing Authorization header");
  if (authorization_header.compare(0, kPrefix.size(), kPrefix) != 0) {
    return unauthenticated("Authorization must be 'Bearer <token>'");
  }
  keepOpenSslInitialized();
  try {
    Poco::JWT::Signer signer(secret);  // accepts HS256 only by default
    const Poco::JWT::Token token = signer.verify(authorization_header.substr(kPrefix.size()));
    return principalFromToken(token, now_unix_s);
  } catch (const Poco::JWT::SignatureVerificationException&) {
    return unauthenticated("bad token signature");
  } catch (const Poco::Exception& failure) {
    return unauthenticated("malformed token: " + failure.message());
  } catch (const std::exception& failure) {
    return unauthenticated(std::string("malformed token: ") + failure.what());
  }
}

std::string mintToken(const Principal& principal, const std::string& secret,
                      int64_t expires_at_unix_s) {
  keepOpenSslInitialized();
  Poco::JWT::Token token;
  token.setType("JWT");
  token.setSubject(principal.subject);
  token.payload().set("role", principal.role == Role::Admin ? "admin" : "trader");
  Poco::JSON::Array::Ptr accounts = new Poco::JSON::Array;
  for (const auto& account : principal.accounts) accounts->add(account);
  token.payload().set("accounts", accounts);
  token.setExpiration(Poco::Timestamp::fromEpochTime(static_cast<std::time_t>(expires_at_unix_s)));
  Poco::JWT::Signer signer(secret);
  return signer.sign(token, Poco::JWT::Signer::ALGO_HS256);
}

}  // namespace fbg
