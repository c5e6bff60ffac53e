// One entry of the stream orders:{broker}, validated (the ledger's outbox relay writes it; see
// ledger_service/src/outbox_relay.h for the entry layout and store_sql.h for the payloads).
// Outside input: anything malformed is an INVALID_REQUEST value, never an assertion.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/money.h"
#include "common/order_types.h"
#include "common/result.h"

namespace fbg::gateway {

struct NewOrderTicket {
  std::string order_id;  // = ClOrdID(11)
  std::string account_id;
  std::string symbol;
  Side side = Side::Buy;
  OrderType type = OrderType::Limit;
  int64_t quantity = 0;
  std::optional<Money> limit_price;  // LIMIT only
  TimeInForce time_in_force = TimeInForce::Day;
};

struct CancelTicket {
  std::string order_id;
  int cancel_request = 0;  // 1, 2, ...: the ledger's count of cancel requests of the order
};

struct StreamEntry {
  std::string entry_id;                       // Redis stream id
  std::map<std::string, std::string> fields;  // kind, order_id, payload
};

struct Ticket {
  std::optional<NewOrderTicket> new_order;
  std::optional<CancelTicket> cancel;
};

// broker: this gateway's broker; an entry for another broker is refused.
[[nodiscard]] Result<Ticket> parseTicket(const StreamEntry& entry, const std::string& broker);

// ClOrdID of cancel request n: "{order_id}-C{n}" (fits 20 characters for n <= 99).
inline constexpr int kCancelRequestMax = 99;
[[nodiscard]] std::string cancelClOrdId(const std::string& order_id, int cancel_request);

struct ClOrdIdParts {
  std::string order_id;
  int cancel_request = 0;  // 0: the order's own ClOrdID
};
// Splits a ClOrdID the gateway issued; nullopt for anything else.
[[nodiscard]] std::optional<ClOrdIdParts> parseClOrdId(const std::string& cl_ord_id);

}  // namespace fbg::gateway
