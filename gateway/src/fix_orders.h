// FIX 4.4 messages of the order-entry session, gateway side: NewOrderSingle (D),
// OrderCancelRequest (F), OrderStatusRequest (H) out; ExecutionReport (8) and
// OrderCancelReject (9) in. Only fields fix_config/FIX44.xml lists for the message are written.
#pragma once

#include <string>

#include "domain/broker_order.h"
#include "domain/order_ticket.h"
#include "fix_engine.h"

namespace fbg::gateway {

// The order as the gateway stored it (broker_orders row), what every outbound message needs.
struct OrderRecord {
  NewOrderTicket ticket;
  std::string broker_order_id;  // empty until the broker named it
};

// possible_resend: PossResend(97)=Y, the same order again after no reply.
[[nodiscard]] fix::Message encodeNewOrder(const OrderRecord& order, bool possible_resend);
[[nodiscard]] fix::Message encodeStatusRequest(const OrderRecord& order);
[[nodiscard]] fix::Message encodeCancel(const OrderRecord& order, int cancel_request,
                                        bool possible_resend);

struct InboundReply {
  std::string cl_ord_id;        // 11 as received
  ClOrdIdParts ids;             // which order, which cancel request
  std::string broker_order_id;  // 37
  bool cancel_reject = false;   // 35=9 (else 35=8)
  ReportFacts report;           // 35=8
  CancelRejectFacts reject;     // 35=9
};

// Outside input: an unparsable or foreign reply is INVALID_REQUEST.
[[nodiscard]] Result<InboundReply> decodeReply(const fix::Message& message);

// UTC "YYYYMMDD-HH:MM:SS.sss" (FIX UTCTimestamp, milliseconds).
[[nodiscard]] std::string fixTimestampNow();

}  // namespace fbg::gateway
