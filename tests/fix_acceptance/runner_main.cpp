// fix_at_runner [--host ADDRESS] --port PORT FOLDER
// Plays every *.def in FOLDER against the acceptor on ADDRESS:PORT (default 127.0.0.1); see
// scenario_runner.h. Exit code 0 if all passed, 1 if any failed, 2 on bad usage or no definitions.
#include <iostream>
#include <string>

#include "scenario_runner.h"

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string folder;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--host" && i + 1 < argc) {
      host = argv[++i];
    } else if (arg == "--port" && i + 1 < argc) {
      port = std::stoi(argv[++i]);
    } else if (folder.empty() && !arg.starts_with("--")) {
      folder = arg;
    } else {
      folder.clear();
      break;
    }
  }
  if (port <= 0 || folder.empty()) {
    std::cerr << "usage: " << argv[0] << " [--host ADDRESS] --port PORT DEFINITIONS_FOLDER\n";
    return 2;
  }
  const auto definitions = fbg::fixat::definitionFiles(folder);
  if (definitions.empty()) {
    std::cerr << "no *.def files in " << folder << "\n";
    return 2;
  }
  const auto summary = fbg::fixat::runScenarios(definitions, host, port, std::cout);
  return summary.failed() == 0 ? 0 : 1;
}
