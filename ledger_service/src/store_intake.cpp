// The order intake's statements (FLOW.md section 1, steps 3-4) for a batch of orders: one read
// of every order's account, position and idempotency key, the pure checks, then one write of
// every order that passed them (store_sql.h kPlaceOrders draws what it writes). An order alone
// takes the same steps through statements with one value per parameter.
#include <spdlog/spdlog.h>

#include <array>
#include <cassert>
#include <unordered_map>
#include <variant>

#include "common/identifiers.h"
#include "common/time_text.h"
#include "domain/reservation.h"
#include "ledger_store.h"

namespace fbg::ledger {
namespace {

using Outcomes = std::vector<Attempt<OrderOutcome>>;

// An order the read let through: what its write needs besides the request.
struct PlannedOrder {
  int64_t holder_version = 0;
  std::string reserve;  // cash (decimal) for a BUY, shares for a SELL
  std::string order_id;
  int64_t seq = 0;
};

// An order's write parameters, $1 to $17 of both writes: kPlaceOrders takes each as an array
// over the batch, the single-order statements (kBuyHolder / kSellHolder + kPlaceOrderTail) as is.
using WriteValues = std::array<std::string, 17>;

WriteValues writeValues(const PlaceOrderInput& input, const PlannedOrder& planned) {
  const PlaceOrderRequest& r = input.request;
  return {input.account_id,
          std::to_string(planned.holder_version),
          planned.reserve,
          planned.order_id,
          std::to_string(planned.seq),
          input.idempotency_key,
          r.fingerprint(),
          r.symbol,
          std::string(toText(r.side)),
          std::string(toText(r.type)),
          std::to_string(r.quantity),
          r.limit_price ? r.limit_price->toString() : std::string(),
          std::string(toText(r.time_in_force)),
          r.broker,
          input.context.channel,
          input.context.actor,
          input.context.request_id};
}

// The read's verdict on one order: its outcome now (an error, a replay), or its write.
using Verdict = std::variant<Attempt<OrderOutcome>, PlannedOrder>;

// row: the order's row of kPlaceOrdersRead (or kPlaceOrderRead: the same columns).
Verdict planOrder(pqxx::nontransaction& work, const PlaceOrderInput& input, const pqxx::row& row) {
  if (row[3].is_null()) return makeError(ErrorCode::NotFound, "no account " + input.account_id);
  const PlaceOrderRequest& request = input.request;
  if (!row[4].is_null()) {
    // The key was used before: the same request replays its order, another is refused.
    if (row[5].as<std::string>() != request.fingerprint()) {
      return makeError(ErrorCode::IdempotencyKeyReused,
                       "Idempotency-Key " + input.idempotency_key + " was used for another order");
    }
    const auto existing = work.exec_prepared("order_by_id", row[4].as<std::string>());
    return std::optional<OrderOutcome>(OrderOutcome{readOrder(existing.at(0)), true});
  }
  const CashBalance cash{readMoney(row[1]), readMoney(row[2])};
  std::optional<PositionBalance> position;
  if (!row[6].is_null()) position = PositionBalance{row[6].as<int64_t>(), row[7].as<int64_t>()};
  auto reservation = planReservation(request, cash, position);
  if (!reservation) return reservation.error();
  const bool buy = request.side == Side::Buy;
  PlannedOrder planned;
  planned.holder_version = buy ? row[3].as<int64_t>() : row[8].as<int64_t>();
  planned.reserve = buy ? reservation->cash.toString() : std::to_string(reservation->shares);
  planned.seq = row[9].as<int64_t>();
  planned.order_id = makeOrderId(wallClockMs(), planned.seq);
  return planned;
}

}  // namespace

Outcomes LedgerStore::placeOrders(const std::vector<const PlaceOrderInput*>& inputs) {
  assert(!inputs.empty());
  const auto all = [&](const Attempt<OrderOutcome>& outcome) {
    return Outcomes(inputs.size(), outcome);
  };
  try {
    auto outcomes = withConnection<Outcomes>(pool_, [&](pqxx::connection& connection) {
      return Result<Outcomes>(placeOrdersOnce(connection, inputs));
    });
    if (!outcomes) return all(outcomes.error());
    return std::move(*outcomes);
  } catch (const pqxx::unique_violation&) {
    // An Idempotency-Key committed meanwhile (possible without the Redis lock). Alone, the
    // order's re-read replays it; the others of a batch must not fail with it: each goes again
    // alone.
    if (inputs.size() == 1) return all(std::optional<OrderOutcome>());
    spdlog::warn(
        "order intake: an Idempotency-Key raced another write; the batch's {} orders "
        "go again one by one",
        inputs.size());
    Outcomes outcomes;
    for (const PlaceOrderInput* input : inputs) outcomes.push_back(placeOrders({input}).front());
    return outcomes;
  } catch (const pqxx::deadlock_detected& failure) {
    // Two batches locking the same rows in opposite orders (possible without the Redis lock):
    // nothing was written, read again and retry.
    spdlog::warn("order intake rolled back by the server, retried: {}", failure.what());
    return all(std::optional<OrderOutcome>());
  } catch (const pqxx::serialization_failure& failure) {
    spdlog::warn("order intake rolled back by the server, retried: {}", failure.what());
    return all(std::optional<OrderOutcome>());
  } catch (const std::exception& failure) {
    // A batch carries other callers' requests: the failure is each one's answer, not a throw.
    spdlog::error("order intake failed: {}", failure.what());
    return all(makeError(ErrorCode::Internal, "order intake failed"));
  }
}

Outcomes LedgerStore::placeOrdersOnce(pqxx::connection& connection,
                                      const std::vector<const PlaceOrderInput*>& inputs) {
  pqxx::nontransaction work(connection);  // each statement its own transaction
  if (inputs.size() == 1) return {placeOneOrder(work, *inputs[0])};
  std::vector<std::string> accounts, keys, symbols;
  for (const PlaceOrderInput* input : inputs) {
    accounts.push_back(input->account_id);
    keys.push_back(input->idempotency_key);
    symbols.push_back(input->request.symbol);
  }
  const auto read = work.exec_prepared("place_orders_read", pgArrayLiteral(accounts),
                                       pgArrayLiteral(keys), pgArrayLiteral(symbols));
  assert(read.size() == inputs.size());  // one row per element of the arrays, in their order
  Outcomes outcomes(inputs.size(), std::optional<OrderOutcome>());
  std::array<std::vector<std::string>, 17> columns;               // one array per parameter
  std::unordered_map<std::string, std::size_t> written_by_order;  // order_id -> input
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    auto verdict = planOrder(work, *inputs[k], read[static_cast<int>(k)]);
    if (auto* planned = std::get_if<PlannedOrder>(&verdict)) {
      const WriteValues values = writeValues(*inputs[k], *planned);
      for (std::size_t c = 0; c < values.size(); ++c) columns[c].push_back(values[c]);
      written_by_order.emplace(planned->order_id, k);
    } else {
      outcomes[k] = std::move(std::get<Attempt<OrderOutcome>>(verdict));
    }
  }
  if (written_by_order.empty()) return outcomes;
  testDelay();
  std::vector<std::string> arrays;
  arrays.reserve(columns.size());
  for (const auto& column : columns) arrays.push_back(pgArrayLiteral(column));
  const auto written =
      work.exec_prepared("place_orders", pqxx::prepare::make_dynamic_params(arrays));
  // An order without a row found its holder changed since the read: it keeps nullopt.
  for (const auto& row : written) {
    OrderRow order = readOrder(row);
    const auto at = written_by_order.find(order.order_id);
    assert(at != written_by_order.end());
    outcomes[at->second] = std::optional<OrderOutcome>(OrderOutcome{std::move(order), false});
  }
  return outcomes;
}

Attempt<OrderOutcome> LedgerStore::placeOneOrder(pqxx::nontransaction& work,
                                                 const PlaceOrderInput& input) {
  const auto read = work.exec_prepared("place_order_read", input.account_id, input.idempotency_key,
                                       input.request.symbol);
  if (read.empty()) return makeError(ErrorCode::NotFound, "no account " + input.account_id);
  auto verdict = planOrder(work, input, read[0]);
  const auto* planned = std::get_if<PlannedOrder>(&verdict);
  if (planned == nullptr) return std::move(std::get<Attempt<OrderOutcome>>(verdict));
  testDelay();
  const WriteValues values = writeValues(input, *planned);
  const auto written =
      work.exec_prepared(input.request.side == Side::Buy ? "place_buy" : "place_sell",
                         pqxx::prepare::make_dynamic_params(values));
  if (written.empty()) return std::optional<OrderOutcome>();
  return std::optional<OrderOutcome>(OrderOutcome{readOrder(written[0]), false});
}

}  // namespace fbg::ledger
