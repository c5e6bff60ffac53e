// The command line of the gateway, the fill receiver and the simulator:
//
//   NAME serve --config FILE [--set key=value]...
//   NAME config-help
//
// runService parses it, prints the declared config for config-help, loads and checks the
// settings (exit 2 with a message naming the key on a bad file), and runs serve; an exception
// escaping serve is reported and exits 1.
#pragma once

#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/stop_signals.h"

namespace fbg {

struct ServiceCommandLine {
  std::string command;  // serve | config-help
  std::string config_path;
  std::vector<std::string> overrides;
};

// nullopt: not a valid command line.
[[nodiscard]] std::optional<ServiceCommandLine> parseServiceCommandLine(int argc, char** argv);

template <typename Settings>
int runService(const std::string& name, int argc, char** argv, const ConfigSchema& schema,
               const std::function<Result<Settings>(const std::string&,
                                                    const std::vector<std::string>&)>& load,
               const std::function<int(const Settings&)>& serve) {
  blockStopSignals();
  const auto line = parseServiceCommandLine(argc, argv);
  if (!line) {
    std::cerr << "usage: " << name << " serve --config FILE [--set key=value]... | config-help\n";
    return 2;
  }
  if (line->command == "config-help") {
    std::cout << Config::describe(schema);
    return 0;
  }
  auto settings = load(line->config_path, line->overrides);
  if (!settings) {
    std::cerr << name << ": " << settings.error().message << "\n";
    return 2;
  }
  try {
    return serve(*settings);
  } catch (const std::exception& failure) {
    std::cerr << name << ": " << failure.what() << "\n";
    return 1;
  }
}

}  // namespace fbg
