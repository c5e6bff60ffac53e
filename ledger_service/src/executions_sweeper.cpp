#include "executions_sweeper.h"

#include "consumer_cursors.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <vector>

namespace fbg::ledger {
namespace {

using Json = nlohmann::json;

// One page as the sweep reads it: the items up to the round's bound, their seqs checked.
struct SweepPage {
  std::vector<SweepItem> items;  // held filled in later
  std::vector<Result<IncomingEvent>> events;
  bool cut = false;  // items past the bound were left out
};

// The fill receiver's page, checked: seqs rising, each above the mark. A page that breaks it is
// refused whole (nothing of it is applied).
Result<SweepPage> readPage(const Json& body, int64_t mark, int64_t bound) {
  SweepPage page;
  if (!body.contains("executions") || !body["executions"].is_array()) {
    return makeError(ErrorCode::Unavailable, "fill receiver page without an executions list");
  }
  int64_t previous = mark;
  for (const auto& item : body["executions"]) {
    const auto seq = item.find("seq");
    if (seq == item.end() || !seq->is_number_integer() || seq->get<int64_t>() <= previous) {
      return makeError(ErrorCode::Unavailable,
                       "fill receiver page out of seq order after " + std::to_string(previous));
    }
    previous = seq->get<int64_t>();
    if (previous > bound) {
      page.cut = true;
      break;
    }
    page.items.push_back({previous, false});
    page.events.push_back(parseExecution(item.dump()));
  }
  return page;
}

}  // namespace

void ExecutionsSweeper::prepareStatements(pqxx::connection& c) {
  // The indexes (1-based) of the reports the ledger does not hold: a fill not in executions, any
  // other report not in applied_events, of an order the ledger holds. Parameters, one element
  // per report: order_id, broker, exec_id ('' for non-fills), event_id ('' for fills).
  c.prepare("sweep_missing",
            "SELECT k.i FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) "
            "WITH ORDINALITY AS k(order_id, broker, exec_id, event_id, i) "
            "WHERE EXISTS (SELECT 1 FROM orders o WHERE o.order_id = k.order_id) "
            "AND NOT EXISTS (SELECT 1 FROM executions x WHERE x.broker = k.broker "
            "AND x.exec_id = k.exec_id) "
            "AND NOT EXISTS (SELECT 1 FROM applied_events a WHERE a.event_id = k.event_id)");
}

ExecutionsSweeper::ExecutionsSweeper(ExecutionsSweeperSettings settings, PgPool& pool,
                                     EventApplier& applier, MetricsRegistry& metrics)
    : settings_(std::move(settings)),
      pool_(pool),
      applier_(applier),
      sweep_(std::chrono::milliseconds(settings_.grace_ms),
             static_cast<std::size_t>(settings_.page_size) * settings_.pages_max),
      swept_(metrics.counter("ledger_executions_swept_total",
                             "Stored reports neither the stream nor the polling path delivered, "
                             "applied by the sweep (each a lost stream entry).")),
      mark_gauge_(metrics.gauge("ledger_executions_sweep_mark",
                                "The fill receiver seq below which every report is checked in.")),
      task_(
          "executions sweep", std::max(1, settings_.interval_ms), [this] { return round(); },
          metrics.counter("ledger_executions_sweep_failures_total",
                          "Sweep rounds ended by an error (fill receiver or database "
                          "unreachable, a page out of order).")) {}

Status ExecutionsSweeper::round() {
  if (!resumed_) {
    auto stored = readConsumerCursor(pool_, "executions_swept");
    if (!stored) return stored.error();
    sweep_.resumeFrom(*stored);
    resumed_ = true;
  }
  auto cursor = applier_.executionsCursor();
  if (!cursor) return cursor.error();
  const int64_t bound = sweep_.lookBound(*cursor, ExecutionsSweep::Clock::now());
  for (int page = 0; page < settings_.pages_max && !task_.stopping(); ++page) {
    auto more = sweepPage(bound);
    if (!more) return more.error();
    if (!*more) break;
  }
  mark_gauge_.set(sweep_.mark());
  return Ok{};
}

Result<bool> ExecutionsSweeper::sweepPage(int64_t bound) {
  const int64_t mark_before = sweep_.mark();
  if (mark_before >= bound) return false;
  auto body = fetchExecutionsPage(settings_.endpoint, mark_before, settings_.page_size);
  if (!body) return body.error();
  auto page = readPage(*body, mark_before, bound);
  if (!page) return page.error();
  if (page->items.empty()) return false;

  std::vector<IncomingEvent> readable;  // unreadable reports have nothing to apply: held
  std::vector<std::size_t> readable_at;
  for (std::size_t i = 0; i < page->events.size(); ++i) {
    if (page->events[i]) {
      readable.push_back(*page->events[i]);
      readable_at.push_back(i);
    } else {
      page->items[i].held = true;
    }
  }
  auto held = heldFlags(readable);
  if (!held) return held.error();
  for (std::size_t k = 0; k < readable.size(); ++k) page->items[readable_at[k]].held = (*held)[k];

  const auto now = ExecutionsSweep::Clock::now();
  std::vector<bool> done(page->items.size());
  for (std::size_t i = 0; i < done.size(); ++i) done[i] = page->items[i].held;
  const std::vector<std::size_t> due = sweep_.due(page->items, now);
  std::vector<IncomingEvent> to_apply;
  to_apply.reserve(due.size());
  for (const std::size_t i : due) to_apply.push_back(*page->events[i]);
  const auto outcomes =
      to_apply.empty() ? std::vector<Result<ApplyOutcome>>{} : applier_.applyBatch(to_apply);
  for (std::size_t k = 0; k < due.size(); ++k) {
    const IncomingEvent& event = to_apply[k];
    if (!outcomes[k]) {
      spdlog::warn("executions sweep: seq {} ({}) not applied yet: {}", event.fill_receiver_seq,
                   event.dedup_id, outcomes[k].error().message);
      continue;
    }
    done[due[k]] = true;
    // Applied in between by the stream or the polling path: late, not lost.
    if (*outcomes[k] == ApplyOutcome::Duplicate) continue;
    swept_.add();
    spdlog::error("executions sweep: seq {} ({}, order {}) was never delivered; applied now",
                  event.fill_receiver_seq, event.dedup_id, event.order_id);
  }
  const int64_t mark = sweep_.advance(page->items, done);
  if (mark > mark_before) {
    if (auto stored = advanceConsumerCursor(pool_, "executions_swept", mark); !stored) {
      return stored.error();
    }
  }
  return !page->cut && mark == page->items.back().seq;
}

Result<std::vector<bool>> ExecutionsSweeper::heldFlags(const std::vector<IncomingEvent>& events) {
  std::vector<std::string> order_ids, brokers, exec_ids, event_ids;
  for (const auto& e : events) {
    order_ids.push_back(e.order_id);
    brokers.push_back(e.is_fill ? e.broker : "");
    exec_ids.push_back(e.is_fill ? e.exec_id : "");
    event_ids.push_back(e.is_fill ? "" : e.dedup_id);
  }
  return withConnection<std::vector<bool>>(
      pool_, [&](pqxx::connection& c) -> Result<std::vector<bool>> {
        std::vector<bool> held(events.size(), true);
        if (events.empty()) return held;
        pqxx::nontransaction work(c);
        const auto missing =
            work.exec_prepared("sweep_missing", pgArrayLiteral(order_ids), pgArrayLiteral(brokers),
                               pgArrayLiteral(exec_ids), pgArrayLiteral(event_ids));
        for (const auto& row : missing) held[row[0].as<std::size_t>() - 1] = false;
        return held;
      });
}

}  // namespace fbg::ledger
