// How every service process stops: SIGTERM and SIGINT are blocked in all threads (call
// blockStopSignals() first thing in main, before any thread starts) and main waits for one with
// waitForStopSignal(), then shuts down in order. SIGPIPE is ignored: a peer that closed its
// socket is an error value on the write, not the end of the process.
#pragma once

namespace fbg {

void blockStopSignals();
// Returns the signal that arrived.
int waitForStopSignal();

}  // namespace fbg
