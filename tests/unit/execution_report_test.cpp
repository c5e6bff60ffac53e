// The fill receiver's reading of an ExecutionReport: what it keeps, what it refuses.
#include <gtest/gtest.h>

#include "domain/execution_report.h"

namespace fbg::fills {
namespace {

std::vector<FixField> fill() {
  return {{37, "B7"},    {11, "O2S1T36850000001"},
          {17, "E9"},    {150, "F"},
          {39, "1"},     {55, "AAPL"},
          {54, "1"},     {38, "10"},
          {32, "4"},     {31, "187.10"},
          {14, "4"},     {151, "6"},
          {6, "187.10"}, {60, "20261125-10:00:00.000"}};
}

std::vector<FixField> with(std::vector<FixField> body, int tag, const std::string& value) {
  for (auto& field : body) {
    if (field.tag == tag) field.value = value;
  }
  return body;
}

std::vector<FixField> without(std::vector<FixField> body, int tag) {
  std::erase_if(body, [tag](const FixField& field) { return field.tag == tag; });
  return body;
}

TEST(ExecutionReport, KeepsTheFieldsOfAFill) {
  auto record = parseExecutionReport(fill(), "SIM-A");
  ASSERT_TRUE(record) << record.error().message;
  EXPECT_EQ(record->broker, "SIM-A");
  EXPECT_EQ(record->exec_id, "E9");
  EXPECT_EQ(record->order_id, "O2S1T36850000001");
  EXPECT_EQ(record->exec_type, 'F');
  EXPECT_EQ(record->side, "BUY");
  EXPECT_EQ(record->last_qty, 4);
  EXPECT_EQ(record->last_px.toString(), "187.10");
  EXPECT_EQ(record->leaves_qty, 6);
}

TEST(ExecutionReport, ACancelBelongsToTheOriginalOrder) {
  auto body = with(fill(), 11, "O2S1T36850000001-C1");
  body.push_back({41, "O2S1T36850000001"});
  auto record = parseExecutionReport(body, "SIM-A");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->order_id, "O2S1T36850000001");
  EXPECT_EQ(record->cl_ord_id, "O2S1T36850000001-C1");
}

TEST(ExecutionReport, RefusesWhatCannotBeRight) {
  for (const auto& bad : {without(fill(), 17), without(fill(), 11), with(fill(), 32, "-1"),
                          with(fill(), 32, "1.5"), with(fill(), 31, "abc"), with(fill(), 32, "5"),
                          with(fill(), 54, "7"), with(fill(), 150, "FF"), without(fill(), 151)}) {
    EXPECT_FALSE(parseExecutionReport(bad, "SIM-A"));
  }
  EXPECT_TRUE(parseExecutionReport(with(fill(), 38, "10.0000"), "SIM-A"));
}

}  // namespace
}  // namespace fbg::fills
