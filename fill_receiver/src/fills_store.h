// The fill receiver's PostgreSQL database (migrations/001_executions.sql): each report committed
// once, deduplicated on (broker, exec_id), read back in arrival order.
#pragma once

#include <chrono>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/pg_pool.h"
#include "domain/execution_report.h"

namespace fbg::fills {

// A report fromApp handed to the batch writer (report_writer.h), not committed yet.
struct PendingReport {
  std::string session_id;  // QuickFIX's id, as fix_sessions.session_id
  int msg_seq_num = 0;
  ExecutionRecord record;
  std::string raw_message;
  std::chrono::steady_clock::time_point handed_over;
};

struct BatchOutcome {
  int stored = 0;
  int duplicates = 0;                 // (broker, exec_id) already stored, or twice in the batch
  std::vector<StoredExecution> rows;  // the stored ones, in seq order (for the relay)
};

// A row the relay published, to be marked (published_at) by a later statement. By seq, not by
// range: a gap between two published seqs may hold a row committed but never handed to the
// relay (relay_handoff.h), which a range would mark unpublished.
struct PublishedRow {
  int64_t seq = 0;
  int64_t published_at_us = 0;  // wall clock, µs since the epoch
};

class FillsStore {
 public:
  explicit FillsStore(PgPool& pool) : pool_(pool) {}

  static void prepareStatements(pqxx::connection& connection);

  // One synchronously committed statement: every report of the batch is durable when this
  // returns, rows in batch order (seq), duplicates skipped; in the same statement each session's
  // fix_sessions.next_target_seq is raised to acknowledgedAfter(batch) (never lowered). The FIX
  // store (PgMessageStore) lives in this same database: see main.cpp.
  [[nodiscard]] Result<BatchOutcome> storeBatch(const std::vector<PendingReport>& batch);
  [[nodiscard]] Result<std::vector<StoredExecution>> after(int64_t seq, int limit);
  [[nodiscard]] Status ping();
  // The relay's bookkeeping (execution_relay.h). One statement: marks the rows published, then
  // returns the oldest `limit` rows still unpublished but those, in seq order (limit 0: only
  // marks).
  [[nodiscard]] Result<std::vector<StoredExecution>> markThenUnpublished(
      const std::vector<PublishedRow>& marks, int limit);
  [[nodiscard]] Result<int64_t> unpublishedCount();

 private:
  PgPool& pool_;
};

// API.md "Fill receiver" item of GET /v1/executions (and the executions stream's payload).
[[nodiscard]] std::string executionJson(const StoredExecution& stored);

}  // namespace fbg::fills
