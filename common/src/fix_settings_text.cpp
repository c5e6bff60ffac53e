#include "common/fix_settings_text.h"

#include <fstream>
#include <regex>
#include <sstream>

namespace fbg {

Result<std::string> loadFixSettings(const FixSettingsSources& sources) {
  std::ifstream file(sources.settings_file);
  if (!file) {
    return makeError(ErrorCode::InvalidRequest, "cannot read " + sources.settings_file);
  }
  std::ostringstream read;
  read << file.rdbuf();
  std::string text = read.str();
  text = std::regex_replace(text, std::regex(R"(\$\{FIX_CONFIG_DIR\})"), sources.fix_config_dir);
  text = std::regex_replace(text, std::regex(R"(\$\{RUN_DIR\})"), sources.run_dir);
  if (sources.accept_port != 0) {
    text = std::regex_replace(text, std::regex("SocketAcceptPort=[0-9]+"),
                              "SocketAcceptPort=" + std::to_string(sources.accept_port));
  }
  if (sources.connect_port != 0) {
    text = std::regex_replace(text, std::regex("SocketConnectPort=[0-9]+"),
                              "SocketConnectPort=" + std::to_string(sources.connect_port));
  }
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line[0] != '#' && line.find("${") != std::string::npos) {
      return makeError(ErrorCode::InvalidRequest,
                       sources.settings_file + ": unknown placeholder in: " + line);
    }
  }
  return text;
}

}  // namespace fbg
