// The ledger's HTTP routes (API.md "Ledger service"). Each handler: authenticate, validate,
// call the store (through the guarded writer for writes), render. No handler waits on anything
// but PostgreSQL and Redis.
#pragma once

#include <functional>

#include "common/http.h"
#include "common/metrics.h"
#include "common/redis.h"
#include "event_lag.h"
#include "guarded_write.h"
#include "ledger_config.h"
#include "ledger_store.h"
#include "order_intake.h"
#include "outbox_relay.h"

namespace fbg::ledger {

class LedgerApi {
 public:
  // on_order_placed: told each new order's account (the event appliers remember it, so the
  // order's first broker event asks the database nothing before taking the account's lock).
  using OrderPlaced =
      std::function<void(const std::string& order_id, const std::string& account_id)>;
  LedgerApi(const LedgerSettings& settings, LedgerStore& store, GuardedWriter& writer,
            OrderIntake& intake, EventLag& event_lag, OutboxRelay& relay, RedisPool& redis,
            MetricsRegistry& metrics, OrderPlaced on_order_placed = {})
      : settings_(settings),
        store_(store),
        writer_(writer),
        intake_(intake),
        event_lag_(event_lag),
        relay_(relay),
        redis_(redis),
        metrics_(metrics),
        on_order_placed_(std::move(on_order_placed)) {}

  void registerRoutes(HttpRouter& router);

 private:
  HttpResponse createAccount(const HttpRequest& request);
  HttpResponse cashTransfer(const HttpRequest& request, bool is_withdrawal);
  HttpResponse securityDeposit(const HttpRequest& request);
  HttpResponse getAccount(const HttpRequest& request);
  HttpResponse getPositions(const HttpRequest& request);
  HttpResponse listOrders(const HttpRequest& request);
  HttpResponse getJournal(const HttpRequest& request);
  HttpResponse placeOrder(const HttpRequest& request);
  HttpResponse getOrder(const HttpRequest& request);
  HttpResponse cancelOrder(const HttpRequest& request);
  HttpResponse getExecutions(const HttpRequest& request);
  HttpResponse getHistory(const HttpRequest& request);
  HttpResponse readiness();

  const LedgerSettings& settings_;
  LedgerStore& store_;
  GuardedWriter& writer_;
  OrderIntake& intake_;
  EventLag& event_lag_;
  OutboxRelay& relay_;
  RedisPool& redis_;
  MetricsRegistry& metrics_;
  OrderPlaced on_order_placed_;
};

}  // namespace fbg::ledger
