// The simulated broker's order book: what a broker does with NewOrderSingle, cancels, status
// requests and price moves, as pure state transitions. The adapter (FIX session, PostgreSQL)
// persists the orders and sends the execution reports this returns; nothing here does I/O.
//
// Promises (FLOW.md "The broker simulator"):
// - one ClOrdID, at most one order: a repeated NewOrderSingle gets an order-status report
//   (ExecType I) for the order it already created, never a second order;
// - LIMIT orders fill when the price crosses (BUY: price <= limit; SELL: price >= limit),
//   MARKET orders at the current price, each in `fill_slices` parts;
// - cum_qty never exceeds the order quantity; a terminal order never changes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/money.h"
#include "common/order_types.h"

namespace fbg::simulator {

// FIX ExecType(150) and OrdStatus(39) values the simulator uses.
enum class ExecType { New, PartialFill, Fill, Canceled, Rejected, OrderStatus };
enum class BrokerOrderStatus { New, PartiallyFilled, Filled, Canceled, Rejected };

[[nodiscard]] char fixCode(ExecType type);
[[nodiscard]] char fixCode(BrokerOrderStatus status);
// Inverse of fixCode; a trade ('F') is a Fill when nothing is left, else a PartialFill.
[[nodiscard]] std::optional<ExecType> execTypeFromFixCode(char code, int64_t leaves_qty);
[[nodiscard]] std::optional<BrokerOrderStatus> statusFromFixCode(char code);

struct BrokerOrder {
  std::string cl_ord_id;
  std::string broker_order_id;
  std::string symbol;
  Side side = Side::Buy;
  OrderType type = OrderType::Limit;
  int64_t quantity = 0;
  std::optional<Money> limit_price;
  int64_t cum_qty = 0;
  Money cum_notional;  // sum of last_qty x last_px, for AvgPx
  int fills_done = 0;
  BrokerOrderStatus status = BrokerOrderStatus::New;

  [[nodiscard]] int64_t leavesQty() const;
  [[nodiscard]] bool isOpen() const;
  [[nodiscard]] Money averagePrice() const;  // cum_notional / cum_qty to 4 decimals, 0 when none
};

struct ExecutionReport {
  std::string exec_id;
  std::string cl_ord_id;
  std::string orig_cl_ord_id;  // cancels
  std::string broker_order_id;
  std::string symbol;
  Side side = Side::Buy;
  int64_t order_qty = 0;
  ExecType exec_type = ExecType::New;
  BrokerOrderStatus ord_status = BrokerOrderStatus::New;
  int64_t last_qty = 0;
  Money last_px;
  int64_t cum_qty = 0;
  int64_t leaves_qty = 0;
  Money avg_px;
  std::string text;
  int ord_rej_reason = -1;  // OrdRejReason(103); -1: not sent
};

// FIX 4.4 OrdRejReason(103) "Unknown order".
inline constexpr int kOrdRejReasonUnknownOrder = 5;

struct CancelReject {
  std::string cl_ord_id;
  std::string orig_cl_ord_id;
  std::string broker_order_id;  // "NONE" when the order is unknown
  BrokerOrderStatus ord_status = BrokerOrderStatus::Rejected;
  std::string text;
};

struct NewOrder {
  std::string cl_ord_id;
  std::string symbol;
  Side side = Side::Buy;
  OrderType type = OrderType::Limit;
  int64_t quantity = 0;
  std::optional<Money> limit_price;
};

class BrokerBook {
 public:
  // fill_slices >= 1: how many partial fills make a full fill.
  explicit BrokerBook(int fill_slices) : fill_slices_(fill_slices) {}

  // reject: the fault injector decided to reject this order (reject_rate).
  [[nodiscard]] std::vector<ExecutionReport> newOrder(const NewOrder& order, bool reject);
  // The order's status (ExecType=I); for a ClOrdID the book never took, FIX 4.4's answer:
  // OrdStatus=8 with OrdRejReason=5 (unknown order), so the asker knows to send it again.
  [[nodiscard]] ExecutionReport statusRequest(const std::string& cl_ord_id,
                                              const std::string& symbol, Side side) const;
  // Either the Canceled report or a reject (unknown or terminal order).
  struct CancelOutcome {
    std::vector<ExecutionReport> reports;
    std::optional<CancelReject> reject;
  };
  [[nodiscard]] CancelOutcome cancel(const std::string& orig_cl_ord_id,
                                     const std::string& cl_ord_id);
  // The price of symbol is now `price`: fill one slice of every open order it crosses.
  [[nodiscard]] std::vector<ExecutionReport> priceMoved(const std::string& symbol, Money price);

  // From the next slice on; an order already past the new count fills the rest at once.
  void setFillSlices(int fill_slices) { fill_slices_ = fill_slices; }
  [[nodiscard]] std::vector<std::string> symbolsWithOpenOrders() const;
  [[nodiscard]] const BrokerOrder* find(const std::string& cl_ord_id) const;
  [[nodiscard]] std::size_t orderCount() const { return orders_.size(); }
  [[nodiscard]] std::size_t openOrderCount() const { return open_.size(); }
  // From the database at start: every order, and the highest exec id number issued.
  void restore(BrokerOrder order);
  void restoreExecSequence(int64_t exec_sequence);

 private:
  [[nodiscard]] ExecutionReport report(const BrokerOrder& order, ExecType type) const;
  std::string nextExecId();
  void fillSlice(BrokerOrder& order, Money price, std::vector<ExecutionReport>& out);

  int fill_slices_;
  int64_t exec_sequence_ = 0;
  int64_t order_sequence_ = 0;
  // Every order taken, open or not, by ClOrdID: a ClOrdID seen again is answered with its
  // status, never booked twice.
  std::map<std::string, BrokerOrder> orders_;
  // The ClOrdIDs of the open orders, in ClOrdID order: what a market tick looks at. Without it
  // every tick walked every order ever taken, and the simulator's CPU per order grew with the
  // orders behind it (about 1.7 times in the second round of a two-round bench/e2e.sh run).
  std::set<std::string> open_;
};

}  // namespace fbg::simulator
