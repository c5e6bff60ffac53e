#include "support/postgres_instance.h"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <pqxx/pqxx>
#include <stdexcept>
#include <utility>
#include <vector>

#include "support/ports.h"
#include "support/temp_folder.h"
#include "support/wait.h"

namespace fbg::test {

namespace {

const std::filesystem::path kPostgresBin = "/usr/lib/postgresql/15/bin";
constexpr int kInitdbTimeoutMs = 120000;
constexpr int kPostgresStartTimeoutMs = 60000;  // includes crash recovery after kill9()
constexpr int kPostgresStopTimeoutMs = 60000;
constexpr int kKillTimeoutMs = 10000;
constexpr int kReadyPollMs = 20;

struct Command {
  std::string binary;
  std::vector<std::string> args;
};

// PostgreSQL refuses to run as root; as root its tools run as user postgres. setpriv execs the
// tool in place (the tool stays our child) and sets the parent-death signal again after the
// switch of user, which clears it.
Command asServerOwner(const std::string& tool, std::vector<std::string> args) {
  const std::string binary = (kPostgresBin / tool).string();
  if (::geteuid() != 0) return {binary, std::move(args)};
  std::vector<std::string> setpriv_args{
      "--reuid=postgres", "--regid=postgres", "--init-groups", "--pdeathsig=KILL", "--", binary};
  setpriv_args.insert(setpriv_args.end(), args.begin(), args.end());
  return {"setpriv", std::move(setpriv_args)};
}

void giveToServerOwner(const std::filesystem::path& folder) {
  if (::geteuid() != 0) return;
  const passwd* owner = ::getpwnam("postgres");
  if (owner == nullptr) throw std::runtime_error("PostgresInstance: no system user 'postgres'");
  const auto give = [owner](const std::filesystem::path& path) {
    if (::lchown(path.c_str(), owner->pw_uid, owner->pw_gid) != 0) {
      throw std::runtime_error("PostgresInstance: cannot chown " + path.string());
    }
  };
  give(folder);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(folder)) {
    give(entry.path());
  }
}

// A freshly initialised cluster, made once per test process and copied by every instance: initdb
// takes about a second, a copy a few milliseconds. Removed when the test process exits.
class TemplateCluster {
 public:
  TemplateCluster() : folder_(makeTempFolder("fbg-pg-template-")) {
    giveToServerOwner(folder_);
    const std::filesystem::path log_path = folder_ / "initdb.log";
    const Command initdb =
        asServerOwner("initdb", {"-D", dataDir().string(), "--auth=trust", "-U", "postgres",
                                 "--encoding=UTF8", "--no-locale", "--no-sync"});
    const int exit_code = runCommand(initdb.binary, initdb.args, log_path, kInitdbTimeoutMs);
    if (exit_code != 0) {
      const std::string log = logTail(log_path);
      std::filesystem::remove_all(folder_);
      throw std::runtime_error("PostgresInstance: initdb failed (exit " +
                               std::to_string(exit_code) + "):\n" + log);
    }
  }
  ~TemplateCluster() {
    std::error_code ignored;
    std::filesystem::remove_all(folder_, ignored);
  }
  TemplateCluster(const TemplateCluster&) = delete;
  TemplateCluster& operator=(const TemplateCluster&) = delete;

  [[nodiscard]] std::filesystem::path dataDir() const { return folder_ / "data"; }

  static const TemplateCluster& instance() {
    static const TemplateCluster cluster;  // a throwing constructor is retried on the next call
    return cluster;
  }

 private:
  std::filesystem::path folder_;
};

void writeServerSettings(const std::filesystem::path& data_dir, int port,
                         const std::filesystem::path& socket_dir) {
  std::ofstream settings(data_dir / "postgresql.auto.conf", std::ios::trunc);
  settings << "# Written by fbg::test::PostgresInstance.\n"
           << "listen_addresses = '127.0.0.1'\n"
           << "port = " << port << "\n"
           << "unix_socket_directories = '" << socket_dir.string() << "'\n"
           << "max_connections = 200\n"
           << "fsync = on\n"
           << "synchronous_commit = on\n";
  if (!settings.flush()) {
    throw std::runtime_error("PostgresInstance: cannot write " +
                             (data_dir / "postgresql.auto.conf").string());
  }
}

}  // namespace

