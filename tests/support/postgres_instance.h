#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

#include "support/process.h"

namespace fbg::test {

// A throwaway PostgreSQL 15 server for one test: its own folder under $FBG_TEST_TMP (or /tmp),
// its own free port on 127.0.0.1, user `postgres` with trust authentication, fsync and
// synchronous_commit on, max_connections 200. The first start() in a test process runs initdb
// into a template that later instances copy. When the test runs as root, the server runs as the
// system user `postgres` (PostgreSQL refuses root).
//
// The postmaster is a ChildProcess of the test, so it dies with the test process (see
// ChildProcess about threads) and is always reaped; its log is logPath().
class PostgresInstance {
 public:
  PostgresInstance() = default;
  ~PostgresInstance();  // stops the server (SIGKILL if it will not stop) and removes the folder
  PostgresInstance(const PostgresInstance&) = delete;
  PostgresInstance& operator=(const PostgresInstance&) = delete;

  // The first call creates the folder, picks the port and starts the server. Later calls restart
  // it on the same port and folder after stop() or kill9() (crash recovery runs then). Returns
  // once it accepts connections. Throws std::runtime_error with the server log's tail.
  void start();

  // Fast shutdown (SIGINT, as `pg_ctl stop -m fast` sends); returns once the server has exited.
  // No-op if not running.
  void stop();

  // SIGKILL to the postmaster and all its server processes, as in a machine crash; returns when
  // they are all gone. The next start() runs crash recovery. No-op if not running.
  void kill9();

  bool isRunning() { return server_.isRunning(); }
  // For signals of a test's own (SIGSTOP, SIGCONT); -1 before start().
  [[nodiscard]] pid_t postmasterPid() const { return server_.pid(); }
  [[nodiscard]] int port() const { return port_; }
  // postgresql://postgres@127.0.0.1:PORT/DB
  [[nodiscard]] std::string uri(const std::string& database = "postgres") const;
  [[nodiscard]] const std::filesystem::path& folder() const { return folder_; }
  [[nodiscard]] std::filesystem::path logPath() const { return folder_ / "postgresql.log"; }

  // CREATE DATABASE; throws if it exists.
  void createDatabase(const std::string& name);
  // Runs SQL (one or more statements) outside a transaction block, for test setup.
  void exec(const std::string& database, const std::string& sql);
  // The first column of the first row as text ("" for NULL); throws if there is no row.
  std::string queryScalar(const std::string& database, const std::string& sql);

 private:
  void create();
  void waitUntilAcceptingConnections();
  [[nodiscard]] bool acceptsConnections() const;
  [[nodiscard]] std::filesystem::path dataDir() const { return folder_ / "data"; }
  [[nodiscard]] std::filesystem::path socketDir() const { return folder_ / "socket"; }

  std::filesystem::path folder_;
  int port_ = 0;
  ChildProcess server_;
};

}  // namespace fbg::test
