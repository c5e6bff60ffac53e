// FIX 4.4 messages of the simulator <-> broker book types. Tags as in FLOW.md "FIX sessions".
#pragma once

#include <string>

#include "common/result.h"
#include "domain/broker_book.h"
#include "fix_engine.h"

namespace fbg::simulator {

// NewOrderSingle (35=D): ClOrdID(11), Symbol(55), Side(54), OrdType(40), OrderQty(38),
// Price(44) for LIMIT. The dictionary validated presence; values are still checked here.
[[nodiscard]] Result<NewOrder> decodeNewOrder(const fix::Message& message);
// ExecutionReport (35=8) with every field FLOW.md lists.
[[nodiscard]] fix::Message encodeExecutionReport(const ExecutionReport& report);
// OrderCancelReject (35=9), CxlRejResponseTo(434)=1 (cancel request).
[[nodiscard]] fix::Message encodeCancelReject(const CancelReject& reject);
// "YYYYMMDD-HH:MM:SS.sss" UTC, FIX UTCTimestamp.
[[nodiscard]] std::string fixTimestampNow();

}  // namespace fbg::simulator
