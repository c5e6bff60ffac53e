// A small HTTP/1.1 server over Poco::Net with a method+pattern router. Handlers see plain
// structs, never Poco types. Request threads, queued connections and body size are bounded by
// the caller's config; a body over the bound is answered 413 without being read.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "common/result.h"

namespace fbg {

struct HttpRequest {
  std::string method;
  std::string path;
  std::string route;                           // the matched pattern, e.g. /v1/orders/{order_id}
  std::map<std::string, std::string> headers;  // names lowercased
  std::map<std::string, std::string> query;    // decoded
  std::map<std::string, std::string> path_params;  // decoded
  std::string body;

  [[nodiscard]] std::string header(const std::string& lowercase_name) const;
  [[nodiscard]] const std::string* queryParam(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

// {"error": {"code": "...", "message": "..."}} with the status of API.md's table.
[[nodiscard]] HttpResponse errorResponse(const Error& error);
[[nodiscard]] HttpResponse jsonResponse(int status, std::string body);

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpRouter {
 public:
  // pattern: literal segments and {name} placeholders, e.g. "/v1/accounts/{account_id}".
  void add(const std::string& method, const std::string& pattern, HttpHandler handler);
  // 404 for an unknown path, 405 for a known path with another method.
  [[nodiscard]] HttpResponse dispatch(HttpRequest& request) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    HttpHandler handler;
  };
  std::vector<Route> routes_;
};

struct HttpServerConfig {
  std::string bind_address = "127.0.0.1";
  int port = 0;
  int threads_max = 32;
  int queue_length_max = 256;
  std::size_t body_bytes_max = std::size_t{64} * 1024;
  int keep_alive_timeout_ms = 10'000;
};

class HttpServer {
 public:
  // Listens at once; throws std::runtime_error naming the address when it cannot (the port is
  // taken, by another process of ours too: no SO_REUSEPORT). Serves from start().
  HttpServer(HttpServerConfig config, std::shared_ptr<const HttpRouter> router,
             MetricsRegistry& metrics);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void start();
  void stop();
  [[nodiscard]] int port() const;
  // Connections accepted since start (a client that keeps its connection alive counts once).
  [[nodiscard]] int connectionsAccepted() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fbg
