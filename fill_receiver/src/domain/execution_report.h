// One ExecutionReport (35=8) as the fill receiver keeps it: the fields FLOW.md lists, checked.
// Pure; outside input, so anything malformed is an INVALID_REQUEST value, never an assertion.
// (QuickFIX has already checked the message against fix_config/FIX44.xml; what it cannot check
// is here: numbers that must be whole or non-negative, quantities that must add up.)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/money.h"
#include "common/result.h"

namespace fbg::fills {

struct ExecutionRecord {
  std::string broker;           // the session's counterparty (SenderCompID of the report)
  std::string exec_id;          // 17: unique per broker
  std::string order_id;         // the ledger's order: ClOrdID(11), or OrigClOrdID(41) of a cancel
  std::string cl_ord_id;        // 11 as received
  std::string broker_order_id;  // 37
  char exec_type = 0;           // 150
  char ord_status = 0;          // 39
  std::string symbol;           // 55
  std::string side;             // BUY | SELL
  int64_t order_qty = 0;        // 38
  int64_t last_qty = 0;         // 32
  Money last_px;                // 31
  int64_t cum_qty = 0;          // 14
  int64_t leaves_qty = 0;       // 151
  Money avg_px;                 // 6
  std::string transact_time;    // 60, FIX UTCTimestamp as sent
  std::string text;             // 58
};

// A report as committed: its place in the executions table (seq: arrival order) and when.
struct StoredExecution {
  int64_t seq = 0;
  ExecutionRecord record;
  std::string received_at;  // RFC 3339
};

struct FixField {
  int tag;
  std::string value;
};

// body: the report's body fields; broker: who sent it.
[[nodiscard]] Result<ExecutionRecord> parseExecutionReport(const std::vector<FixField>& body,
                                                           const std::string& broker);

}  // namespace fbg::fills
