#include "ledger_api.h"

#include "api_support.h"

namespace fbg::ledger {

using Json = nlohmann::json;

void LedgerApi::registerRoutes(HttpRouter& router) {
  router.add("POST", "/v1/accounts", [this](const HttpRequest& r) { return createAccount(r); });
  router.add("POST", "/v1/accounts/{account_id}/deposits",
             [this](const HttpRequest& r) { return cashTransfer(r, false); });
  router.add("POST", "/v1/accounts/{account_id}/withdrawals",
             [this](const HttpRequest& r) { return cashTransfer(r, true); });
  router.add("POST", "/v1/accounts/{account_id}/security-deposits",
             [this](const HttpRequest& r) { return securityDeposit(r); });
  router.add("GET", "/v1/accounts/{account_id}",
             [this](const HttpRequest& r) { return getAccount(r); });
  router.add("GET", "/v1/accounts/{account_id}/positions",
             [this](const HttpRequest& r) { return getPositions(r); });
  router.add("GET", "/v1/accounts/{account_id}/orders",
             [this](const HttpRequest& r) { return listOrders(r); });
  router.add("POST", "/v1/accounts/{account_id}/orders",
             [this](const HttpRequest& r) { return placeOrder(r); });
  router.add("GET", "/v1/accounts/{account_id}/journal",
             [this](const HttpRequest& r) { return getJournal(r); });
  router.add("GET", "/v1/orders/{order_id}", [this](const HttpRequest& r) { return getOrder(r); });
  router.add("DELETE", "/v1/orders/{order_id}",
             [this](const HttpRequest& r) { return cancelOrder(r); });
  router.add("GET", "/v1/orders/{order_id}/executions",
             [this](const HttpRequest& r) { return getExecutions(r); });
  router.add("GET", "/v1/orders/{order_id}/history",
             [this](const HttpRequest& r) { return getHistory(r); });
  router.add("GET", "/healthz",
             [](const HttpRequest&) { return jsonResponse(200, R"({"status":"ok"})"); });
  router.add("GET", "/readyz", [this](const HttpRequest&) { return readiness(); });
  router.add("GET", "/metrics", [this](const HttpRequest&) {
    return HttpResponse{200, metrics_.render(), "text/plain; version=0.0.4", {}};
  });
}

HttpResponse LedgerApi::readiness() {
  const bool postgres_up = store_.ping().has_value();
  const auto pong = redis_.command({"PING"});
  const bool redis_up = pong.has_value() && pong->kind == RedisReply::Kind::Status;
  const char* status = !postgres_up ? "unavailable" : (redis_up ? "ready" : "degraded");
  Json body = {{"status", status},
               {"components",
                {{"postgres", postgres_up ? "up" : "down"}, {"redis", redis_up ? "up" : "down"}}}};
  return jsonResponse(postgres_up ? 200 : 503, body.dump());
}

}  // namespace fbg::ledger
