#include "common/order_types.h"

#include <array>
#include <utility>

namespace fbg {
namespace {

template <typename Enum, std::size_t N>
std::optional<Enum> lookup(const std::array<std::pair<Enum, std::string_view>, N>& table,
                           std::string_view text) {
  for (const auto& [value, name] : table) {
    if (name == text) return value;
  }
  return std::nullopt;
}

template <typename Enum, std::size_t N>
std::string_view nameOf(const std::array<std::pair<Enum, std::string_view>, N>& table, Enum value) {
  for (const auto& [candidate, name] : table) {
    if (candidate == value) return name;
  }
  return "?";
}

constexpr std::array<std::pair<Side, std::string_view>, 2> kSides{{
    {Side::Buy, "BUY"},
    {Side::Sell, "SELL"},
}};
constexpr std::array<std::pair<OrderType, std::string_view>, 2> kTypes{{
    {OrderType::Limit, "LIMIT"},
    {OrderType::Market, "MARKET"},
}};
constexpr std::array<std::pair<TimeInForce, std::string_view>, 3> kTimesInForce{{
    {TimeInForce::Day, "DAY"},
    {TimeInForce::GoodTillCancel, "GTC"},
    {TimeInForce::ImmediateOrCancel, "IOC"},
}};
constexpr std::array<std::pair<Channel, std::string_view>, 4> kChannels{{
    {Channel::Wts, "WTS"},
    {Channel::Mts, "MTS"},
    {Channel::Auto, "AUTO"},
    {Channel::Api, "API"},
}};
constexpr std::array<std::pair<OrderStatus, std::string_view>, 9> kStatuses{{
    {OrderStatus::PendingNew, "PENDING_NEW"},
    {OrderStatus::New, "NEW"},
    {OrderStatus::PartiallyFilled, "PARTIALLY_FILLED"},
    {OrderStatus::Filled, "FILLED"},
    {OrderStatus::PendingCancel, "PENDING_CANCEL"},
    {OrderStatus::Canceled, "CANCELED"},
    {OrderStatus::Rejected, "REJECTED"},
    {OrderStatus::Expired, "EXPIRED"},
    {OrderStatus::Unconfirmed, "UNCONFIRMED"},
}};

}  // namespace

std::string_view toText(Side side) {
  return nameOf(kSides, side);
}
std::string_view toText(OrderType type) {
  return nameOf(kTypes, type);
}
std::string_view toText(TimeInForce time_in_force) {
  return nameOf(kTimesInForce, time_in_force);
}
std::string_view toText(Channel channel) {
  return nameOf(kChannels, channel);
}
std::string_view toText(OrderStatus status) {
  return nameOf(kStatuses, status);
}

std::optional<Side> parseSide(std::string_view text) {
  return lookup(kSides, text);
}
std::optional<OrderType> parseOrderType(std::string_view text) {
  return lookup(kTypes, text);
}
std::optional<TimeInForce> parseTimeInForce(std::string_view text) {
  return lookup(kTimesInForce, text);
}
std::optional<Channel> parseChannel(std::string_view text) {
  return lookup(kChannels, text);
}
std::optional<OrderStatus> parseOrderStatus(std::string_view text) {
  return lookup(kStatuses, text);
}

bool isTerminal(OrderStatus status) {
  return status == OrderStatus::Filled || status == OrderStatus::Canceled ||
         status == OrderStatus::Rejected || status == OrderStatus::Expired;
}

bool canTransition(OrderStatus from, OrderStatus to) {
  using S = OrderStatus;
  if (isTerminal(from)) return false;
  switch (from) {
    case S::PendingNew:
      return to != S::PendingNew;
    case S::New:
      // REJECTED: a rejected cancel put the order back to NEW before the broker's reject of the
      // order itself arrived (the cancel was asked before the broker answered).
      return to == S::PartiallyFilled || to == S::Filled || to == S::PendingCancel ||
             to == S::Canceled || to == S::Rejected || to == S::Expired;
    case S::PartiallyFilled:
      return to == S::PartiallyFilled || to == S::Filled || to == S::PendingCancel ||
             to == S::Canceled || to == S::Expired;
    case S::PendingCancel:
      // REJECTED: the cancel was asked before the broker answered the order, and the broker
      // rejected the order itself.
      return to == S::New || to == S::PartiallyFilled || to == S::Filled || to == S::Canceled ||
             to == S::Rejected || to == S::Expired;
    case S::Unconfirmed:
      return to != S::PendingNew && to != S::Unconfirmed;
    default:
      return false;
  }
}

}  // namespace fbg
