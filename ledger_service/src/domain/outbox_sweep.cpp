#include "domain/outbox_sweep.h"

#include <cassert>

namespace fbg::ledger {

OutboxRowFinding findOutboxRow(bool entry_in_stream, std::string_view kind,
                               OrderStatus order_status) {
  assert(kind == "NEW" || kind == "CANCEL");  // written by our own intake statements
  if (entry_in_stream) return OutboxRowFinding::InStream;
  // A NEW the gateway never had leaves the order PENDING_NEW, or PENDING_CANCEL when the
  // customer has asked to cancel it since (its CANCEL then went to a gateway without the order).
  const bool waiting = kind == "NEW" ? order_status == OrderStatus::PendingNew ||
                                           order_status == OrderStatus::PendingCancel
                                     : order_status == OrderStatus::PendingCancel;
  return waiting ? OutboxRowFinding::Lost : OutboxRowFinding::TakenByGateway;
}

}  // namespace fbg::ledger
