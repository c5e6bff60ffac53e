// Declared configuration: parsing, defaults, overrides, and errors that name the key.
#include <gtest/gtest.h>

#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "common/config.h"

namespace fbg {
namespace {

using T = ConfigType;

ConfigSchema schema() {
  return {
      {"port", T::Integer, "8080", "listen port", 1, 65535},
      {"retries", T::Integer, "3", "retry count", 0, 10},
      {"name", T::String, "ledger", "service name"},
      {"notional_max", T::Money, "1000000.00", "largest notional"},
      {"verbose", T::Boolean, "false", "chatty logs"},
      {"brokers", T::List, "SIM-A,SIM-B", "routing targets"},
      {"secret", T::String, std::nullopt, "signing secret"},
  };
}

Config parsedOk(const std::string& text, const std::vector<std::string>& overrides = {}) {
  auto config = Config::parse(schema(), text, overrides);
  EXPECT_TRUE(config.has_value()) << (config ? "" : config.error().message);
  if (!config) return *Config::parse(schema(), "secret = x", {});
  return *config;
}

// The error message for a refused configuration; empty (and a failed expectation) if accepted.
std::string refusal(const std::string& text, const std::vector<std::string>& overrides = {}) {
  auto config = Config::parse(schema(), text, overrides);
  EXPECT_FALSE(config.has_value()) << "accepted:\n" << text;
  if (config) return "";
  EXPECT_EQ(config.error().code, ErrorCode::InvalidRequest);
  return config.error().message;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Config, DefaultsApplyWhenOnlyRequiredKeysAreGiven) {
  const Config config = parsedOk("secret = s3cret\n");
  EXPECT_EQ(config.integer("port"), 8080);
  EXPECT_EQ(config.integer("retries"), 3);
  EXPECT_EQ(config.string("name"), "ledger");
  EXPECT_EQ(config.money("notional_max"), Money::fromWhole(1'000'000));
  EXPECT_FALSE(config.boolean("verbose"));
  EXPECT_EQ(config.list("brokers"), (std::vector<std::string>{"SIM-A", "SIM-B"}));
  EXPECT_EQ(config.string("secret"), "s3cret");
}

TEST(Config, ParsesEveryTypeWithCommentsBlankLinesAndSpaces) {
  const Config config = parsedOk(
      "# a comment line\n"
      "\n"
      "   port=9090   # trailing comment\n"
      "\tretries = 0\r\n"
      "name = my service\n"
      "notional_max = 2500.5\n"
      "verbose = true\n"
      "brokers = SIM-A , SIM-C,, SIM-B \n"
      "secret = a=b\n");
  EXPECT_EQ(config.integer("port"), 9090);
  EXPECT_EQ(config.integer("retries"), 0);
  EXPECT_EQ(config.string("name"), "my service");
  EXPECT_EQ(config.money("notional_max"), *Money::parse("2500.50"));
  EXPECT_TRUE(config.boolean("verbose"));
  EXPECT_EQ(config.list("brokers"), (std::vector<std::string>{"SIM-A", "SIM-C", "SIM-B"}));
  EXPECT_EQ(config.string("secret"), "a=b");  // only the first '=' separates
}

TEST(Config, IntegerBoundsAreInclusive) {
  EXPECT_EQ(parsedOk("secret=x\nport=1").integer("port"), 1);
  EXPECT_EQ(parsedOk("secret=x\nport=65535").integer("port"), 65535);
  EXPECT_EQ(parsedOk("secret=x\nretries=10").integer("retries"), 10);
}

TEST(Config, UnknownKeyIsRefusedNamingKeyAndLine) {
  const auto message = refusal("secret = x\nprot = 80\n");
  EXPECT_TRUE(contains(message, "'prot'")) << message;
  EXPECT_TRUE(contains(message, "line 2")) << message;
}

TEST(Config, WrongTypesAreRefusedNamingTheKey) {
  struct Case {
    std::string line;
    std::string key;
  };
  for (const Case& bad : std::vector<Case>{
           {"port = eighty", "port"},
           {"port = 80x", "port"},
           {"port = 80.0", "port"},
           {"port = +80", "port"},
           {"port = ", "port"},
           {"port = 99999999999999999999999", "port"},
           {"notional_max = 1.23456", "notional_max"},
           {"notional_max = 1e6", "notional_max"},
           {"notional_max = lots", "notional_max"},
           {"verbose = yes", "verbose"},
           {"verbose = TRUE", "verbose"},
           {"verbose = 1", "verbose"},
       }) {
    const auto message = refusal("secret = x\n" + bad.line + "\n");
    EXPECT_TRUE(contains(message, "'" + bad.key + "'")) << bad.line << " -> " << message;
  }
}

TEST(Config, OutOfRangeIsRefusedNamingKeyAndRange) {
  auto message = refusal("secret = x\nport = 0\n");
  EXPECT_TRUE(contains(message, "'port'")) << message;
  EXPECT_TRUE(contains(message, "1..65535")) << message;
  message = refusal("secret = x\nport = 65536\n");
  EXPECT_TRUE(contains(message, "'port'")) << message;
  message = refusal("secret = x\nretries = -1\n");
  EXPECT_TRUE(contains(message, "'retries'")) << message;
  EXPECT_TRUE(contains(message, "0..10")) << message;
}

TEST(Config, MissingRequiredKeyIsRefusedNamingIt) {
  const auto message = refusal("port = 80\n");
  EXPECT_TRUE(contains(message, "'secret'")) << message;
  EXPECT_TRUE(contains(message, "required")) << message;
}

TEST(Config, LineWithoutEqualsIsRefusedNamingTheLine) {
  const auto message = refusal("secret = x\n\nport 80\n");
  EXPECT_TRUE(contains(message, "line 3")) << message;
}

TEST(Config, OverridesApplyAfterTheFile) {
  const Config config = parsedOk("secret = file\nport = 81\n", {"port=82", "secret = cli "});
  EXPECT_EQ(config.integer("port"), 82);
  EXPECT_EQ(config.string("secret"), "cli");
}

TEST(Config, OverridesCanSupplyARequiredKey) {
  const Config config = parsedOk("", {"secret=from-override"});
  EXPECT_EQ(config.string("secret"), "from-override");
}

TEST(Config, BadOverridesAreRefused) {
  auto message = refusal("secret = x\n", {"prot=1"});
  EXPECT_TRUE(contains(message, "'prot'")) << message;
  EXPECT_TRUE(contains(message, "override")) << message;
  message = refusal("secret = x\n", {"port"});
  EXPECT_TRUE(contains(message, "'port'")) << message;
  message = refusal("secret = x\n", {"port=70000"});
  EXPECT_TRUE(contains(message, "'port'")) << message;
  message = refusal("secret = x\n", {"verbose=maybe"});
  EXPECT_TRUE(contains(message, "'verbose'")) << message;
}

TEST(Config, OverrideCannotRescueABadFileValue) {
  // The file is checked line by line before overrides are applied.
  const auto message = refusal("secret = x\nport = nope\n", {"port=80"});
  EXPECT_TRUE(contains(message, "'port'")) << message;
}

TEST(Config, DescribeListsEveryKeyWithTypeDefaultAndDescription) {
  const std::string text = Config::describe(schema());
  EXPECT_TRUE(contains(text, "port (integer, default '8080'): listen port")) << text;
  EXPECT_TRUE(contains(text, "notional_max (money, default '1000000.00'): largest notional"));
  EXPECT_TRUE(contains(text, "verbose (boolean, default 'false')"));
  EXPECT_TRUE(contains(text, "brokers (list, default 'SIM-A,SIM-B')"));
  EXPECT_TRUE(contains(text, "secret (string, required): signing secret")) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), static_cast<long>(schema().size()));
}

TEST(ConfigLoad, ReadsAFileAndAppliesOverrides) {
  char path[] = "/tmp/fbg_unit_config_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream file(path);
    file << "secret = from-file\nretries = 7\n";
  }
  auto config = Config::load(schema(), path, {"retries=8"});
  std::remove(path);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->string("secret"), "from-file");
  EXPECT_EQ(config->integer("retries"), 8);
}

TEST(ConfigLoad, MissingFileIsRefusedNamingThePath) {
  auto config = Config::load(schema(), "/nonexistent/fbg/ledger.conf", {"secret=x"});
  ASSERT_FALSE(config.has_value());
  EXPECT_TRUE(contains(config.error().message, "/nonexistent/fbg/ledger.conf"));
}

TEST(ConfigLoad, EmptyPathMeansDefaultsAndOverridesOnly) {
  auto config = Config::load(schema(), "", {"secret=x"});
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->integer("port"), 8080);
}

}  // namespace
}  // namespace fbg
