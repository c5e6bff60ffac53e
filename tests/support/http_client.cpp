#include "support/http_client.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/Timespan.h>

#include <algorithm>
#include <cctype>
#include <exception>

namespace fbg::test {

namespace {

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char character) { return std::tolower(character); });
  return text;
}

HttpResponse failure(const std::string& what) {
  HttpResponse response;
  response.body = what;
  return response;
}

Poco::Net::HTTPRequest makeRequest(const std::string& method, const std::string& path,
                                   const std::map<std::string, std::string>& headers,
                                   const std::string& body) {
  Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  bool has_content_type = false;
  for (const auto& [name, value] : headers) {
    request.set(name, value);
    has_content_type = has_content_type || lowercase(name) == "content-type";
  }
  if (!body.empty() && !has_content_type) request.setContentType("application/json");
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    request.setContentLength(static_cast<std::streamsize>(body.size()));
  }
  return request;
}

// Status, headers and body of an answer read from a session.
HttpResponse readResponse(Poco::Net::HTTPClientSession& session) {
  Poco::Net::HTTPResponse poco_response;
  std::istream& body_stream = session.receiveResponse(poco_response);
  HttpResponse response;
  response.status = static_cast<int>(poco_response.getStatus());
  for (const auto& [name, value] : poco_response) response.headers[lowercase(name)] = value;
  Poco::StreamCopier::copyToString(body_stream, response.body);
  return response;
}

Poco::Timespan timeoutOf(int timeout_ms) {
  return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(timeout_ms) * 1000);
}

}  // namespace

HttpResponse httpRequest(int port, const std::string& method, const std::string& path,
                         const std::map<std::string, std::string>& headers, const std::string& body,
                         int timeout_ms) {
  try {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
    session.setTimeout(timeoutOf(timeout_ms));
    Poco::Net::HTTPRequest request = makeRequest(method, path, headers, body);
    session.sendRequest(request) << body;
    return readResponse(session);
  } catch (const Poco::Exception& error) {
    return failure(method + " " + path + " on port " + std::to_string(port) + ": " +
                   error.displayText());
  } catch (const std::exception& error) {
    return failure(method + " " + path + " on port " + std::to_string(port) + ": " + error.what());
  }
}

HttpConnection::HttpConnection(int port, int timeout_ms) : port_(port), timeout_ms_(timeout_ms) {}

HttpConnection::~HttpConnection() = default;

HttpResponse HttpConnection::request(const std::string& method, const std::string& path,
                                     const std::map<std::string, std::string>& headers,
                                     const std::string& body) {
  try {
    if (!session_) {
      session_ = std::make_unique<Poco::Net::HTTPClientSession>("127.0.0.1",
                                                                static_cast<Poco::UInt16>(port_));
      session_->setKeepAlive(true);
      session_->setTimeout(timeoutOf(timeout_ms_));
      ++connections_opened_;
    }
    Poco::Net::HTTPRequest request = makeRequest(method, path, headers, body);
    request.setKeepAlive(true);
    session_->sendRequest(request) << body;
    HttpResponse response = readResponse(*session_);
    if (response.headers.count("connection") != 0 &&
        lowercase(response.headers["connection"]) == "close")
      session_.reset();  // the server closes it after this answer
    return response;
  } catch (const Poco::Exception& error) {
    session_.reset();  // the next request opens a new connection
    return failure(method + " " + path + " on port " + std::to_string(port_) + ": " +
                   error.displayText());
  } catch (const std::exception& error) {
    session_.reset();
    return failure(method + " " + path + " on port " + std::to_string(port_) + ": " + error.what());
  }
}

}  // namespace fbg::test
