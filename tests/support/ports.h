#pragma once

namespace fbg::test {

// A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it for a bind to port 0).
// Another process may take it before the caller binds it; the ephemeral range makes that rare.
// Throws std::runtime_error if no socket can be bound.
int freeLoopbackPort();

}  // namespace fbg::test
