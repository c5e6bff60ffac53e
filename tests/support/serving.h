#pragma once

#include <chrono>

#include "support/process.h"

namespace fbg::test {

// Waits until `process` answers GET /healthz on 127.0.0.1:`port` with 200, for at most
// `deadline`. Returns false at once if the process exits first: a start that failed (a taken
// port, a bad config) shows in its log now rather than after the whole deadline.
[[nodiscard]] bool waitUntilServing(ChildProcess& process, int port,
                                    std::chrono::milliseconds deadline = std::chrono::seconds(30));

}  // namespace fbg::test
