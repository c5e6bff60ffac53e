// Order routes: place, list, read, cancel, executions, history.
#include "api_support.h"
#include "common/identifiers.h"
#include "ledger_api.h"

namespace fbg::ledger {

using Json = nlohmann::json;

namespace {

struct VisibleOrder {
  Principal principal;
  OrderRow order;
};

// The order, if the token may see its account (403 otherwise, 404 when it does not exist).
Result<VisibleOrder> visibleOrder(LedgerStore& store, const HttpRequest& request,
                                  const std::string& secret) {
  auto principal = authorize(request, secret, std::nullopt, false);
  if (!principal) return principal.error();
  auto order = store.order(request.path_params.at("order_id"));
  if (!order) return order.error();
  if (!principal->mayUseAccount(order->account_id)) {
    return makeError(ErrorCode::Forbidden, "token does not cover the order's account");
  }
  return VisibleOrder{std::move(*principal), std::move(*order)};
}

}  // namespace

HttpResponse LedgerApi::placeOrder(const HttpRequest& request) {
  const std::string& account_id = request.path_params.at("account_id");
  auto principal = authorize(request, settings_.jwt_secret, account_id, false);
  if (!principal) return errorResponse(principal.error());
  auto context = changeContext(request, *principal);
  if (!context) return errorResponse(context.error());
  const std::string key = request.header("idempotency-key");
  if (!isValidIdempotencyKey(key)) {
    return errorResponse(
        invalidInput("Idempotency-Key is required: 1-64 characters of [A-Za-z0-9._:-]"));
  }
  const OrderLimits limits{settings_.order_quantity_max, settings_.order_notional_max,
                           settings_.routing_brokers, settings_.routing_default_broker};
  auto parsed = parsePlaceOrder(request.body, limits);
  if (!parsed) return errorResponse(parsed.error());
  const PlaceOrderInput input{account_id, key, std::move(*parsed), std::move(*context)};
  // Fills first (event_lag.h); before the lock, so that nothing waits on this request.
  event_lag_.waitWhileBehind(settings_.intake_events_lag_ms_max,
                             settings_.intake_events_lag_wait_ms_max);
  auto outcome = writer_.write<OrderOutcome>(account_id, [&] { return intake_.tryPlace(input); });
  if (!outcome) return errorResponse(outcome.error());
  if (outcome->replayed) {
    auto response = jsonResponse(200, orderJson(outcome->order).dump());
    response.headers.emplace_back("Idempotent-Replayed", "true");
    return response;
  }
  relay_.wake();
  if (on_order_placed_) on_order_placed_(outcome->order.order_id, account_id);
  return jsonResponse(202, orderJson(outcome->order).dump());
}

HttpResponse LedgerApi::listOrders(const HttpRequest& request) {
  const std::string& account_id = request.path_params.at("account_id");
  auto principal = authorize(request, settings_.jwt_secret, account_id, false);
  if (!principal) return errorResponse(principal.error());
  std::optional<std::string> status;
  if (const std::string* text = request.queryParam("status"); text != nullptr && !text->empty()) {
    if (!parseOrderStatus(*text)) return errorResponse(invalidInput("unknown status filter"));
    status = *text;
  }
  auto limit = pageLimit(request, settings_);
  if (!limit) return errorResponse(limit.error());
  auto cursor = pageCursor(request);
  if (!cursor) return errorResponse(cursor.error());
  auto page = store_.orders(account_id, status, *limit, *cursor);
  if (!page) return errorResponse(page.error());
  return pageResponse("orders", *page);
}

HttpResponse LedgerApi::getOrder(const HttpRequest& request) {
  auto visible = visibleOrder(store_, request, settings_.jwt_secret);
  if (!visible) return errorResponse(visible.error());
  return jsonResponse(200, orderJson(visible->order).dump());
}

HttpResponse LedgerApi::cancelOrder(const HttpRequest& request) {
  auto visible = visibleOrder(store_, request, settings_.jwt_secret);
  if (!visible) return errorResponse(visible.error());
  const OrderRow& order = visible->order;
  auto context = changeContext(request, visible->principal);
  if (!context) return errorResponse(context.error());
  auto canceled = writer_.write<OrderRow>(
      order.account_id, [&] { return store_.tryRequestCancel(order.order_id, *context); });
  if (!canceled) return errorResponse(canceled.error());
  relay_.wake();
  return jsonResponse(202, orderJson(*canceled).dump());
}

HttpResponse LedgerApi::getExecutions(const HttpRequest& request) {
  auto visible = visibleOrder(store_, request, settings_.jwt_secret);
  if (!visible) return errorResponse(visible.error());
  auto executions = store_.executions(visible->order.order_id);
  if (!executions) return errorResponse(executions.error());
  return jsonResponse(200, Json{{"executions", *executions}}.dump());
}

HttpResponse LedgerApi::getHistory(const HttpRequest& request) {
  auto visible = visibleOrder(store_, request, settings_.jwt_secret);
  if (!visible) return errorResponse(visible.error());
  auto revisions = store_.history(visible->order.order_id);
  if (!revisions) return errorResponse(revisions.error());
  return jsonResponse(200, Json{{"revisions", *revisions}}.dump());
}

}  // namespace fbg::ledger
