#include "domain/broker_book.h"

#include <algorithm>
#include <cassert>

namespace fbg::simulator {

char fixCode(ExecType type) {
  switch (type) {
    case ExecType::New:
      return '0';
    case ExecType::PartialFill:  // FIX 4.4 reports every fill as Trade (F)
    case ExecType::Fill:
      return 'F';
    case ExecType::Canceled:
      return '4';
    case ExecType::Rejected:
      return '8';
    case ExecType::OrderStatus:
      return 'I';
  }
  return 'I';
}

char fixCode(BrokerOrderStatus status) {
  switch (status) {
    case BrokerOrderStatus::New:
      return '0';
    case BrokerOrderStatus::PartiallyFilled:
      return '1';
    case BrokerOrderStatus::Filled:
      return '2';
    case BrokerOrderStatus::Canceled:
      return '4';
    case BrokerOrderStatus::Rejected:
      return '8';
  }
  return '8';
}

int64_t BrokerOrder::leavesQty() const {
  return isOpen() ? quantity - cum_qty : 0;
}

bool BrokerOrder::isOpen() const {
  return status == BrokerOrderStatus::New || status == BrokerOrderStatus::PartiallyFilled;
}

Money BrokerOrder::averagePrice() const {
  if (cum_qty == 0) return Money();
  const int64_t units = cum_notional.units();
  return Money::fromUnits((units + cum_qty / 2) / cum_qty);
}

std::string BrokerBook::nextExecId() {
  return "E" + std::to_string(++exec_sequence_);
}

ExecutionReport BrokerBook::report(const BrokerOrder& order, ExecType type) const {
  ExecutionReport out;
  out.cl_ord_id = order.cl_ord_id;
  out.broker_order_id = order.broker_order_id;
  out.symbol = order.symbol;
  out.side = order.side;
  out.order_qty = order.quantity;
  out.exec_type = type;
  out.ord_status = order.status;
  out.cum_qty = order.cum_qty;
  out.leaves_qty = order.leavesQty();
  out.avg_px = order.averagePrice();
  return out;
}

std::vector<ExecutionReport> BrokerBook::newOrder(const NewOrder& request, bool reject) {
  if (const auto it = orders_.find(request.cl_ord_id); it != orders_.end()) {
    auto status = report(it->second, ExecType::OrderStatus);  // never a second order
    status.exec_id = nextExecId();
    return {status};
  }
  assert(request.quantity > 0);
  BrokerOrder order{request.cl_ord_id,  "B" + std::to_string(++order_sequence_),
                    request.symbol,     request.side,
                    request.type,       request.quantity,
                    request.limit_price};
  order.status = reject ? BrokerOrderStatus::Rejected : BrokerOrderStatus::New;
  auto out = report(order, reject ? ExecType::Rejected : ExecType::New);
  out.exec_id = nextExecId();
  if (reject) out.text = "rejected by the simulator's reject_rate";
  if (order.isOpen()) open_.insert(order.cl_ord_id);
  orders_.emplace(order.cl_ord_id, std::move(order));
  return {out};
}

ExecutionReport BrokerBook::statusRequest(const std::string& cl_ord_id, const std::string& symbol,
                                          Side side) const {
  const auto it = orders_.find(cl_ord_id);
  if (it == orders_.end()) {
    ExecutionReport unknown;
    unknown.cl_ord_id = cl_ord_id;
    unknown.broker_order_id = "NONE";
    unknown.symbol = symbol;
    unknown.side = side;
    unknown.exec_type = ExecType::OrderStatus;
    unknown.ord_status = BrokerOrderStatus::Rejected;
    unknown.ord_rej_reason = kOrdRejReasonUnknownOrder;
    unknown.text = "unknown order";
    unknown.exec_id = "S" + std::to_string(exec_sequence_);
    return unknown;
  }
  auto status = report(it->second, ExecType::OrderStatus);
  status.exec_id = "S" + std::to_string(exec_sequence_);  // informational, not a new execution
  return status;
}

BrokerBook::CancelOutcome BrokerBook::cancel(const std::string& orig_cl_ord_id,
                                             const std::string& cl_ord_id) {
  const auto it = orders_.find(orig_cl_ord_id);
  if (it == orders_.end()) {
    return {{},
            CancelReject{cl_ord_id, orig_cl_ord_id, "NONE", BrokerOrderStatus::Rejected,
                         "unknown order"}};
  }
  BrokerOrder& order = it->second;
  if (!order.isOpen()) {
    return {{},
            CancelReject{cl_ord_id, orig_cl_ord_id, order.broker_order_id, order.status,
                         "too late to cancel"}};
  }
  order.status = BrokerOrderStatus::Canceled;
  open_.erase(orig_cl_ord_id);
  auto out = report(order, ExecType::Canceled);
  out.exec_id = nextExecId();
  out.cl_ord_id = cl_ord_id;
  out.orig_cl_ord_id = orig_cl_ord_id;
  return {{out}, std::nullopt};
}

void BrokerBook::fillSlice(BrokerOrder& order, Money price, std::vector<ExecutionReport>& out) {
  assert(order.isOpen());
  const int64_t leaves = order.quantity - order.cum_qty;
  const bool last = order.fills_done + 1 >= fill_slices_;
  const int64_t slice =
      last ? leaves : std::clamp<int64_t>(order.quantity / fill_slices_, 1, leaves);
  order.cum_qty += slice;
  order.cum_notional = *order.cum_notional.plus(*price.times(slice));
  ++order.fills_done;
  order.status = order.cum_qty == order.quantity ? BrokerOrderStatus::Filled
                                                 : BrokerOrderStatus::PartiallyFilled;
  auto fill = report(
      order, order.status == BrokerOrderStatus::Filled ? ExecType::Fill : ExecType::PartialFill);
  fill.exec_id = nextExecId();
  fill.last_qty = slice;
  fill.last_px = price;
  out.push_back(fill);
  assert(order.cum_qty <= order.quantity);
}

std::vector<ExecutionReport> BrokerBook::priceMoved(const std::string& symbol, Money price) {
  assert(price.isPositive());
  std::vector<ExecutionReport> out;
  std::vector<std::string> closed;
  for (const std::string& cl_ord_id : open_) {
    BrokerOrder& order = orders_.at(cl_ord_id);
    assert(order.isOpen());
    if (order.symbol != symbol) continue;
    const bool crosses =
        order.type == OrderType::Market ||
        (order.side == Side::Buy ? price <= *order.limit_price : price >= *order.limit_price);
    if (crosses) fillSlice(order, price, out);
    if (!order.isOpen()) closed.push_back(cl_ord_id);
  }
  for (const std::string& cl_ord_id : closed) open_.erase(cl_ord_id);
  return out;
}

std::vector<std::string> BrokerBook::symbolsWithOpenOrders() const {
  std::vector<std::string> symbols;
  for (const std::string& cl_ord_id : open_) {
    const BrokerOrder& order = orders_.at(cl_ord_id);
    if (std::find(symbols.begin(), symbols.end(), order.symbol) == symbols.end()) {
      symbols.push_back(order.symbol);
    }
  }
  return symbols;
}

const BrokerOrder* BrokerBook::find(const std::string& cl_ord_id) const {
  const auto it = orders_.find(cl_ord_id);
  return it == orders_.end() ? nullptr : &it->second;
}

void BrokerBook::restore(BrokerOrder order) {
  ++order_sequence_;
  const auto [it, added] = orders_.emplace(order.cl_ord_id, std::move(order));
  if (added && it->second.isOpen()) open_.insert(it->first);
}

void BrokerBook::restoreExecSequence(int64_t exec_sequence) {
  exec_sequence_ = std::max(exec_sequence_, exec_sequence);
}

std::optional<ExecType> execTypeFromFixCode(char code, int64_t leaves_qty) {
  switch (code) {
    case '0':
      return ExecType::New;
    case 'F':
      return leaves_qty == 0 ? ExecType::Fill : ExecType::PartialFill;
    case '4':
      return ExecType::Canceled;
    case '8':
      return ExecType::Rejected;
    case 'I':
      return ExecType::OrderStatus;
    default:
      return std::nullopt;
  }
}

std::optional<BrokerOrderStatus> statusFromFixCode(char code) {
  switch (code) {
    case '0':
      return BrokerOrderStatus::New;
    case '1':
      return BrokerOrderStatus::PartiallyFilled;
    case '2':
      return BrokerOrderStatus::Filled;
    case '4':
      return BrokerOrderStatus::Canceled;
    case '8':
      return BrokerOrderStatus::Rejected;
    default:
      return std::nullopt;
  }
}

}  // namespace fbg::simulator
