// The simulator's fault settings: partial updates, and bad input refused without a change.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "faults.h"

namespace fbg::simulator {
namespace {

TEST(Faults, PutChangesOnlyTheNamedKeys) {
  const Faults defaults;
  const auto changed = applyFaults(defaults, R"({"drop_ack_rate": 1, "fill_slices": 3})");
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ(changed->drop_ack_rate, 1.0);
  EXPECT_EQ(changed->fill_slices, 3);
  EXPECT_EQ(changed->reject_rate, defaults.reject_rate);
  EXPECT_EQ(changed->fill_delay_ms, defaults.fill_delay_ms);
  const auto json = nlohmann::json::parse(faultsJson(*changed));
  EXPECT_EQ(json["fill_slices"], 3);
  EXPECT_EQ(json["drop_copy_paused"], false);
}

TEST(Faults, BadInputIsRefused) {
  const Faults defaults;
  for (const char* body :
       {"[]", "{", R"({"reject_rate": 1.5})", R"({"reject_rate": -0.1})", R"({"reject_rate": "x"})",
        R"({"fill_slices": 0})", R"({"fill_slices": 2.5})", R"({"ack_delay_ms": -1})",
        R"({"drop_copy_paused": 1})", R"({"explode": true})"}) {
    const auto result = applyFaults(defaults, body);
    ASSERT_FALSE(result.has_value()) << body;
    EXPECT_EQ(result.error().code, ErrorCode::InvalidRequest) << body;
  }
}

}  // namespace
}  // namespace fbg::simulator
