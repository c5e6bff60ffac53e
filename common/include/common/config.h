// Declared component configuration (userver-style): every component lists its keys with type,
// default and description; a file is checked against that list at start. Unknown keys, missing
// required keys, and values of the wrong type or out of range are refused with a message naming
// the key, before anything starts.
//
// File format, one setting per line:   key = value    # comment
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/money.h"
#include "common/result.h"

namespace fbg {

enum class ConfigType { Integer, String, Money, Boolean, List };

struct ConfigKey {
  std::string key;
  ConfigType type;
  std::optional<std::string> default_value;  // nullopt: required
  std::string description;
  int64_t integer_min = 0;  // Integer only
  int64_t integer_max = INT64_MAX;
};

using ConfigSchema = std::vector<ConfigKey>;

class Config {
 public:
  // Parses "key = value" text (a file's contents) plus overrides ("key=value", applied last).
  [[nodiscard]] static Result<Config> parse(const ConfigSchema& schema, const std::string& text,
                                            const std::vector<std::string>& overrides);
  [[nodiscard]] static Result<Config> load(const ConfigSchema& schema, const std::string& path,
                                           const std::vector<std::string>& overrides);

  // The getters assert that the key was declared with that type: a typo is a programming error.
  [[nodiscard]] int64_t integer(const std::string& key) const;
  [[nodiscard]] const std::string& string(const std::string& key) const;
  [[nodiscard]] Money money(const std::string& key) const;
  [[nodiscard]] bool boolean(const std::string& key) const;
  [[nodiscard]] std::vector<std::string> list(const std::string& key) const;

  // "key (type, default): description" for --help.
  [[nodiscard]] static std::string describe(const ConfigSchema& schema);

 private:
  // Only inside assert(): a release build does not search the schema on every read.
  [[nodiscard]] bool isDeclared(const std::string& key, ConfigType type) const;
  ConfigSchema schema_;
  std::map<std::string, std::string> values_;
};

}  // namespace fbg
