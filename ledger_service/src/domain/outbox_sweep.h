// The outbox sweep's decisions (FLOW.md section 1, step 4: each order reaches its gateway). Pure.
//
// The relay marks an outbox row sent once Redis accepted its XADD. Redis can still lose that
// entry (a crash of its host within its fsync window, appendfsync everysec; a kill while a slow
// disk holds writes back), and then the gateway never hears of the order: a NEW order stays
// PENDING_NEW with its money reserved and nothing sent; a CANCEL leaves the order
// PENDING_CANCEL while the broker may fill it. The sweep looks at each sent row once, after a
// grace period long past any fsync window, in relay_seq order from its mark.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/order_types.h"

namespace fbg::ledger {

enum class OutboxRowFinding {
  InStream,        // the stream holds the row's entry: the gateway reads it, if it has not
  TakenByGateway,  // not in the stream, but the order moved on: the gateway had it (trimmed)
  Lost,            // not in the stream, and the order may still wait for the gateway
};

// Publishing a lost NEW again is safe when the gateway had it after all (it takes a NEW once per
// order_id, a CANCEL once per cancel number); the sweep then publishes the order's later CANCEL
// rows after it, since a gateway without the order refused them.

// kind: the row's NEW or CANCEL; order_status: the order's status now.
[[nodiscard]] OutboxRowFinding findOutboxRow(bool entry_in_stream, std::string_view kind,
                                             OrderStatus order_status);

}  // namespace fbg::ledger
