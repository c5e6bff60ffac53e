// Versioned SQL migrations, applied at start in one transaction under an advisory lock, each
// recorded in schema_migrations: applying twice (or from two processes at once) is a no-op.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace fbg {

struct Migration {
  int version;
  std::string name;
  std::string sql;
};

// Unavailable when the database cannot be reached; InvalidRequest naming the migration when
// its SQL fails (nothing of it is applied).
[[nodiscard]] Status applyMigrations(const std::string& postgres_uri,
                                     const std::vector<Migration>& migrations);

// At a process's start the database may still be starting: applyMigrations, retried every
// 500 ms while the database is unavailable, at most attempts_max times; errors are logged.
[[nodiscard]] bool migrateWithRetry(const std::string& postgres_uri,
                                    const std::vector<Migration>& migrations, int attempts_max);

}  // namespace fbg
