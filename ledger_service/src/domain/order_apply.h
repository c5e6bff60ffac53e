// How a broker event changes an order, its account and its position (FLOW.md section 4). Pure:
// the rows as read in, the rows to write and the journal lines out; the adapter deduplicates
// (event_id, or broker + ExecID) and writes all of it in one statement (apply_group.h).
//
// Any order, any repetition: an event that is not news changes nothing (the status only moves
// forward; a terminal order's reservation is released once), so applying a set of events in
// any order and any number of times reaches the same rows, given each fill is applied once
// (the adapter's dedup guarantees that).
//
// Money moves (BUY q at price p, limit L; SELL q at p), each entry summing to zero per asset:
//   BUY fill   USD    cash.reserved -qL, cash.available +(qL - qp), external +qp
//              symbol securities.available +q, external -q
//   SELL fill  symbol securities.reserved -q, external +q
//              USD    cash.available +qp, external -qp
//   release    USD    cash.reserved -R, cash.available +R          (BUY: cash still reserved)
//              symbol securities.reserved -Q, securities.available +Q   (SELL: shares)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/money.h"
#include "common/order_types.h"

namespace fbg::ledger {

struct OrderState {
  OrderStatus status = OrderStatus::PendingNew;
  Side side = Side::Buy;
  std::string symbol;
  int64_t quantity = 0;
  std::optional<Money> limit_price;  // every BUY has one (MARKET BUY is refused at intake)
  int64_t filled_quantity = 0;
  Money fill_notional;  // sum of quantity x price of the fills booked
  Money reserved_amount;
  int64_t reserved_quantity = 0;
};

struct CashState {
  Money balance;
  Money reserved;
};

struct PositionState {
  int64_t quantity = 0;
  int64_t quantity_reserved = 0;
  Money cost_basis;  // total cost of `quantity` shares
};

enum class BrokerEventKind {
  Acked,
  Fill,
  Canceled,
  CancelRejected,
  Rejected,
  Expired,
  Unconfirmed
};

struct BrokerEvent {
  BrokerEventKind kind = BrokerEventKind::Acked;
  int64_t last_qty = 0;  // Fill
  Money last_px;         // Fill
  // Canceled / Expired: the broker's CumQty when the order ended; fills up to it may still be
  // on their way, so their reservation is kept for them. -1: unknown (release everything).
  int64_t final_cum_qty = -1;
  std::string reason;  // Rejected
};

struct JournalLine {
  std::string book;   // cash.available | cash.reserved | securities.available | ...
  std::string asset;  // USD or the symbol
  Money amount;       // shares as whole units for securities
};

struct Applied {
  OrderState order;
  CashState cash;
  PositionState position;
  std::vector<JournalLine> journal;  // empty: nothing to book
  std::string journal_kind;          // FILL | RELEASE
  bool changed = false;              // any row differs from what was read
  bool overfill = false;             // a fill past the order's quantity: recorded, not booked
  bool uncovered = false;            // a fill the reservation and cash cannot pay: not booked
};

[[nodiscard]] Applied applyBrokerEvent(const OrderState& order, const CashState& cash,
                                       const PositionState& position, const BrokerEvent& event);

}  // namespace fbg::ledger
