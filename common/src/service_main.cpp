#include "common/service_main.h"

namespace fbg {

std::optional<ServiceCommandLine> parseServiceCommandLine(int argc, char** argv) {
  if (argc < 2) return std::nullopt;
  ServiceCommandLine line;
  line.command = argv[1];
  if (line.command == "config-help") return argc == 2 ? std::optional(line) : std::nullopt;
  if (line.command != "serve") return std::nullopt;
  for (int i = 2; i < argc; i += 2) {
    if (i + 1 >= argc) return std::nullopt;
    const std::string flag = argv[i];
    if (flag == "--config") {
      line.config_path = argv[i + 1];
    } else if (flag == "--set") {
      line.overrides.push_back(argv[i + 1]);
    } else {
      return std::nullopt;
    }
  }
  if (line.config_path.empty()) return std::nullopt;
  return line;
}

}  // namespace fbg
