#include "support/temp_folder.h"

#include <stdlib.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace fbg::test {

std::filesystem::path makeTempFolder(const std::string& prefix) {
  const char* configured_root = std::getenv("FBG_TEST_TMP");
  const std::filesystem::path root =
      configured_root != nullptr && *configured_root != '\0' ? configured_root : "/tmp";
  std::filesystem::create_directories(root);
  const std::string pattern = (root / (prefix + "XXXXXX")).string();
  std::vector<char> path(pattern.begin(), pattern.end());
  path.push_back('\0');
  if (::mkdtemp(path.data()) == nullptr) {
    throw std::runtime_error("makeTempFolder: mkdtemp " + pattern + ": " + std::strerror(errno));
  }
  return std::filesystem::path(path.data());
}

}  // namespace fbg::test
