// The ctest entry fix_acceptance: starts a throwaway PostgreSQL and tools/fix_reflector on it,
// then plays every *.def in $FBG_FIX_AT_DEFINITIONS (default: FBG_FIX_AT_DEFAULT_DEFINITIONS)
// against the reflector. Skipped when that folder is absent or holds no definitions: the
// definitions are another project's data and are not kept in this repository.
// FBG_FIX_AT_DATA_DICTIONARY, if set, replaces the reflector's data dictionary
// (fix_config/FIX44.xml by default).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "scenario_runner.h"
#include "support/ports.h"
#include "support/postgres_instance.h"
#include "support/process.h"
#include "support/wait.h"

namespace {

std::filesystem::path definitionsFolder() {
  const char* from_env = std::getenv("FBG_FIX_AT_DEFINITIONS");
  if (from_env != nullptr && *from_env != '\0') return from_env;
  return FBG_FIX_AT_DEFAULT_DEFINITIONS;
}

TEST(FixAcceptance, DefinitionsPassAgainstTheReflector) {
  const std::filesystem::path folder = definitionsFolder();
  const auto definitions = fbg::fixat::definitionFiles(folder);
  if (definitions.empty()) {
    GTEST_SKIP() << "no *.def files in " << folder
                 << " (set FBG_FIX_AT_DEFINITIONS to a folder of FIX 4.4 acceptance definitions)";
  }

  fbg::test::PostgresInstance postgres;
  postgres.start();
  postgres.createDatabase("fix_reflector");

  const int port = fbg::test::freeLoopbackPort();
  const std::filesystem::path log = postgres.folder() / "fix_reflector.log";
  std::vector<std::string> arguments = {"--port", std::to_string(port), "--postgres-uri",
                                        postgres.uri("fix_reflector")};
  const char* dictionary = std::getenv("FBG_FIX_AT_DATA_DICTIONARY");
  if (dictionary != nullptr && *dictionary != '\0') {
    arguments.insert(arguments.end(), {"--data-dictionary", dictionary});
  }
  fbg::test::ChildProcess reflector;
  reflector.launch(FBG_FIX_REFLECTOR_BINARY, arguments, {}, log);
  const bool listening = fbg::test::waitUntil(
      [&] { return !reflector.isRunning() || fbg::fixat::acceptsConnections("127.0.0.1", port); },
      std::chrono::seconds(30), std::chrono::milliseconds(50));
  ASSERT_TRUE(listening && reflector.isRunning()) << "fix_reflector did not start listening:\n"
                                                  << fbg::test::logTail(log);

  const auto summary = fbg::fixat::runScenarios(definitions, "127.0.0.1", port, std::cout);
  EXPECT_EQ(summary.failed(), 0) << summary.failed() << " scenario(s) failed; reflector log:\n"
                                 << fbg::test::logTail(log);
  EXPECT_TRUE(reflector.isRunning()) << fbg::test::logTail(log);
  reflector.terminate(5000);
}

}  // namespace
