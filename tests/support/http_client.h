#pragma once

#include <map>
#include <string>

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

}  // namespace fbg::test
