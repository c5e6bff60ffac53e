#include "support/serving.h"

#include "support/http_client.h"
#include "support/wait.h"

namespace fbg::test {

namespace {
constexpr int kHealthzTimeoutMs = 500;  // one probe; the loop retries until the deadline
}  // namespace

bool waitUntilServing(ChildProcess& process, int port, std::chrono::milliseconds deadline) {
  const bool settled = waitUntil(
      [&] {
        return !process.isRunning() ||
               httpRequest(port, "GET", "/healthz", {}, {}, kHealthzTimeoutMs).status == 200;
      },
      deadline);
  return settled && process.isRunning();
}

}  // namespace fbg::test
