#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fbg::test {

// One child process started by a test, always reaped: no zombie is left behind.
//
// The child runs in its own process group, so kill9() also ends whatever it started (unless a
// grandchild moved to another group, as daemons do). It is also sent SIGKILL if the thread that
// launched it exits (PR_SET_PDEATHSIG), so a test killed by a timeout leaves no server behind:
// launch from a thread that outlives the child (the test's main thread, normally).
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();  // kill9() if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;

  // Starts `binary` (a path, or a name looked up in PATH) with argv[1..] = `args`, the test's
  // environment plus `env_additions` (which win), stdin from /dev/null, and stdout and stderr
  // appended to `log_path` (created if missing). Throws std::runtime_error if the binary cannot be
  // found or executed, std::logic_error if this object still runs a process.
  void launch(const std::string& binary, const std::vector<std::string>& args,
              const std::map<std::string, std::string>& env_additions,
              const std::filesystem::path& log_path);

  // -1 before the first launch.
  [[nodiscard]] pid_t pid() const { return pid_; }

  // Whether the process still runs; reaps it if it has exited.
  bool isRunning();

  // Sends `signal_number` to the child alone (e.g. SIGSTOP/SIGCONT to simulate a pause). Returns
  // false if it is not running.
  bool sendSignal(int signal_number);

  // SIGKILL to the child's process group, then reaps the child. No-op if not running.
  void kill9();

  // SIGTERM, then waits up to timeout_ms for the exit; after that kill9(). Returns whether the
  // process exited within the timeout (true as well if it was not running).
  bool terminate(int timeout_ms);

  // Waits up to timeout_ms for the process to exit by itself. Returns its exitCode(), or
  // std::nullopt if it still runs.
  std::optional<int> waitForExit(int timeout_ms);

  // After the process exited: its exit status, or 128 + signal number if a signal ended it.
  [[nodiscard]] std::optional<int> exitCode() const { return exit_code_; }

 private:
  void recordExit(int wait_status);
  void reapBlocking();

  pid_t pid_ = -1;
  bool running_ = false;
  std::optional<int> exit_code_;
};

// Runs a command to completion (see ChildProcess::launch) and returns its exit code. Throws
// std::runtime_error if it has not finished within timeout_ms (it is killed first).
int runCommand(const std::string& binary, const std::vector<std::string>& args,
               const std::filesystem::path& log_path, int timeout_ms);

// Whether `pid` names a process that is alive; a zombie (exited, not yet reaped) counts as dead.
bool processAlive(pid_t pid);

// Whether any process of process group `pgid` is alive (zombies count as dead).
bool processGroupAlive(pid_t pgid);

// The live processes whose parent is `parent`.
std::vector<pid_t> liveChildren(pid_t parent);

// The last `max_bytes` of a log file, for error messages; empty if it cannot be read.
std::string logTail(const std::filesystem::path& log_path, std::size_t max_bytes = 2000);

}  // namespace fbg::test
