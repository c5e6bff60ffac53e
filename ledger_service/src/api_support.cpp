#include "api_support.h"

#include <chrono>
#include <random>

#include "common/identifiers.h"

namespace fbg::ledger {
namespace {

using Json = nlohmann::json;

int64_t nowUnixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string generatedRequestId() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  char text[24];
  std::snprintf(text, sizeof text, "req-%016llx", static_cast<unsigned long long>(engine()));
  return text;
}

}  // namespace

Result<Principal> authorize(const HttpRequest& request, const std::string& secret,
                            const std::optional<std::string>& account_id, bool admin_only) {
  auto principal = verifyBearerToken(request.header("authorization"), secret, nowUnixSeconds());
  if (!principal) return principal;
  if (admin_only && principal->role != Role::Admin) {
    return makeError(ErrorCode::Forbidden, "this route is for admins");
  }
  if (account_id && !principal->mayUseAccount(*account_id)) {
    return makeError(ErrorCode::Forbidden,
                     "token does not cover account " + account_id->substr(0, 40));
  }
  return principal;
}

Result<ChangeContext> changeContext(const HttpRequest& request, const Principal& principal) {
  ChangeContext context;
  context.actor = principal.subject;
  const std::string channel = request.header("x-channel");
  if (!channel.empty()) {
    if (!parseChannel(channel)) return invalidInput("X-Channel must be WTS, MTS, AUTO or API");
    context.channel = channel;
  }
  context.request_id = request.header("x-request-id");
  if (context.request_id.empty()) {
    context.request_id = generatedRequestId();
  } else if (!isValidIdempotencyKey(context.request_id)) {
    return invalidInput("X-Request-Id must be 1-64 characters of [A-Za-z0-9._:-]");
  }
  return context;
}

Result<int> pageLimit(const HttpRequest& request, const LedgerSettings& settings) {
  const std::string range =
      "limit must be a whole number from 1 to " + std::to_string(settings.page_size_max);
  const std::string* text = request.queryParam("limit");
  if (text == nullptr || text->empty()) return settings.page_size_default;
  if (text->size() > 6 || text->find_first_not_of("0123456789") != std::string::npos) {
    return invalidInput(range);
  }
  const int limit = std::stoi(*text);
  if (limit < 1 || limit > settings.page_size_max) return invalidInput(range);
  return limit;
}

Result<std::optional<int64_t>> pageCursor(const HttpRequest& request) {
  const std::string* text = request.queryParam("cursor");
  if (text == nullptr || text->empty()) return std::optional<int64_t>();
  if (text->size() > 18 || text->find_first_not_of("0123456789") != std::string::npos) {
    return invalidInput("cursor is not one this service issued");
  }
  return std::optional<int64_t>(std::stoll(*text));
}

HttpResponse pageResponse(const char* items_name, const Page& page) {
  Json body = {{items_name, page.items},
               {"next_cursor", page.next_cursor ? Json(*page.next_cursor) : Json(nullptr)}};
  return jsonResponse(200, body.dump());
}

}  // namespace fbg::ledger
