// HS256 bearer tokens: minting, verification, and every way a token is refused.
#include <gtest/gtest.h>

#include <Poco/Base64Encoder.h>
#include <Poco/JSON/Array.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <Poco/Timestamp.h>

#include <sstream>
#include <string>
#include <vector>

#include "common/auth_token.h"

namespace fbg {
namespace {

const std::string kSecret = "unit-test-secret-0123456789abcdef";
constexpr int64_t kNow = 1'800'000'000;  // 2027-01-15
constexpr int64_t kLater = kNow + 3600;

Principal trader(std::vector<std::string> accounts) {
  Principal principal;
  principal.subject = "alice";
  principal.role = Role::Trader;
  principal.accounts = std::move(accounts);
  return principal;
}

std::string bearer(const std::string& token) {
  return "Bearer " + token;
}

// The failure message of a refused header; fails the test if it was accepted.
std::string refusal(const std::string& header, int64_t now = kNow) {
  auto result = verifyBearerToken(header, kSecret, now);
  EXPECT_FALSE(result.has_value()) << "accepted: " << header;
  if (result) return "";
  EXPECT_EQ(result.error().code, ErrorCode::Unauthenticated) << result.error().message;
  EXPECT_EQ(errorHttpStatus(result.error().code), 401);
  return result.error().message;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string base64Url(const std::string& data) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out, Poco::BASE64_URL_ENCODING | Poco::BASE64_NO_PADDING);
  encoder << data;
  encoder.close();
  return out.str();
}

// A token with arbitrary claims, signed with HS256 (or another algorithm) and the given secret.
struct Claims {
  std::optional<std::string> subject = "bob";
  std::optional<std::string> role = "trader";
  std::optional<int64_t> expires = kLater;
  bool accounts_as_array = true;
};

std::string signedToken(const Claims& claims, const std::string& secret = kSecret,
                        const std::string& algorithm = Poco::JWT::Signer::ALGO_HS256) {
  Poco::JWT::Token token;
  token.setType("JWT");
  if (claims.subject) token.setSubject(*claims.subject);
  if (claims.role) token.payload().set("role", *claims.role);
  if (claims.accounts_as_array) {
    Poco::JSON::Array::Ptr accounts = new Poco::JSON::Array;
    accounts->add(std::string("ACC-1"));
    token.payload().set("accounts", accounts);
  } else {
    token.payload().set("accounts", std::string("ACC-1"));
  }
  if (claims.expires) {
    token.setExpiration(Poco::Timestamp::fromEpochTime(static_cast<std::time_t>(*claims.expires)));
  }
  Poco::JWT::Signer signer(secret);
  signer.addAllAlgorithms();
  return signer.sign(token, algorithm);
}

// ---------------------------------------------------------------- accepted tokens

TEST(AuthToken, MintedTraderTokenVerifies) {
  const std::string token = mintToken(trader({"ACC-1", "ACC-2"}), kSecret, kLater);
  EXPECT_EQ(std::count(token.begin(), token.end(), '.'), 2);
  auto principal = verifyBearerToken(bearer(token), kSecret, kNow);
  ASSERT_TRUE(principal.has_value()) << principal.error().message;
  EXPECT_EQ(principal->subject, "alice");
  EXPECT_EQ(principal->role, Role::Trader);
  EXPECT_EQ(principal->accounts, (std::vector<std::string>{"ACC-1", "ACC-2"}));
}

TEST(AuthToken, MintedAdminTokenVerifies) {
  Principal admin;
  admin.subject = "ops";
  admin.role = Role::Admin;
  auto principal = verifyBearerToken(bearer(mintToken(admin, kSecret, kLater)), kSecret, kNow);
  ASSERT_TRUE(principal.has_value()) << principal.error().message;
  EXPECT_EQ(principal->subject, "ops");
  EXPECT_EQ(principal->role, Role::Admin);
  EXPECT_TRUE(principal->accounts.empty());
}

TEST(AuthToken, ValidUntilTheSecondBeforeExpiry) {
  const std::string token = mintToken(trader({}), kSecret, kLater);
  EXPECT_TRUE(verifyBearerToken(bearer(token), kSecret, kLater - 1).has_value());
  EXPECT_TRUE(contains(refusal(bearer(token), kLater), "expired"));
  EXPECT_TRUE(contains(refusal(bearer(token), kLater + 86'400), "expired"));
}

TEST(AuthToken, TokenWithoutAccountsClaimIsATraderWithNoAccounts) {
  Poco::JWT::Token token;
  token.setType("JWT");
  token.setSubject("carol");
  token.payload().set("role", std::string("trader"));
  token.setExpiration(Poco::Timestamp::fromEpochTime(static_cast<std::time_t>(kLater)));
  Poco::JWT::Signer signer(kSecret);
  auto principal =
      verifyBearerToken(bearer(signer.sign(token, Poco::JWT::Signer::ALGO_HS256)), kSecret, kNow);
  ASSERT_TRUE(principal.has_value()) << principal.error().message;
  EXPECT_TRUE(principal->accounts.empty());
  EXPECT_FALSE(principal->mayUseAccount("ACC-1"));
}

// ---------------------------------------------------------------- account access

TEST(Principal, TraderReachesOnlyItsAccountsAdminReachesAll) {
  const Principal alice = trader({"ACC-1", "ACC-2"});
  EXPECT_TRUE(alice.mayUseAccount("ACC-1"));
  EXPECT_TRUE(alice.mayUseAccount("ACC-2"));
  EXPECT_FALSE(alice.mayUseAccount("ACC-3"));
  EXPECT_FALSE(alice.mayUseAccount("acc-1"));
  EXPECT_FALSE(alice.mayUseAccount(""));
  Principal admin;
  admin.role = Role::Admin;
  EXPECT_TRUE(admin.mayUseAccount("ACC-1"));
  EXPECT_TRUE(admin.mayUseAccount("anything"));
}

// ---------------------------------------------------------------- refused tokens

TEST(AuthToken, MissingHeader) {
  EXPECT_TRUE(contains(refusal(""), "missing"));
}

TEST(AuthToken, NotBearer) {
  const std::string token = mintToken(trader({"ACC-1"}), kSecret, kLater);
  for (const std::string& header : std::vector<std::string>{
           "Basic " + token, token, "Bearer" + token, "Token " + token, " Bearer " + token}) {
    EXPECT_TRUE(contains(refusal(header), "Bearer")) << header;
  }
}

TEST(AuthToken, BadSignature) {
  const std::string other_secret = mintToken(trader({"ACC-1"}), "another-secret", kLater);
  EXPECT_TRUE(contains(refusal(bearer(other_secret)), "signature"));
}

TEST(AuthToken, TamperedPayloadBreaksTheSignature) {
  // Re-encode the payload with the admin role, keeping the original signature.
  const std::string token = mintToken(trader({"ACC-1"}), kSecret, kLater);
  const auto first_dot = token.find('.');
  const auto second_dot = token.find('.', first_dot + 1);
  const std::string forged_payload = base64Url(
      R"({"sub":"alice","role":"admin","accounts":[],"exp":)" + std::to_string(kLater) + "}");
  const std::string forged =
      token.substr(0, first_dot + 1) + forged_payload + token.substr(second_dot);
  EXPECT_TRUE(contains(refusal(bearer(forged)), "signature"));
}

TEST(AuthToken, TamperedSignature) {
  std::string token = mintToken(trader({"ACC-1"}), kSecret, kLater);
  // A character inside the signature (the last one also carries padding bits).
  char& inside = token[token.size() - 10];
  inside = inside == 'A' ? 'B' : 'A';
  EXPECT_TRUE(contains(refusal(bearer(token)), "signature"));
}

TEST(AuthToken, Expired) {
  EXPECT_TRUE(contains(refusal(bearer(mintToken(trader({}), kSecret, kNow - 1))), "expired"));
}

TEST(AuthToken, WrongRole) {
  for (const std::string& role : std::vector<std::string>{"superuser", "Admin", "TRADER", ""}) {
    Claims claims;
    claims.role = role;
    EXPECT_TRUE(contains(refusal(bearer(signedToken(claims))), "role")) << role;
  }
  Claims no_role;
  no_role.role.reset();
  EXPECT_TRUE(contains(refusal(bearer(signedToken(no_role))), "role"));
}

TEST(AuthToken, MissingExpiry) {
  Claims claims;
  claims.expires.reset();
  EXPECT_TRUE(contains(refusal(bearer(signedToken(claims))), "exp"));
}

TEST(AuthToken, MissingSubject) {
  Claims claims;
  claims.subject.reset();
  EXPECT_TRUE(contains(refusal(bearer(signedToken(claims))), "sub"));
}

TEST(AuthToken, AccountsMustBeAnArray) {
  Claims claims;
  claims.accounts_as_array = false;
  EXPECT_TRUE(contains(refusal(bearer(signedToken(claims))), "accounts"));
}

TEST(AuthToken, ClaimsCheckedAfterSignatureAreStillSigned) {
  // Sanity check for the crafted tokens above: with good claims they verify.
  auto principal = verifyBearerToken(bearer(signedToken(Claims{})), kSecret, kNow);
  ASSERT_TRUE(principal.has_value()) << principal.error().message;
  EXPECT_EQ(principal->subject, "bob");
  EXPECT_EQ(principal->accounts, (std::vector<std::string>{"ACC-1"}));
}

TEST(AuthToken, OnlyHs256IsAccepted) {
  refusal(bearer(signedToken(Claims{}, kSecret, Poco::JWT::Signer::ALGO_HS384)));
  refusal(bearer(signedToken(Claims{}, kSecret, Poco::JWT::Signer::ALGO_HS512)));
}

TEST(AuthToken, UnsignedAlgNoneIsRefused) {
  const std::string header = base64Url(R"({"alg":"none","typ":"JWT"})");
  const std::string payload = base64Url(R"({"sub":"mallory","role":"admin","accounts":[],"exp":)" +
                                        std::to_string(kLater) + "}");
  refusal(bearer(header + "." + payload + "."));
  refusal(bearer(header + "." + payload));
}

TEST(AuthToken, Garbage) {
  for (const std::string& token : std::vector<std::string>{
           "", "garbage", "a.b.c", "...", "e30.e30.", "e30.e30.e30", "%%%.%%%.%%%",
           "eyJhbGciOiJIUzI1NiJ9", std::string(10'000, 'x'), "Bearer x", "\xff\xfe.\x01.\x02"}) {
    refusal(bearer(token));
  }
}

}  // namespace
}  // namespace fbg
