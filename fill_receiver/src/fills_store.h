// The fill receiver's PostgreSQL database (migrations/001_executions.sql): each report committed
// once, deduplicated on (broker, exec_id), read back in arrival order.
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/pg_pool.h"
#include "domain/execution_report.h"

namespace fbg::fills {

enum class StoreOutcome { Stored, Duplicate };

struct StoredExecution {
  int64_t seq = 0;
  ExecutionRecord record;
  std::string received_at;  // RFC 3339
};

class FillsStore {
 public:
  explicit FillsStore(PgPool& pool) : pool_(pool) {}

  static void prepareStatements(pqxx::connection& connection);

  // One synchronously committed statement: the report is durable when this returns Stored.
  [[nodiscard]] Result<StoreOutcome> store(const ExecutionRecord& record,
                                           const std::string& raw_message);
  [[nodiscard]] Result<std::vector<StoredExecution>> after(int64_t seq, int limit);
  [[nodiscard]] Status ping();
  // The relay's bookkeeping (execution_relay.h).
  [[nodiscard]] Result<std::optional<int64_t>> firstUnpublished();
  [[nodiscard]] Status markPublished(int64_t from_seq, int64_t to_seq);
  [[nodiscard]] Result<int64_t> unpublishedCount();

 private:
  PgPool& pool_;
};

// API.md "Fill receiver" item of GET /v1/executions (and the executions stream's payload).
[[nodiscard]] std::string executionJson(const StoredExecution& stored);

}  // namespace fbg::fills
