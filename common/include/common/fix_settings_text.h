// QuickFIX session settings as our processes load them: the file of fix_config/ with its
// placeholders filled and the ports overridden from the process's own config (fix_config/README.md,
// "Placeholders"). A placeholder left over is refused, never left empty.
#pragma once

#include <string>

#include "common/result.h"

namespace fbg {

struct FixSettingsSources {
  std::string settings_file;   // fix_config/<process>.cfg
  std::string fix_config_dir;  // replaces ${FIX_CONFIG_DIR}
  std::string run_dir;         // replaces ${RUN_DIR}
  int accept_port = 0;         // replaces every SocketAcceptPort when not 0
  int connect_port = 0;        // replaces every SocketConnectPort when not 0
};

// INVALID_REQUEST naming the file or the line when it cannot be read or keeps a placeholder.
[[nodiscard]] Result<std::string> loadFixSettings(const FixSettingsSources& sources);

}  // namespace fbg
