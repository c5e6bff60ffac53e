#include "common/http.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace fbg {
namespace {

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> segments;
  std::string segment;
  std::istringstream parts(path);
  while (std::getline(parts, segment, '/')) {
    if (!segment.empty()) segments.push_back(segment);
  }
  return segments;
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool matchRoute(const std::vector<std::string>& pattern, const std::vector<std::string>& path,
                std::map<std::string, std::string>& params) {
  if (pattern.size() != path.size()) return false;
  std::map<std::string, std::string> found;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const auto& want = pattern[i];
    if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
      std::string decoded;
      try {
        Poco::URI::decode(path[i], decoded);
      } catch (const Poco::SyntaxException&) {
        return false;  // a malformed %-escape matches no route
      }
      found[want.substr(1, want.size() - 2)] = decoded;
    } else if (want != path[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

}  // namespace

std::string HttpRequest::header(const std::string& lowercase_name) const {
  auto it = headers.find(lowercase_name);
  return it == headers.end() ? std::string() : it->second;
}

const std::string* HttpRequest::queryParam(const std::string& name) const {
  auto it = query.find(name);
  return it == query.end() ? nullptr : &it->second;
}

HttpResponse errorResponse(const Error& error) {
  nlohmann::json body = {
      {"error", {{"code", errorCodeName(error.code)}, {"message", error.message}}}};
  return HttpResponse{errorHttpStatus(error.code), body.dump(), "application/json", {}};
}

HttpResponse jsonResponse(int status, std::string body) {
  return HttpResponse{status, std::move(body), "application/json", {}};
}

void HttpRouter::add(const std::string& method, const std::string& pattern, HttpHandler handler) {
  routes_.push_back(Route{method, pattern, splitPath(pattern), std::move(handler)});
}

HttpResponse HttpRouter::dispatch(HttpRequest& request) const {
  const auto segments = splitPath(request.path);
  bool path_known = false;
  for (const auto& route : routes_) {
    std::map<std::string, std::string> params;
    if (!matchRoute(route.segments, segments, params)) continue;
    path_known = true;
    if (route.method != request.method) continue;
    request.route = route.pattern;
    request.path_params = std::move(params);
    return route.handler(request);
  }
  if (path_known) {
    request.route = "method_not_allowed";
    auto response = errorResponse(makeError(ErrorCode::InvalidRequest,
                                            request.method + " is not allowed on " + request.path));
    response.status = 405;
    return response;
  }
  request.route = "not_found";
  return errorResponse(makeError(ErrorCode::NotFound, "no route " + request.path));
}

namespace {

class RequestHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  RequestHandler(const HttpRouter& router, const HttpServerConfig& config, MetricsRegistry& metrics)
      : router_(router), config_(config), metrics_(metrics) {}

  void handleRequest(Poco::Net::HTTPServerRequest& raw,
                     Poco::Net::HTTPServerResponse& response) override {
    const auto started = std::chrono::steady_clock::now();
    HttpRequest request;
    HttpResponse reply = readAndDispatch(raw, request);
    const auto elapsed = std::chrono::steady_clock::now() - started;
    const std::string route = request.route.empty() ? "unmatched" : request.route;
    metrics_
        .counter("http_requests_total", "HTTP requests by route, method and status.",
                 "route=\"" + route + "\",method=\"" + request.method + "\",status=\"" +
                     std::to_string(reply.status) + "\"")
        .add();
    metrics_
        .histogram("http_request_duration_seconds", "HTTP request latency by route.",
                   "route=\"" + route + "\"")
        .observeSeconds(std::chrono::duration<double>(elapsed).count());
    send(reply, response);
  }

 private:
  HttpResponse readAndDispatch(Poco::Net::HTTPServerRequest& raw, HttpRequest& request) {
    request.method = raw.getMethod();
    // The path stays percent-encoded until the router decodes each segment once; decoding it
    // here too would turn "%2541" into "A".
    const std::string& target = raw.getURI();
    request.path = target.substr(0, target.find('?'));
    try {
      for (const auto& [name, value] : Poco::URI(target).getQueryParameters()) {
        request.query[name] = value;
      }
    } catch (const Poco::SyntaxException&) {
      request.route = "bad_uri";
      return errorResponse(makeError(ErrorCode::InvalidRequest, "malformed request target"));
    }
    for (const auto& [name, value] : raw) request.headers[lowercase(name)] = value;
    if (raw.hasContentLength() &&
        raw.getContentLength64() > static_cast<Poco::Int64>(config_.body_bytes_max)) {
      request.route = "payload_too_large";
      // Drain a moderately large body so the client reads our 413 instead of a reset
      // connection; a huge one is not worth the bandwidth and gets the reset.
      if (raw.getContentLength64() <= kDrainBytesMax) drain(raw.stream());
      return tooLarge();
    }
    std::string body(config_.body_bytes_max + 1, '\0');
    raw.stream().read(body.data(), static_cast<std::streamsize>(body.size()));
    body.resize(static_cast<std::size_t>(raw.stream().gcount()));
    if (body.size() > config_.body_bytes_max) {
      request.route = "payload_too_large";
      return tooLarge();
    }
    request.body = std::move(body);
    try {
      return router_.dispatch(request);
    } catch (const std::exception& failure) {
      spdlog::error("{} {} failed: {}", request.method, request.path, failure.what());
      return errorResponse(makeError(ErrorCode::Internal, "internal error"));
    }
  }

  static constexpr Poco::Int64 kDrainBytesMax = Poco::Int64{4} * 1024 * 1024;

  static void drain(std::istream& stream) {
    char sink[16 * 1024];
    while (stream.read(sink, sizeof sink) || stream.gcount() > 0) {
    }
  }

  [[nodiscard]] HttpResponse tooLarge() const {
    auto reply =
        errorResponse(makeError(ErrorCode::PayloadTooLarge,
                                "body over " + std::to_string(config_.body_bytes_max) + " bytes"));
    reply.headers.emplace_back("Connection", "close");
    return reply;
  }

  static void send(const HttpResponse& reply, Poco::Net::HTTPServerResponse& response) {
    response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(reply.status));
    response.setContentType(reply.content_type);
    for (const auto& [name, value] : reply.headers) {
      if (name == "Connection" && value == "close") {
        response.setKeepAlive(false);
      } else {
        response.set(name, value);
      }
    }
    response.setContentLength64(static_cast<Poco::Int64>(reply.body.size()));
    response.send().write(reply.body.data(), static_cast<std::streamsize>(reply.body.size()));
  }

  const HttpRouter& router_;
  const HttpServerConfig& config_;
  MetricsRegistry& metrics_;
};

class HandlerFactory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  HandlerFactory(std::shared_ptr<const HttpRouter> router, const HttpServerConfig& config,
                 MetricsRegistry& metrics)
      : router_(std::move(router)), config_(config), metrics_(metrics) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new RequestHandler(*router_, config_, metrics_);
  }

 private:
  std::shared_ptr<const HttpRouter> router_;
  const HttpServerConfig& config_;
  MetricsRegistry& metrics_;
};

