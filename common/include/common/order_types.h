// Order vocabulary shared by every process: side, type, time in force, channel, and the order
// status machine. Text forms are API.md's; FIX codes live with the FIX adapters, not here.
#pragma once

#include <optional>
#include <string_view>

namespace fbg {

enum class Side { Buy, Sell };
enum class OrderType { Limit, Market };
enum class TimeInForce { Day, GoodTillCancel, ImmediateOrCancel };
enum class Channel { Wts, Mts, Auto, Api };

enum class OrderStatus {
  PendingNew,
  New,
  PartiallyFilled,
  Filled,
  PendingCancel,
  Canceled,
  Rejected,
  Expired,
  Unconfirmed,
};

[[nodiscard]] std::string_view toText(Side side);
[[nodiscard]] std::string_view toText(OrderType type);
[[nodiscard]] std::string_view toText(TimeInForce time_in_force);
[[nodiscard]] std::string_view toText(Channel channel);
[[nodiscard]] std::string_view toText(OrderStatus status);

[[nodiscard]] std::optional<Side> parseSide(std::string_view text);
[[nodiscard]] std::optional<OrderType> parseOrderType(std::string_view text);
[[nodiscard]] std::optional<TimeInForce> parseTimeInForce(std::string_view text);
[[nodiscard]] std::optional<Channel> parseChannel(std::string_view text);
[[nodiscard]] std::optional<OrderStatus> parseOrderStatus(std::string_view text);

// FILLED, CANCELED, REJECTED, EXPIRED: nothing may change such an order again.
[[nodiscard]] bool isTerminal(OrderStatus status);

// The status machine only moves forward. Allowed moves:
//   PENDING_NEW      -> any other status
//   NEW              -> PARTIALLY_FILLED, FILLED, PENDING_CANCEL, CANCELED, EXPIRED, REJECTED (a
//                       rejected cancel came back before the broker's reject of the order)
//   PARTIALLY_FILLED -> PARTIALLY_FILLED (a further fill), FILLED, PENDING_CANCEL, CANCELED,
//   EXPIRED PENDING_CANCEL   -> NEW, PARTIALLY_FILLED (the cancel was rejected: back to where the
//   broker
//                       says the order stands), FILLED, CANCELED, EXPIRED, REJECTED (the cancel
//                       was asked before the broker answered, and it rejected the order)
//   UNCONFIRMED      -> anything but PENDING_NEW and itself (reconciliation learns what the
//                       broker did)
//   terminal         -> nothing
// A late acknowledgement (NEW after PARTIALLY_FILLED) is therefore refused: the caller keeps the
// current status and applies only the fill quantities.
[[nodiscard]] bool canTransition(OrderStatus from, OrderStatus to);

}  // namespace fbg
