#include "support/ports.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>

namespace fbg::test {

namespace {

constexpr int kPortFirst = 20000;       // as FBG_PORT_FIRST in scripts/lib/stack.sh
constexpr int kPortEndMax = 32000;      // ports from kPortFirst up to here (not included)
constexpr int kPortCountMin = 1000;     // fewer candidates than this: refuse, say why
constexpr int kPortDrawCountMax = 500;  // bound of draws before giving up
constexpr int kEphemeralFirstDefault = 32768;

std::runtime_error portError(const std::string& what) {
  return std::runtime_error("freeLoopbackPort: " + what + ": " + std::strerror(errno));
}

// True if nothing on the machine holds `port` in any state.
bool portUnused(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw portError("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  address.sin_port = htons(static_cast<uint16_t>(port));
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return bound;
}

// Opens and flocks `<folder>/<port>.lock` and returns the descriptor, or -1 if another open
// file holds the lock. Kept open, the descriptor (close-on-exec: servers the test starts do not
// inherit it) holds the reservation until the process exits; closing it releases the port.
int reservePort(int port) {
  const std::string path = std::string(portLockFolder()) + "/" + std::to_string(port) + ".lock";
  // Read-only: flock needs no write access, so another user's lock file serves as well.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) throw portError("open " + path);
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return fd;
  const int flock_errno = errno;
  ::close(fd);
  errno = flock_errno;
  if (flock_errno != EWOULDBLOCK) throw portError("flock " + path);
  return -1;
}

void ensureLockFolder() {
  const char* folder = portLockFolder();
  if (::mkdir(folder, 01777) != 0 && errno != EEXIST)
    throw portError(std::string("mkdir ") + folder);
  // mkdir applies the umask; other users' test runs share the folder.
  (void)::chmod(folder, 01777);
}

}  // namespace

const char* portLockFolder() {
  const char* folder = std::getenv("FBG_PORT_LOCK_DIR");
  return folder != nullptr && folder[0] != '\0' ? folder : "/tmp/fbg-ports";
}

int ephemeralPortFirst() {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  int first = 0;
  int last = 0;
  if (range >> first >> last && first > 0) return first;
  return kEphemeralFirstDefault;
}

int freeLoopbackPort() {
  static std::mutex mutex;
  static std::mt19937 generator{std::random_device{}()};
  const std::lock_guard<std::mutex> lock(mutex);

  const int port_end = std::min(kPortEndMax, ephemeralPortFirst());
  if (port_end - kPortFirst < kPortCountMin) {
    throw std::runtime_error("freeLoopbackPort: the kernel's ephemeral ports start at " +
                             std::to_string(port_end) + ", leaving fewer than " +
                             std::to_string(kPortCountMin) + " ports from " +
                             std::to_string(kPortFirst));
  }
  ensureLockFolder();
  std::uniform_int_distribution<int> draw(kPortFirst, port_end - 1);
  for (int attempt = 0; attempt < kPortDrawCountMax; ++attempt) {
    const int port = draw(generator);
    const int lock_fd = reservePort(port);
    if (lock_fd < 0) continue;
    if (portUnused(port)) return port;
    ::close(lock_fd);
  }
  throw std::runtime_error("freeLoopbackPort: no unused port in " +
                           std::to_string(kPortDrawCountMax) + " draws from " +
                           std::to_string(kPortFirst) + ".." + std::to_string(port_end - 1));
}

}  // namespace fbg::test