// The listening socket, with SO_REUSEADDR (a restart binds over the old connections' TIME_WAIT)
// and without SO_REUSEPORT: Poco's ServerSocket(address) sets both, and with SO_REUSEPORT a
// second process on the same port (a service started twice) listens beside the first and the
// kernel splits the connections between them, silently. Without it the second one fails here.
// Poco says only "Net Exception" in what(); the address and the system's reason are in
// displayText(), and they are what an operator needs.
Poco::Net::ServerSocket listenOn(const HttpServerConfig& config) {
  const std::string address = config.bind_address + ":" + std::to_string(config.port);
  try {
    Poco::Net::ServerSocket socket;
    socket.bind(
        Poco::Net::SocketAddress(config.bind_address, static_cast<Poco::UInt16>(config.port)),
        /*reuseAddress=*/true, /*reusePort=*/false);
    socket.listen(config.queue_length_max);
    return socket;
  } catch (const Poco::Exception& failure) {
    throw std::runtime_error("cannot listen on " + address + ": " + failure.displayText());
  }
}

}  // namespace

struct HttpServer::Impl {
  HttpServerConfig config;
  std::unique_ptr<Poco::ThreadPool> pool;
  std::unique_ptr<Poco::Net::HTTPServer> server;
  int port = 0;
};

HttpServer::HttpServer(HttpServerConfig config, std::shared_ptr<const HttpRouter> router,
                       MetricsRegistry& metrics)
    : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
  // The pool is ours so that threads_max bounds the request threads exactly.
  impl_->pool = std::make_unique<Poco::ThreadPool>(2, impl_->config.threads_max);
  // Reference-counted: a throw below (listenOn) must not leak it; HTTPServer shares it.
  Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(impl_->config.threads_max);
  params->setMaxQueued(impl_->config.queue_length_max);
  params->setKeepAlive(true);
  params->setKeepAliveTimeout(Poco::Timespan(impl_->config.keep_alive_timeout_ms * 1000L));
  params->setMaxKeepAliveRequests(0);  // unlimited requests per connection
  Poco::Net::ServerSocket socket = listenOn(impl_->config);
  impl_->port = socket.address().port();
  impl_->server = std::make_unique<Poco::Net::HTTPServer>(
      new HandlerFactory(std::move(router), impl_->config, metrics), *impl_->pool, socket, params);
}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::start() {
  impl_->server->start();
}

void HttpServer::stop() {
  if (impl_->server) impl_->server->stopAll(true);
}

int HttpServer::port() const {
  return impl_->port;
}

int HttpServer::connectionsAccepted() const {
  return impl_->server->totalConnections();
}

}  // namespace fbg
