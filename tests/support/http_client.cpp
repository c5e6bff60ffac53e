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

}  // namespace

HttpResponse httpRequest(int port, const std::string& method, const std::string& path,
                         const std::map<std::string, std::string>& headers, const std::string& body,
                         int timeout_ms) {
  try {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
    session.setTimeout(Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(timeout_ms) * 1000));
    Poco::Net::HTTPRequest request = makeRequest(method, path, headers, body);
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse poco_response;
    std::istream& body_stream = session.receiveResponse(poco_response);
    HttpResponse response;
    response.status = static_cast<int>(poco_response.getStatus());
    for (const auto& [name, value] : poco_response) response.headers[lowercase(name)] = value;
    Poco::StreamCopier::copyToString(body_stream, response.body);
    return response;
  } catch (const Poco::Exception& error) {
    return failure(method + " " + path + " on port " + std::to_string(port) + ": " +
                   error.displayText());
  } catch (const std::exception& error) {
    return failure(method + " " + path + " on port " + std::to_string(port) + ": " + error.what());
  }
}

}  // namespace fbg::test
