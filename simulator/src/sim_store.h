// The simulator's PostgreSQL adapter: the broker book's orders and every execution report it
// issued, written in one statement (its own transaction) per broker event, so a restart resumes
// the same book (one order per ClOrdID across restarts) and the drop copy can carry every report.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "domain/broker_book.h"
#include "domain/drop_copy_feed.h"

namespace fbg::simulator {

class SimStore {
 public:
  explicit SimStore(std::string postgres_uri) : postgres_uri_(std::move(postgres_uri)) {}

  // The orders an event changed and the reports it issued, atomically, in one round trip.
  // Returns the reports with their seqs, in the same order, as executionsAfter reads them back.
  std::vector<StoredExecution> record(const std::vector<const BrokerOrder*>& changed,
                                      const std::vector<ExecutionReport>& reports);
  // Rebuilds the book from the database (at start).
  void load(BrokerBook& book);
  std::vector<StoredExecution> executionsAfter(int64_t after_seq, int limit);
  void setPrice(const std::string& symbol, Money price);
  [[nodiscard]] int64_t dropCopySentSeq(const std::string& session_id);
  void setDropCopySentSeq(const std::string& session_id, int64_t seq);
  // Ground truth for GET /v1/orders?cl_ord_id=: JSON array text.
  [[nodiscard]] std::string ordersJson(const std::string& cl_ord_id);
  // Every price set so far (loaded once at start; the service keeps them in memory).
  std::map<std::string, Money> prices();

 private:
  pqxx::connection& connection();
  std::string postgres_uri_;
  std::unique_ptr<pqxx::connection> connection_;
};

}  // namespace fbg::simulator
