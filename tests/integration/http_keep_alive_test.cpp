// The test HTTP client's keep-alive connection (tests/support/http_client.h) against the real
// HttpServer of common/ on loopback: requests share one connection until the server closes it,
// then the next request opens a new one. bench/e2e.sh's keep-alive load depends on both.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/http.h"
#include "common/metrics.h"
#include "support/http_client.h"

namespace fbg {
namespace {

constexpr std::size_t kBodyBytesMax = 64;

class HttpKeepAliveTest : public ::testing::Test {
 protected:
  HttpKeepAliveTest() : server_(config(), router(), metrics_) { server_.start(); }

  static HttpServerConfig config() {
    HttpServerConfig config;
    config.threads_max = 4;
    config.body_bytes_max = kBodyBytesMax;
    return config;
  }

  static std::shared_ptr<const HttpRouter> router() {
    auto router = std::make_shared<HttpRouter>();
    router->add("GET", "/ping", [](const HttpRequest&) { return jsonResponse(200, "{}"); });
    router->add("POST", "/echo",
                [](const HttpRequest& request) { return jsonResponse(200, request.body); });
    return router;
  }

  MetricsRegistry metrics_;
  HttpServer server_;
};

TEST_F(HttpKeepAliveTest, RequestsShareOneConnection) {
  test::HttpConnection connection(server_.port());
  for (int i = 0; i < 5; ++i) {
    const test::HttpResponse response = connection.request("POST", "/echo", {}, "{\"i\":1}");
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(response.body, "{\"i\":1}");
  }
  EXPECT_EQ(connection.connectionsOpened(), 1);
  EXPECT_EQ(server_.connectionsAccepted(), 1);
}

TEST_F(HttpKeepAliveTest, ANewConnectionPerRequestWithoutIt) {
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(test::httpRequest(server_.port(), "GET", "/ping").status, 200);
  EXPECT_EQ(server_.connectionsAccepted(), 3);
}

// A body over the bound is answered 413 with "Connection: close": the server drops the
// connection, and the client's next request goes on a new one, answered.
TEST_F(HttpKeepAliveTest, ANewConnectionAfterTheServerClosedIt) {
  test::HttpConnection connection(server_.port());
  ASSERT_EQ(connection.request("GET", "/ping").status, 200);
  const test::HttpResponse refused =
      connection.request("POST", "/echo", {}, std::string(kBodyBytesMax + 1, 'x'));
  EXPECT_EQ(refused.status, 413) << refused.body;
  const test::HttpResponse after = connection.request("GET", "/ping");
  EXPECT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(connection.connectionsOpened(), 2);
  EXPECT_EQ(server_.connectionsAccepted(), 2);
}

// A stopped server: the request fails with status 0 and the error, and nothing is thrown.
TEST_F(HttpKeepAliveTest, AFailedRequestIsStatusZero) {
  test::HttpConnection connection(server_.port(), 2000);
  ASSERT_EQ(connection.request("GET", "/ping").status, 200);
  server_.stop();
  const test::HttpResponse failed = connection.request("GET", "/ping");
  EXPECT_EQ(failed.status, 0);
  EXPECT_FALSE(failed.body.empty());
}

}  // namespace
}  // namespace fbg
