// Account routes: creation, deposits, withdrawals, security deposits and account reads.
#include "api_support.h"
#include "ledger_api.h"

namespace fbg::ledger {

using Json = nlohmann::json;

HttpResponse LedgerApi::createAccount(const HttpRequest& request) {
  auto principal = authorize(request, settings_.jwt_secret, std::nullopt, true);
  if (!principal) return errorResponse(principal.error());
  auto context = changeContext(request, *principal);
  if (!context) return errorResponse(context.error());
  auto parsed = parseCreateAccount(request.body);
  if (!parsed) return errorResponse(parsed.error());
  auto created = store_.createAccount(*parsed, *context);
  if (!created) return errorResponse(created.error());
  return jsonResponse(201, accountJson(*created).dump());
}

HttpResponse LedgerApi::cashTransfer(const HttpRequest& request, bool is_withdrawal) {
  const std::string& account_id = request.path_params.at("account_id");
  auto principal = authorize(request, settings_.jwt_secret, account_id, true);
  if (!principal) return errorResponse(principal.error());
  auto context = changeContext(request, *principal);
  if (!context) return errorResponse(context.error());
  auto parsed = parseCashTransfer(request.body);
  if (!parsed) return errorResponse(parsed.error());
  auto outcome = writer_.write<TransferOutcome>(account_id, [&] {
    return store_.tryCashTransfer(account_id, *parsed, is_withdrawal, *context);
  });
  if (!outcome) return errorResponse(outcome.error());
  return jsonResponse(outcome->replayed ? 200 : 201, outcome->response);
}

HttpResponse LedgerApi::securityDeposit(const HttpRequest& request) {
  const std::string& account_id = request.path_params.at("account_id");
  auto principal = authorize(request, settings_.jwt_secret, account_id, true);
  if (!principal) return errorResponse(principal.error());
  auto context = changeContext(request, *principal);
  if (!context) return errorResponse(context.error());
  auto parsed = parseSecurityDeposit(request.body, settings_.order_quantity_max);
  if (!parsed) return errorResponse(parsed.error());
  auto outcome = writer_.write<TransferOutcome>(
      account_id, [&] { return store_.trySecurityDeposit(account_id, *parsed, *context); });
  if (!outcome) return errorResponse(outcome.error());
  return jsonResponse(outcome->replayed ? 200 : 201, outcome->response);
}

HttpResponse LedgerApi::getAccount(const HttpRequest& request) {
  const std::string& account_id = request.path_params.at("account_id");
  auto principal = authorize(request, settings_.jwt_secret, account_id, false);
  if (!principal) return errorResponse(principal.error());
  auto account = store_.account(account_id);
  if (!account) return errorResponse(account.error());
  return jsonResponse(200, accountJson(*account).dump());
}

HttpResponse LedgerApi::getPositions(const HttpRequest& request) {
  const std::string& account_id = request.path_params.at("account_id");
  auto principal = authorize(request, settings_.jwt_secret, account_id, false);
  if (!principal) return errorResponse(principal.error());
  auto positions = store_.positions(account_id);
  if (!positions) return errorResponse(positions.error());
  Json items = Json::array();
  for (const auto& position : *positions) items.push_back(positionJson(position));
  return jsonResponse(200, Json{{"positions", items}}.dump());
}

HttpResponse LedgerApi::getJournal(const HttpRequest& request) {
  const std::string& account_id = request.path_params.at("account_id");
  auto principal = authorize(request, settings_.jwt_secret, account_id, false);
  if (!principal) return errorResponse(principal.error());
  auto limit = pageLimit(request, settings_);
  if (!limit) return errorResponse(limit.error());
  auto cursor = pageCursor(request);
  if (!cursor) return errorResponse(cursor.error());
  auto page = store_.journal(account_id, *limit, *cursor);
  if (!page) return errorResponse(page.error());
  return pageResponse("entries", *page);
}

}  // namespace fbg::ledger
