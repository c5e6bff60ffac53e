#include "common/migrations.h"
#include <chrono>
#include <thread>

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>
#include <set>

namespace fbg {
namespace {

// Arbitrary but fixed: serialises concurrent migrators of one database.
constexpr int64_t kMigrationLockKey = 0x6662675f6d6967;  // "fbg_mig"

}  // namespace

Status applyMigrations(const std::string& postgres_uri, const std::vector<Migration>& migrations) {
  try {
    pqxx::connection connection(postgres_uri);
    pqxx::work transaction(connection);
    transaction.exec0("SET LOCAL client_min_messages = warning");
    transaction.exec1("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLockKey) + ")");
    transaction.exec0(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
        "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
    std::set<int> applied;
    for (const auto& row : transaction.exec("SELECT version FROM schema_migrations")) {
      applied.insert(row[0].as<int>());
    }
    for (const auto& migration : migrations) {
      if (applied.count(migration.version) != 0) continue;
      try {
        transaction.exec0(migration.sql);
      } catch (const pqxx::sql_error& failure) {
        return makeError(ErrorCode::InvalidRequest,
                         "migration " + migration.name + " failed: " + failure.what());
      }
      transaction.exec_params0("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                               migration.version, migration.name);
      spdlog::info("applied migration {}", migration.name);
    }
    transaction.commit();
    return Ok{};
  } catch (const pqxx::broken_connection& failure) {
    return makeError(ErrorCode::Unavailable,
                     std::string("database unavailable: ") + failure.what());
  }
}

bool migrateWithRetry(const std::string& postgres_uri, const std::vector<Migration>& migrations,
                      int attempts_max) {
  for (int attempt = 1; attempt <= attempts_max; ++attempt) {
    auto applied = applyMigrations(postgres_uri, migrations);
    if (applied) return true;
    spdlog::error("migrations: {}", applied.error().message);
    if (applied.error().code != ErrorCode::Unavailable) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return false;
}

}  // namespace fbg
