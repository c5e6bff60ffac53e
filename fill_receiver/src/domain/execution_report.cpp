#include "domain/execution_report.h"

#include <charconv>

namespace fbg::fills {
namespace {

const std::string* find(const std::vector<FixField>& body, int tag) {
  for (const auto& field : body) {
    if (field.tag == tag) return &field.value;
  }
  return nullptr;
}

// Whole, non-negative quantity; "10" or "10.0000".
bool quantity(const std::string* text, int64_t& out) {
  if (text == nullptr || text->empty()) return false;
  const char* end = text->data() + text->size();
  const auto [stop, failure] = std::from_chars(text->data(), end, out);
  if (failure != std::errc() || out < 0) return false;
  if (stop == end) return true;
  return *stop == '.' && std::string_view(stop + 1, end - stop - 1).find_first_not_of('0') ==
                             std::string_view::npos;
}

bool price(const std::string* text, Money& out) {
  if (text == nullptr) return false;
  auto parsed = Money::parse(*text);
  if (!parsed || parsed->isNegative()) return false;
  out = *parsed;
  return true;
}

char code(const std::string* text) {
  return text != nullptr && text->size() == 1 ? (*text)[0] : '\0';
}

Status readQuantities(const std::vector<FixField>& body, ExecutionRecord& r) {
  if (!quantity(find(body, 38), r.order_qty)) return invalidInput("OrderQty(38) is not a quantity");
  if (!quantity(find(body, 32), r.last_qty)) return invalidInput("LastQty(32) is not a quantity");
  if (!quantity(find(body, 14), r.cum_qty)) return invalidInput("CumQty(14) is not a quantity");
  if (!quantity(find(body, 151), r.leaves_qty)) {
    return invalidInput("LeavesQty(151) is not a quantity");
  }
  if (!price(find(body, 31), r.last_px)) return invalidInput("LastPx(31) is not a price");
  if (!price(find(body, 6), r.avg_px)) return invalidInput("AvgPx(6) is not a price");
  if (r.last_qty > r.cum_qty) return invalidInput("LastQty(32) exceeds CumQty(14)");
  return Ok{};
}

}  // namespace

Result<ExecutionRecord> parseExecutionReport(const std::vector<FixField>& body,
                                             const std::string& broker) {
  ExecutionRecord r;
  r.broker = broker;
  const std::string* exec_id = find(body, 17);
  const std::string* cl_ord_id = find(body, 11);
  const std::string* orig = find(body, 41);
  const std::string* side = find(body, 54);
  if (exec_id == nullptr || exec_id->empty()) return invalidInput("ExecID(17) is missing");
  if (cl_ord_id == nullptr || cl_ord_id->empty()) return invalidInput("ClOrdID(11) is missing");
  r.exec_id = *exec_id;
  r.cl_ord_id = *cl_ord_id;
  r.order_id = orig != nullptr && !orig->empty() ? *orig : *cl_ord_id;
  r.broker_order_id = find(body, 37) ? *find(body, 37) : "";
  r.exec_type = code(find(body, 150));
  r.ord_status = code(find(body, 39));
  if (r.exec_type == 0 || r.ord_status == 0)
    return invalidInput("ExecType or OrdStatus is missing");
  r.symbol = find(body, 55) ? *find(body, 55) : "";
  if (side == nullptr || (*side != "1" && *side != "2"))
    return invalidInput("Side(54) is not 1 or 2");
  r.side = *side == "1" ? "BUY" : "SELL";
  if (auto read = readQuantities(body, r); !read) return read.error();
  r.transact_time = find(body, 60) ? *find(body, 60) : "";
  r.text = find(body, 58) ? *find(body, 58) : "";
  return r;
}

}  // namespace fbg::fills
