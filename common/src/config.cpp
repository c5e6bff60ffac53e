#include "common/config.h"

#include <cassert>
#include <charconv>
#include <fstream>
#include <sstream>

namespace fbg {
namespace {

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  const auto end = text.find_last_not_of(" \t\r");
  return text.substr(begin, end - begin + 1);
}

const ConfigKey* findKey(const ConfigSchema& schema, const std::string& key) {
  for (const auto& declared : schema) {
    if (declared.key == key) return &declared;
  }
  return nullptr;
}

std::optional<int64_t> toInteger(const std::string& text) {
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

Status checkValue(const ConfigKey& key, const std::string& value) {
  auto bad = [&key, &value](const std::string& why) {
    return makeError(ErrorCode::InvalidRequest,
                     "config key '" + key.key + "': '" + value + "' " + why);
  };
  switch (key.type) {
    case ConfigType::Integer: {
      const auto number = toInteger(value);
      if (!number) return bad("is not an integer");
      if (*number < key.integer_min || *number > key.integer_max) {
        return bad("is outside " + std::to_string(key.integer_min) + ".." +
                   std::to_string(key.integer_max));
      }
      return Ok{};
    }
    case ConfigType::Money:
      if (!Money::parse(value)) return bad("is not a decimal amount");
      return Ok{};
    case ConfigType::Boolean:
      if (value != "true" && value != "false") return bad("is not true or false");
      return Ok{};
    case ConfigType::String:
    case ConfigType::List:
      return Ok{};
  }
  return Ok{};
}

Status setValue(const ConfigSchema& schema, std::map<std::string, std::string>& values,
                const std::string& key, const std::string& value, const std::string& where) {
  const ConfigKey* declared = findKey(schema, key);
  if (declared == nullptr) {
    return makeError(ErrorCode::InvalidRequest, where + ": unknown config key '" + key + "'");
  }
  if (auto checked = checkValue(*declared, value); !checked) return checked.error();
  values[key] = value;
  return Ok{};
}

}  // namespace

Result<Config> Config::parse(const ConfigSchema& schema, const std::string& text,
                             const std::vector<std::string>& overrides) {
  Config config;
  config.schema_ = schema;
  std::istringstream lines(text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    const auto equals = line.find('=');
    const std::string where = "line " + std::to_string(number);
    if (equals == std::string::npos) {
      return makeError(ErrorCode::InvalidRequest, where + ": expected 'key = value'");
    }
    auto set = setValue(schema, config.values_, trim(line.substr(0, equals)),
                        trim(line.substr(equals + 1)), where);
    if (!set) return set.error();
  }
  for (const auto& item : overrides) {
    const auto equals = item.find('=');
    if (equals == std::string::npos) {
      return makeError(ErrorCode::InvalidRequest, "override '" + item + "': expected key=value");
    }
    auto set = setValue(schema, config.values_, trim(item.substr(0, equals)),
                        trim(item.substr(equals + 1)), "override");
    if (!set) return set.error();
  }
  for (const auto& key : schema) {
    if (config.values_.count(key.key) != 0) continue;
    if (!key.default_value) {
      return makeError(ErrorCode::InvalidRequest, "config key '" + key.key + "' is required");
    }
    config.values_[key.key] = *key.default_value;
  }
  return config;
}

Result<Config> Config::load(const ConfigSchema& schema, const std::string& path,
                            const std::vector<std::string>& overrides) {
  std::string text;
  if (!path.empty()) {
    std::ifstream file(path);
    if (!file) return makeError(ErrorCode::InvalidRequest, "cannot read config file " + path);
    std::ostringstream contents;
    contents << file.rdbuf();
    text = contents.str();
  }
  return parse(schema, text, overrides);
}

bool Config::isDeclared(const std::string& key, ConfigType type) const {
  const ConfigKey* found = findKey(schema_, key);
  return found != nullptr && found->type == type;
}

int64_t Config::integer(const std::string& key) const {
  assert(isDeclared(key, ConfigType::Integer));
  return *toInteger(values_.at(key));
}

const std::string& Config::string(const std::string& key) const {
  assert(isDeclared(key, ConfigType::String));
  return values_.at(key);
}

Money Config::money(const std::string& key) const {
  assert(isDeclared(key, ConfigType::Money));
  return Money::parse(values_.at(key)).value();
}

bool Config::boolean(const std::string& key) const {
  assert(isDeclared(key, ConfigType::Boolean));
  return values_.at(key) == "true";
}

std::vector<std::string> Config::list(const std::string& key) const {
  assert(isDeclared(key, ConfigType::List));
  std::vector<std::string> items;
  std::istringstream parts(values_.at(key));
  std::string item;
  while (std::getline(parts, item, ',')) {
    item = trim(item);
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

std::string Config::describe(const ConfigSchema& schema) {
  static const char* kTypeNames[] = {"integer", "string", "money", "boolean", "list"};
  std::ostringstream out;
  for (const auto& key : schema) {
    out << "  " << key.key << " (" << kTypeNames[static_cast<int>(key.type)] << ", "
        << (key.default_value ? "default '" + *key.default_value + "'" : std::string("required"))
        << "): " << key.description << "\n";
  }
  return out.str();
}

}  // namespace fbg
