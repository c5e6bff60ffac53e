#include "support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "support/wait.h"

extern char** environ;

namespace fbg::test {

namespace {

constexpr int kExecFailedExitCode = 127;
constexpr int kSignalExitCodeBase = 128;
constexpr int kExitPollMs = 5;
// Searched after $PATH: tools such as runuser live in sbin, which a non-login PATH may lack.
constexpr const char* kFallbackPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::runtime_error systemError(const std::string& what) {
  return std::runtime_error("ChildProcess: " + what + ": " + std::strerror(errno));
}

// Owns a file descriptor; closes it when it goes out of scope.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  [[nodiscard]] int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

std::string resolveBinary(const std::string& binary) {
  if (binary.find('/') != std::string::npos) {
    if (::access(binary.c_str(), X_OK) != 0) throw systemError("cannot execute " + binary);
    return binary;
  }
  const char* path_variable = std::getenv("PATH");
  std::istringstream search_path(std::string(path_variable ? path_variable : "") + ":" +
                                 kFallbackPath);
  for (std::string folder; std::getline(search_path, folder, ':');) {
    if (folder.empty()) continue;
    std::string candidate = folder;
    candidate.append("/").append(binary);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  throw std::runtime_error("ChildProcess: '" + binary + "' not found in PATH");
}

std::vector<std::string> mergedEnvironment(const std::map<std::string, std::string>& additions) {
  std::vector<std::string> entries;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text(*entry);
    if (!additions.contains(text.substr(0, text.find('=')))) entries.push_back(text);
  }
  for (const auto& [name, value] : additions)
    entries.push_back(std::string(name).append("=").append(value));
  return entries;
}

std::vector<char*> nullTerminated(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (auto& text : strings) pointers.push_back(text.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Everything the child needs, built before fork(): after fork() the child of a possibly
// multi-threaded process may only make async-signal-safe calls (no allocation).
struct ExecPlan {
  std::string path;
  std::vector<std::string> argv_strings;
  std::vector<std::string> env_strings;
  std::vector<char*> argv;
  std::vector<char*> envp;
};

ExecPlan makeExecPlan(const std::string& binary, const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env_additions) {
  ExecPlan plan;
  plan.path = resolveBinary(binary);
  plan.argv_strings.push_back(binary);
  plan.argv_strings.insert(plan.argv_strings.end(), args.begin(), args.end());
  plan.env_strings = mergedEnvironment(env_additions);
  plan.argv = nullTerminated(plan.argv_strings);
  plan.envp = nullTerminated(plan.env_strings);
  return plan;
}

[[noreturn]] void reportExecFailure(int error_pipe_fd) {
  const int error_number = errno;
  [[maybe_unused]] const auto written = ::write(error_pipe_fd, &error_number, sizeof(error_number));
  ::_exit(kExecFailedExitCode);
}

// Runs in the child between fork() and execve(): async-signal-safe calls only.
[[noreturn]] void execChild(const ExecPlan& plan, int stdin_fd, int log_fd, int error_pipe_fd,
                            pid_t parent_pid) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent_pid) ::_exit(kExecFailedExitCode);  // the parent died already
  sigset_t no_signals;
  ::sigemptyset(&no_signals);
  ::sigprocmask(SIG_SETMASK, &no_signals, nullptr);
  ::signal(SIGPIPE, SIG_DFL);  // the test process may ignore it; the child must not inherit that
  if (::dup2(stdin_fd, STDIN_FILENO) < 0 || ::dup2(log_fd, STDOUT_FILENO) < 0 ||
      ::dup2(log_fd, STDERR_FILENO) < 0) {
    reportExecFailure(error_pipe_fd);
  }
  // Sockets and files the test process holds must not leak into the child.
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  ::execve(plan.path.c_str(), plan.argv.data(), plan.envp.data());
  reportExecFailure(error_pipe_fd);
}

// Reads the errno a failed exec reports through the pipe; 0 means execve() succeeded (the pipe
// closed on exec without data).
int readExecError(int read_fd) {
  int error_number = 0;
  ssize_t bytes_read = 0;
  do {
    bytes_read = ::read(read_fd, &error_number, sizeof(error_number));
  } while (bytes_read < 0 && errno == EINTR);
  return bytes_read == sizeof(error_number) ? error_number : 0;
}

struct ProcessStat {
  char state = '?';
  pid_t parent = -1;
  pid_t process_group = -1;
  [[nodiscard]] bool alive() const { return state != 'Z' && state != 'X'; }
};

// Parses /proc/PID/stat, "PID (COMMAND) STATE PPID PGRP ...", where COMMAND may itself contain
// ')' or spaces. std::nullopt if the process is gone.
std::optional<ProcessStat> readProcessStat(pid_t pid) {
  std::ifstream stat_file("/proc/" + std::to_string(pid) + "/stat");
  std::string stat_line;
  if (!std::getline(stat_file, stat_line)) return std::nullopt;
  const auto command_end = stat_line.rfind(')');
  if (command_end == std::string::npos) return std::nullopt;
  std::istringstream fields(stat_line.substr(command_end + 1));
  ProcessStat stat;
  if (!(fields >> stat.state >> stat.parent >> stat.process_group)) return std::nullopt;
  return stat;
}

}  // namespace

ChildProcess::~ChildProcess() {
  try {
    kill9();
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor must not throw
  }
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      running_(std::exchange(other.running_, false)),
      exit_code_(std::exchange(other.exit_code_, std::nullopt)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    kill9();
    pid_ = std::exchange(other.pid_, -1);
    running_ = std::exchange(other.running_, false);
    exit_code_ = std::exchange(other.exit_code_, std::nullopt);
  }
  return *this;
}

void ChildProcess::launch(const std::string& binary, const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env_additions,
                          const std::filesystem::path& log_path) {
  if (isRunning())
    throw std::logic_error("ChildProcess: launch while pid " + std::to_string(pid_) +
                           " still runs");
  const ExecPlan plan = makeExecPlan(binary, args, env_additions);
  FileDescriptor log_fd(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (log_fd.get() < 0) throw systemError("cannot open log " + log_path.string());
  FileDescriptor stdin_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (stdin_fd.get() < 0) throw systemError("cannot open /dev/null");
  int error_pipe[2];
  if (::pipe2(error_pipe, O_CLOEXEC) != 0) throw systemError("pipe2");
  FileDescriptor error_read(error_pipe[0]);
  FileDescriptor error_write(error_pipe[1]);
  const pid_t parent_pid = ::getpid();
  const pid_t child_pid = ::fork();
  if (child_pid < 0) throw systemError("fork");
  if (child_pid == 0) execChild(plan, stdin_fd.get(), log_fd.get(), error_write.get(), parent_pid);
  ::setpgid(child_pid, child_pid);  // also done by the child; whichever runs first wins the race
  error_write.reset();
  const int exec_error = readExecError(error_read.get());
  pid_ = child_pid;
  running_ = true;
  exit_code_.reset();
  if (exec_error != 0) {
    reapBlocking();
    throw std::runtime_error("ChildProcess: cannot execute " + plan.path + ": " +
                             std::strerror(exec_error));
  }
}

bool ChildProcess::isRunning() {
  if (!running_) return false;
  int wait_status = 0;
  const pid_t result = ::waitpid(pid_, &wait_status, WNOHANG);
  if (result == 0) return true;
  if (result == pid_) {
    recordExit(wait_status);
  } else if (errno != EINTR) {
    running_ = false;  // ECHILD: someone else reaped it; its status is unknown
  }
  return running_;
}

bool ChildProcess::sendSignal(int signal_number) {
  return isRunning() && ::kill(pid_, signal_number) == 0;
}

void ChildProcess::kill9() {
  if (!isRunning()) return;
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);  // in case it left its process group
  reapBlocking();
}

bool ChildProcess::terminate(int timeout_ms) {
  if (!isRunning()) return true;
  ::kill(pid_, SIGTERM);
  if (waitForExit(timeout_ms).has_value()) return true;
  kill9();
  return false;
}

std::optional<int> ChildProcess::waitForExit(int timeout_ms) {
  waitUntil([this] { return !isRunning(); }, std::chrono::milliseconds(timeout_ms),
            std::chrono::milliseconds(kExitPollMs));
  if (running_) return std::nullopt;
  return exit_code_;
}

void ChildProcess::recordExit(int wait_status) {
  running_ = false;
  if (WIFEXITED(wait_status)) {
    exit_code_ = WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    exit_code_ = kSignalExitCodeBase + WTERMSIG(wait_status);
  }
}

void ChildProcess::reapBlocking() {
  int wait_status = 0;
  pid_t result = 0;
  do {
    result = ::waitpid(pid_, &wait_status, 0);
  } while (result < 0 && errno == EINTR);
  if (result == pid_) {
    recordExit(wait_status);
  } else {
    running_ = false;
  }
}

int runCommand(const std::string& binary, const std::vector<std::string>& args,
               const std::filesystem::path& log_path, int timeout_ms) {
  ChildProcess process;
  process.launch(binary, args, {}, log_path);
  const std::optional<int> exit_code = process.waitForExit(timeout_ms);
  if (!exit_code.has_value()) {
    process.kill9();
    throw std::runtime_error(binary + " did not finish within " + std::to_string(timeout_ms) +
                             " ms; log " + log_path.string() + ":\n" + logTail(log_path));
  }
  return *exit_code;
}

bool processAlive(pid_t pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno != EPERM) return false;
  const std::optional<ProcessStat> stat = readProcessStat(pid);
  return stat.has_value() && stat->alive();
}

