// The executions sweep's process side (domain/executions_sweep.h decides): every
// sweep_interval_ms, pages of the fill receiver's GET /v1/executions from the sweep's mark, one
// query for which of them the ledger holds, the missing ones that are due applied through the
// normal applier (its lock, version check and dedup), and the mark stored in consumer_cursors
// ('executions_swept'). Each report it applies is one the stream and the polling path did not
// deliver: counted in ledger_executions_swept_total and logged, for an operator to look at.
#pragma once

#include <cstdint>

#include "common/metrics.h"
#include "common/periodic_task.h"
#include "common/pg_pool.h"
#include "domain/executions_sweep.h"
#include "event_applier.h"
#include "executions_client.h"

namespace fbg::ledger {

struct ExecutionsSweeperSettings {
  ExecutionsEndpoint endpoint;
  int interval_ms = 2000;
  int grace_ms = 10000;
  int page_size = 500;
  int pages_max = 10;  // per round
};

class ExecutionsSweeper {
 public:
  ExecutionsSweeper(ExecutionsSweeperSettings settings, PgPool& pool, EventApplier& applier,
                    MetricsRegistry& metrics);

  static void prepareStatements(pqxx::connection& connection);
  void start() { task_.start(); }
  void stop() { task_.stop(); }

 private:
  // One round; an error ends it (counted and logged), the next starts from the mark.
  [[nodiscard]] Status round();
  // One page after the mark, up to `bound`; false when the round should stop (nothing more to
  // look at, or a report it could not settle yet).
  [[nodiscard]] Result<bool> sweepPage(int64_t bound);
  // The ledger's answer for each event: held in, or nothing to apply (order unknown here).
  [[nodiscard]] Result<std::vector<bool>> heldFlags(const std::vector<IncomingEvent>& events);

  ExecutionsSweeperSettings settings_;
  PgPool& pool_;
  EventApplier& applier_;
  ExecutionsSweep sweep_;
  bool resumed_ = false;  // the stored mark was read
  Counter& swept_;
  Gauge& mark_gauge_;
  PeriodicTask task_;  // last: its thread stops before the members it uses go
};

}  // namespace fbg::ledger
