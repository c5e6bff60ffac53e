#pragma once

#include <map>
#include <memory>
#include <string>

namespace Poco::Net {
class HTTPClientSession;
}

namespace fbg::test {

struct HttpResponse {
  int status = 0;  // 0: no HTTP answer (connection refused, timeout, ...); the error is in body
  std::map<std::string, std::string> headers;  // names lowercased; a repeated header keeps its last
  std::string body;
};

// One HTTP/1.1 request to 127.0.0.1:port on a new connection. `path` includes any query string.
// A non-empty body without a Content-Type header is sent as application/json. timeout_ms bounds
// the connect and each send and receive. Never throws: failures give status 0.
HttpResponse httpRequest(int port, const std::string& method, const std::string& path,
                         const std::map<std::string, std::string>& headers = {},
                         const std::string& body = {}, int timeout_ms = 10000);

// One keep-alive HTTP/1.1 connection to 127.0.0.1:port, reused request after request, as an
// automated channel or an API gateway in front of the ledger holds its connections. Opened at
// the first request and again after a transport failure (the server closed it while idle, or
// restarted): the failed request gives status 0, as httpRequest's do, and the caller decides
// whether to send it again. Requests go one after another: one instance per thread. Never
// throws.
class HttpConnection {
 public:
  explicit HttpConnection(int port, int timeout_ms = 10000);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  HttpResponse request(const std::string& method, const std::string& path,
                       const std::map<std::string, std::string>& headers = {},
                       const std::string& body = {});
  // Connections opened so far (1 while the server keeps the first one).
  [[nodiscard]] int connectionsOpened() const { return connections_opened_; }

 private:
  int port_;
  int timeout_ms_;
  int connections_opened_ = 0;
  std::unique_ptr<Poco::Net::HTTPClientSession> session_;
};

}  // namespace fbg::test
