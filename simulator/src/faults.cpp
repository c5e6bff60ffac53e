#include "faults.h"

#include <nlohmann/json.hpp>

namespace fbg::simulator {
namespace {

using Json = nlohmann::json;

Status setRate(const Json& value, const std::string& key, double& out) {
  if (!value.is_number()) return invalidInput("'" + key + "' must be a number from 0 to 1");
  const double rate = value.get<double>();
  if (!(rate >= 0.0 && rate <= 1.0))
    return invalidInput("'" + key + "' must be a number from 0 to 1");
  out = rate;
  return Ok{};
}

Status setCount(const Json& value, const std::string& key, int64_t min, int64_t max, int64_t& out) {
  const std::string range = "'" + key + "' must be a whole number from " + std::to_string(min) +
                            " to " + std::to_string(max);
  if (!value.is_number_integer()) return invalidInput(range);
  const int64_t number = value.get<int64_t>();
  if (number < min || number > max) return invalidInput(range);
  out = number;
  return Ok{};
}

Status applyOne(const std::string& key, const Json& value, Faults& faults) {
  if (key == "ack_delay_ms") return setCount(value, key, 0, 600'000, faults.ack_delay_ms);
  if (key == "fill_delay_ms") return setCount(value, key, 1, 600'000, faults.fill_delay_ms);
  if (key == "fill_slices") return setCount(value, key, 1, 100, faults.fill_slices);
  if (key == "disconnect_every_messages") {
    return setCount(value, key, 0, 1'000'000'000, faults.disconnect_every_messages);
  }
  if (key == "drop_ack_rate") return setRate(value, key, faults.drop_ack_rate);
  if (key == "reject_rate") return setRate(value, key, faults.reject_rate);
  if (key == "duplicate_report_rate") return setRate(value, key, faults.duplicate_report_rate);
  if (key == "drop_copy_paused") {
    if (!value.is_boolean()) return invalidInput("'drop_copy_paused' must be true or false");
    faults.drop_copy_paused = value.get<bool>();
    return Ok{};
  }
  return invalidInput("unknown fault '" + key.substr(0, 40) + "'");
}

}  // namespace

Result<Faults> applyFaults(const Faults& current, const std::string& body) {
  const Json json = Json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return invalidInput("body must be a JSON object");
  Faults next = current;
  for (const auto& [key, value] : json.items()) {
    if (auto applied = applyOne(key, value, next); !applied) return applied.error();
  }
  return next;
}

std::string faultsJson(const Faults& faults) {
  return Json{{"ack_delay_ms", faults.ack_delay_ms},
              {"drop_ack_rate", faults.drop_ack_rate},
              {"reject_rate", faults.reject_rate},
              {"fill_delay_ms", faults.fill_delay_ms},
              {"fill_slices", faults.fill_slices},
              {"duplicate_report_rate", faults.duplicate_report_rate},
              {"disconnect_every_messages", faults.disconnect_every_messages},
              {"drop_copy_paused", faults.drop_copy_paused}}
      .dump();
}

}  // namespace fbg::simulator