PostgresInstance::~PostgresInstance() {
  try {
    stop();
  } catch (...) {  // NOLINT(bugprone-empty-catch): fall back to SIGKILL below
  }
  try {
    kill9();
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor must not throw
  }
  if (folder_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(folder_, ignored);
}

void PostgresInstance::create() {
  const TemplateCluster& cluster = TemplateCluster::instance();
  std::filesystem::path folder = makeTempFolder("fbg-pg-");
  try {
    std::filesystem::copy(
        cluster.dataDir(), folder / "data",
        std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
    std::filesystem::permissions(folder / "data", std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace);
    std::filesystem::create_directory(folder / "socket");
    port_ = freeLoopbackPort();
    writeServerSettings(folder / "data", port_, folder / "socket");
    giveToServerOwner(folder);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(folder, ignored);
    throw;
  }
  folder_ = std::move(folder);
}

void PostgresInstance::start() {
  if (folder_.empty()) create();
  if (server_.isRunning()) return;
  const Command postgres = asServerOwner("postgres", {"-D", dataDir().string()});
  server_.launch(postgres.binary, postgres.args, {}, logPath());
  waitUntilAcceptingConnections();
}

void PostgresInstance::waitUntilAcceptingConnections() {
  const bool ready = waitUntil([this] { return !server_.isRunning() || acceptsConnections(); },
                               std::chrono::milliseconds(kPostgresStartTimeoutMs),
                               std::chrono::milliseconds(kReadyPollMs));
  if (ready && server_.isRunning()) return;
  const std::string outcome =
      server_.isRunning()
          ? "did not accept connections within " + std::to_string(kPostgresStartTimeoutMs) + " ms"
          : "exited";
  server_.kill9();
  throw std::runtime_error("PostgresInstance: server on port " + std::to_string(port_) + " " +
                           outcome + "; " + logPath().string() + ":\n" + logTail(logPath()));
}

bool PostgresInstance::acceptsConnections() const {
  try {
    pqxx::connection connection(uri("postgres"));
    return connection.is_open();
  } catch (const std::exception&) {
    return false;  // not listening yet, or "the database system is starting up"
  }
}

void PostgresInstance::stop() {
  if (!server_.sendSignal(SIGINT)) return;
  if (!server_.waitForExit(kPostgresStopTimeoutMs).has_value()) {
    throw std::runtime_error("PostgresInstance: server on port " + std::to_string(port_) +
                             " did not stop within " + std::to_string(kPostgresStopTimeoutMs) +
                             " ms");
  }
}

void PostgresInstance::kill9() {
  if (!server_.isRunning()) return;
  // Every server process runs in a session of its own, out of the postmaster's process group: kill
  // them by pid as well, as a machine crash would. The postmaster goes first so that it cannot
  // start replacements; a backend forked in between ends itself on postmaster death.
  const std::vector<pid_t> server_processes = liveChildren(server_.pid());
  server_.kill9();
  for (const pid_t pid : server_processes) ::kill(pid, SIGKILL);
  const bool all_gone = waitUntil(
      [&] { return std::none_of(server_processes.begin(), server_processes.end(), processAlive); },
      std::chrono::milliseconds(kKillTimeoutMs));
  if (!all_gone) {
    throw std::runtime_error("PostgresInstance: server processes still alive " +
                             std::to_string(kKillTimeoutMs) + " ms after SIGKILL");
  }
}

std::string PostgresInstance::uri(const std::string& database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

void PostgresInstance::createDatabase(const std::string& name) {
  pqxx::connection connection(uri("postgres"));
  pqxx::nontransaction work(connection);
  work.exec("CREATE DATABASE " + connection.quote_name(name));
}

void PostgresInstance::exec(const std::string& database, const std::string& sql) {
  pqxx::connection connection(uri(database));
  pqxx::nontransaction work(connection);
  work.exec(sql);
}

std::string PostgresInstance::queryScalar(const std::string& database, const std::string& sql) {
  pqxx::connection connection(uri(database));
  pqxx::nontransaction work(connection);
  const pqxx::result rows = work.exec(sql);
  if (rows.empty() || rows.columns() == 0) {
    throw std::runtime_error("PostgresInstance::queryScalar: no value from: " + sql);
  }
  const pqxx::field value = rows[0][0];
  return value.is_null() ? std::string() : std::string(value.c_str());
}

}  // namespace fbg::test
