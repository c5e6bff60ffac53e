// Plays FIX session acceptance scenarios (.def files in the format of QuickFIX's acceptance
// definitions) against an acceptor on a TCP port, as the initiator side.
//
// A definition is read line by line; `#` starts a comment, blank lines are ignored. A line is an
// action letter, optionally a connection number and a comma (`I2,8=FIX.4.4...`; default 1), then
// its argument:
//   iCONNECT / iDISCONNECT   open / close the TCP connection
//   I<message>               send the message
//   E<message>               read one message and compare it with this one
//   eDISCONNECT              the acceptor must close the connection within 10 s, sending nothing
// Before use, <TIME>, <TIME+n> and <TIME-n> in a line become the UTC time (n seconds later or
// earlier) as YYYYMMDD-HH:MM:SS, and <FILE:path> the trimmed contents of that file. A message
// starting with 8= then gets a BodyLength (9) after the BeginString if it has none, and a CheckSum
// (10) at the end if it has none; ones given in the line are kept as written (garbled input).
//
// Comparison: the same tags in the same order and count; values equal, except CheckSum (three
// digits) and the time fields 42, 52, 60, 122 (a UTC timestamp, any precision), whose expected
// values are placeholders.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

namespace fbg::fixat {

struct ScenarioResult {
  std::string name;
  bool passed = false;
  std::string reason;  // why it failed, with the definition's line number
};

struct RunSummary {
  std::vector<ScenarioResult> results;
  [[nodiscard]] int passed() const;
  [[nodiscard]] int failed() const;
};

// The *.def files directly in `folder`, sorted by name; empty if the folder does not exist.
std::vector<std::filesystem::path> definitionFiles(const std::filesystem::path& folder);

// Plays one definition against host:port.
ScenarioResult runScenario(const std::filesystem::path& definition, const std::string& host,
                           int port);

// Plays each definition in turn, printing `PASS name` or `FAIL name: reason` per scenario and a
// final `N passed, M failed` line to `out`.
RunSummary runScenarios(const std::vector<std::filesystem::path>& definitions,
                        const std::string& host, int port, std::ostream& out);

// Whether something accepts TCP connections on host:port.
bool acceptsConnections(const std::string& host, int port);

}  // namespace fbg::fixat
