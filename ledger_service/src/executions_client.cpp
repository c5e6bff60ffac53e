#include "executions_client.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

namespace fbg::ledger {

Result<nlohmann::json> fetchExecutionsPage(const ExecutionsEndpoint& endpoint, int64_t after,
                                           int limit) {
  try {
    Poco::Net::HTTPClientSession session(endpoint.host, static_cast<Poco::UInt16>(endpoint.port));
    session.setTimeout(Poco::Timespan(0, static_cast<long>(endpoint.timeout_ms) * 1000));
    Poco::Net::HTTPRequest request(
        Poco::Net::HTTPRequest::HTTP_GET,
        "/v1/executions?after=" + std::to_string(after) + "&limit=" + std::to_string(limit));
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::string text;
    Poco::StreamCopier::copyToString(session.receiveResponse(response), text);
    nlohmann::json body = nlohmann::json::parse(text, nullptr, false);
    if (response.getStatus() != Poco::Net::HTTPResponse::HTTP_OK || !body.is_object()) {
      return makeError(ErrorCode::Unavailable,
                       "fill receiver answered " + std::to_string(response.getStatus()));
    }
    return body;
  } catch (const std::exception& failure) {
    return makeError(ErrorCode::Unavailable, std::string("fill receiver: ") + failure.what());
  }
}

}  // namespace fbg::ledger
