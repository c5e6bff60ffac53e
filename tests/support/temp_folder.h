#pragma once

#include <filesystem>
#include <string>

namespace fbg::test {

// Creates a new, empty, private folder $FBG_TEST_TMP/<prefix>XXXXXX (or /tmp/<prefix>XXXXXX)
// and returns its path. The caller removes it. Throws std::runtime_error on failure.
std::filesystem::path makeTempFolder(const std::string& prefix);

}  // namespace fbg::test