// Calls `visit` with the pid and stat of every process that /proc lists.
void forEachProcess(const std::function<void(pid_t, const ProcessStat&)>& visit) {
  std::error_code error;  // processes come and go while /proc is read; never throw for that
  for (std::filesystem::directory_iterator entry("/proc", error), end; !error && entry != end;
       entry.increment(error)) {
    const std::string name = entry->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = std::stoi(name);
    const std::optional<ProcessStat> stat = readProcessStat(pid);
    if (stat.has_value()) visit(pid, *stat);
  }
}

bool processGroupAlive(pid_t pgid) {
  if (pgid <= 0) return false;
  bool alive = false;
  forEachProcess([&](pid_t, const ProcessStat& stat) {
    alive = alive || (stat.process_group == pgid && stat.alive());
  });
  return alive;
}

std::vector<pid_t> liveChildren(pid_t parent) {
  std::vector<pid_t> children;
  forEachProcess([&](pid_t pid, const ProcessStat& stat) {
    if (stat.parent == parent && stat.alive()) children.push_back(pid);
  });
  return children;
}

std::string logTail(const std::filesystem::path& log_path, std::size_t max_bytes) {
  std::ifstream log(log_path, std::ios::binary);
  if (!log) return {};
  log.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(log.tellg());
  const std::size_t start = size > max_bytes ? size - max_bytes : 0;
  log.seekg(static_cast<std::streamoff>(start));
  std::ostringstream tail;
  tail << log.rdbuf();
  return tail.str();
}

}  // namespace fbg::test
