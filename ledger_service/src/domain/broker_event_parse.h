// Entries of the order-events stream (the gateways) and of the executions stream or the fill
// receiver's polling API, read into the apply logic's terms. Outside input: errors, not
// assertions.
#pragma once

#include <map>
#include <string>

#include "common/result.h"
#include "domain/order_apply.h"

namespace fbg::ledger {

struct IncomingEvent {
  std::string dedup_id;  // order-events: event_id; executions: "{broker}:{exec_id}"
  std::string order_id;
  std::string source;  // order-events | executions
  std::string kind;    // as received (ACKED, F, 4, ...)
  BrokerEvent event;
  bool relevant = true;  // false: a report that changes nothing (status answers, pending states)
  // Fills only.
  bool is_fill = false;
  std::string broker;
  std::string exec_id;
  std::string executed_at;        // RFC 3339
  int64_t fill_receiver_seq = 0;  // executions only: the fill receiver's seq
  int64_t received_unix_ms = 0;   // executions only: when the fill receiver stored it (0: unknown)
};

// order-events entry fields: event_id, kind, order_id, payload (gateway/src/gateway_rows.h).
[[nodiscard]] Result<IncomingEvent> parseOrderEvent(
    const std::map<std::string, std::string>& fields);
// One item of GET /v1/executions, or the payload of an executions stream entry (JSON text).
[[nodiscard]] Result<IncomingEvent> parseExecution(const std::string& json);

}  // namespace fbg::ledger
