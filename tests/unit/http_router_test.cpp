// HttpRouter::dispatch and the response helpers; no server is started.
#include <gtest/gtest.h>

#include <Poco/Exception.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/http.h"

namespace fbg {
namespace {

using Json = nlohmann::json;

// A handler that answers 200 with the route and the path parameters it was given.
HttpHandler echo(const std::string& tag) {
  return [tag](const HttpRequest& request) {
    Json body = {{"tag", tag}, {"route", request.route}, {"params", request.path_params}};
    return jsonResponse(200, body.dump());
  };
}

HttpRouter ledgerLikeRouter() {
  HttpRouter router;
  router.add("POST", "/v1/accounts", echo("create-account"));
  router.add("GET", "/v1/accounts/{account_id}", echo("get-account"));
  router.add("POST", "/v1/accounts/{account_id}/orders", echo("place-order"));
  router.add("GET", "/v1/accounts/{account_id}/orders", echo("list-orders"));
  router.add("GET", "/v1/orders/{order_id}", echo("get-order"));
  router.add("DELETE", "/v1/orders/{order_id}", echo("cancel-order"));
  router.add("GET", "/v1/orders/{order_id}/history", echo("history"));
  router.add("GET", "/healthz", echo("healthz"));
  return router;
}

HttpResponse dispatch(const HttpRouter& router, const std::string& method, const std::string& path,
                      HttpRequest* seen = nullptr) {
  HttpRequest request;
  request.method = method;
  request.path = path;
  HttpResponse response = router.dispatch(request);
  if (seen) *seen = request;
  return response;
}

Json bodyOf(const HttpResponse& response) {
  return Json::parse(response.body);
}

// ---------------------------------------------------------------- matching

TEST(HttpRouter, DispatchesToTheMatchingMethodAndPattern) {
  const HttpRouter router = ledgerLikeRouter();
  struct Case {
    std::string method, path, tag;
  };
  for (const Case& c : std::vector<Case>{
           {"POST", "/v1/accounts", "create-account"},
           {"GET", "/v1/accounts/ACC-1", "get-account"},
           {"POST", "/v1/accounts/ACC-1/orders", "place-order"},
           {"GET", "/v1/accounts/ACC-1/orders", "list-orders"},
           {"GET", "/v1/orders/O123", "get-order"},
           {"DELETE", "/v1/orders/O123", "cancel-order"},
           {"GET", "/v1/orders/O123/history", "history"},
           {"GET", "/healthz", "healthz"},
       }) {
    const auto response = dispatch(router, c.method, c.path);
    ASSERT_EQ(response.status, 200) << c.method << " " << c.path << ": " << response.body;
    EXPECT_EQ(bodyOf(response)["tag"], c.tag) << c.method << " " << c.path;
  }
}

TEST(HttpRouter, SetsRouteAndPathParams) {
  const HttpRouter router = ledgerLikeRouter();
  HttpRequest seen;
  const auto response = dispatch(router, "POST", "/v1/accounts/ACC-7/orders", &seen);
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(seen.route, "/v1/accounts/{account_id}/orders");
  EXPECT_EQ(seen.path_params, (std::map<std::string, std::string>{{"account_id", "ACC-7"}}));
  EXPECT_EQ(bodyOf(response)["params"]["account_id"], "ACC-7");
}

TEST(HttpRouter, SeveralPathParams) {
  HttpRouter router;
  router.add("GET", "/v1/{a}/x/{b}", echo("two"));
  HttpRequest seen;
  ASSERT_EQ(dispatch(router, "GET", "/v1/first/x/second", &seen).status, 200);
  EXPECT_EQ(seen.path_params.at("a"), "first");
  EXPECT_EQ(seen.path_params.at("b"), "second");
  EXPECT_EQ(seen.path_params.size(), 2u);
}

TEST(HttpRouter, PathParamsArePercentDecoded) {
  const HttpRouter router = ledgerLikeRouter();
  HttpRequest seen;
  ASSERT_EQ(dispatch(router, "GET", "/v1/accounts/ACC%2D1", &seen).status, 200);
  EXPECT_EQ(seen.path_params.at("account_id"), "ACC-1");
  ASSERT_EQ(dispatch(router, "GET", "/v1/accounts/A%20B", &seen).status, 200);
  EXPECT_EQ(seen.path_params.at("account_id"), "A B");
  ASSERT_EQ(dispatch(router, "GET", "/v1/accounts/A%2FB", &seen).status, 200);
  EXPECT_EQ(seen.path_params.at("account_id"), "A/B");
  ASSERT_EQ(dispatch(router, "GET", "/v1/accounts/%C3%84", &seen).status, 200);
  EXPECT_EQ(seen.path_params.at("account_id"), "\xC3\x84");
}

TEST(HttpRouter, LiteralSegmentsMustMatchExactly) {
  const HttpRouter router = ledgerLikeRouter();
  EXPECT_EQ(dispatch(router, "GET", "/v1/orders/O1/History").status, 404);
  EXPECT_EQ(dispatch(router, "GET", "/V1/orders/O1").status, 404);
  EXPECT_EQ(dispatch(router, "GET", "/v2/orders/O1").status, 404);
}

// ---------------------------------------------------------------- 404 and 405

TEST(HttpRouter, UnknownPathIs404NotFound) {
  const HttpRouter router = ledgerLikeRouter();
  for (const std::string& path :
       std::vector<std::string>{"/", "/v1", "/v1/orders", "/v1/orders/O1/history/extra",
                                "/v1/accounts/ACC-1/positions", "/nope", ""}) {
    HttpRequest seen;
    const auto response = dispatch(router, "GET", path, &seen);
    EXPECT_EQ(response.status, 404) << path;
    EXPECT_EQ(response.content_type, "application/json");
    EXPECT_EQ(bodyOf(response)["error"]["code"], "NOT_FOUND") << path;
    EXPECT_EQ(seen.route, "not_found");
    EXPECT_TRUE(seen.path_params.empty());
  }
}

TEST(HttpRouter, KnownPathWithOtherMethodIs405) {
  const HttpRouter router = ledgerLikeRouter();
  struct Case {
    std::string method, path;
  };
  for (const Case& c : std::vector<Case>{{"GET", "/v1/accounts"},
                                         {"DELETE", "/v1/accounts/ACC-1"},
                                         {"PUT", "/v1/orders/O1"},
                                         {"POST", "/v1/orders/O1/history"},
                                         {"get", "/healthz"},
                                         {"POST", "/healthz"}}) {
    HttpRequest seen;
    const auto response = dispatch(router, c.method, c.path, &seen);
    EXPECT_EQ(response.status, 405) << c.method << " " << c.path;
    const Json body = bodyOf(response);
    ASSERT_TRUE(body.contains("error")) << response.body;
    EXPECT_TRUE(body["error"]["message"].get<std::string>().find(c.method) != std::string::npos);
    EXPECT_EQ(seen.route, "method_not_allowed");
  }
}

TEST(HttpRouter, EmptyRouterAnswers404) {
  const HttpRouter router;
  EXPECT_EQ(dispatch(router, "GET", "/anything").status, 404);
}

// The ledger routes take ids from the path; a stray '%' in one must be answered (400 or 404),
// not thrown out of dispatch. HttpServer passes Poco::URI::getPath(), which is already decoded,
// so GET /v1/orders/%25 reaches the router as "/v1/orders/%" (and the server turns the exception
// into 500 INTERNAL).
TEST(HttpRouter, MalformedPercentEscapeInAPathParamIsAnsweredNotThrown) {
  const HttpRouter router = ledgerLikeRouter();
  for (const std::string& path :
       std::vector<std::string>{"/v1/orders/%", "/v1/orders/100%", "/v1/orders/%zz"}) {
    try {
      const HttpResponse response = dispatch(router, "GET", path);
      EXPECT_TRUE(response.status == 400 || response.status == 404)
          << path << " -> " << response.status;
    } catch (const Poco::Exception& failure) {
      ADD_FAILURE() << "GET " << path << " threw " << failure.displayText();
    } catch (const std::exception& failure) {
      ADD_FAILURE() << "GET " << path << " threw " << failure.what();
    }
  }
}

// ---------------------------------------------------------------- helpers

TEST(HttpResponseHelpers, ErrorResponseHasTheApiShapeAndStatus) {
  struct Case {
    ErrorCode code;
    int status;
    std::string name;
  };
  for (const Case& c : std::vector<Case>{
           {ErrorCode::InvalidRequest, 400, "INVALID_REQUEST"},
           {ErrorCode::Unauthenticated, 401, "UNAUTHENTICATED"},
           {ErrorCode::Forbidden, 403, "FORBIDDEN"},
           {ErrorCode::NotFound, 404, "NOT_FOUND"},
           {ErrorCode::AlreadyExists, 409, "ALREADY_EXISTS"},
           {ErrorCode::OrderNotCancelable, 409, "ORDER_NOT_CANCELABLE"},
           {ErrorCode::AccountBusy, 409, "ACCOUNT_BUSY"},
           {ErrorCode::PayloadTooLarge, 413, "PAYLOAD_TOO_LARGE"},
           {ErrorCode::InsufficientFunds, 422, "INSUFFICIENT_FUNDS"},
           {ErrorCode::InsufficientPosition, 422, "INSUFFICIENT_POSITION"},
           {ErrorCode::UnsupportedOrder, 422, "UNSUPPORTED_ORDER"},
           {ErrorCode::IdempotencyKeyReused, 422, "IDEMPOTENCY_KEY_REUSED"},
           {ErrorCode::Unavailable, 503, "UNAVAILABLE"},
           {ErrorCode::Internal, 500, "INTERNAL"},
       }) {
    const auto response = errorResponse(makeError(c.code, "why \"quoted\" é"));
    EXPECT_EQ(response.status, c.status) << c.name;
    EXPECT_EQ(response.content_type, "application/json");
    const Json body = bodyOf(response);
    EXPECT_EQ(body, (Json{{"error", {{"code", c.name}, {"message", "why \"quoted\" é"}}}}));
  }
}

TEST(HttpResponseHelpers, JsonResponseKeepsStatusAndBody) {
  const auto response = jsonResponse(202, R"({"status":"PENDING_NEW"})");
  EXPECT_EQ(response.status, 202);
  EXPECT_EQ(response.body, R"({"status":"PENDING_NEW"})");
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_TRUE(response.headers.empty());
}

TEST(HttpRequestAccessors, HeaderAndQueryLookups) {
  HttpRequest request;
  request.headers["idempotency-key"] = "k-1";
  request.query["limit"] = "10";
  request.query["cursor"] = "";
  EXPECT_EQ(request.header("idempotency-key"), "k-1");
  EXPECT_EQ(request.header("x-channel"), "");
  ASSERT_NE(request.queryParam("limit"), nullptr);
  EXPECT_EQ(*request.queryParam("limit"), "10");
  ASSERT_NE(request.queryParam("cursor"), nullptr);
  EXPECT_EQ(*request.queryParam("cursor"), "");
  EXPECT_EQ(request.queryParam("status"), nullptr);
}

}  // namespace
}  // namespace fbg
