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
constexpr int kPortLastMax = 31999;     // below Linux's default ephemeral range (32768..60999)
constexpr int kPortCountMin = 1000;     // fewer candidates than this: look elsewhere
constexpr int kPortDrawCountMax = 500;  // bound of draws before giving up
constexpr PortRange kEphemeralDefault{32768, 60999};
constexpr int kPortMax = 65535;

int countOf(PortRange range) {
  return range.last - range.first + 1;
}

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

PortRange ephemeralPortRange() {
  std::ifstream file("/proc/sys/net/ipv4/ip_local_port_range");
  PortRange range{};
  if (file >> range.first >> range.last && 0 < range.first && range.first <= range.last) {
    return range;
  }
  return kEphemeralDefault;
}

PortRange portDrawRange(PortRange ephemeral) {
  const PortRange below{kPortFirst, std::min(kPortLastMax, ephemeral.first - 1)};
  if (countOf(below) >= kPortCountMin) return below;
  const PortRange above{std::max(kPortFirst, ephemeral.last + 1), kPortMax};
  if (countOf(above) >= kPortCountMin) return above;
  return PortRange{kPortFirst, kPortLastMax};  // nearly every port is ephemeral: draw anyway
}

int freeLoopbackPort() {
  static std::mutex mutex;
  static std::mt19937 generator{std::random_device{}()};
  const std::lock_guard<std::mutex> lock(mutex);

  const PortRange range = portDrawRange(ephemeralPortRange());
  static const bool lock_folder_ready = (ensureLockFolder(), true);  // once per process
  (void)lock_folder_ready;
  std::uniform_int_distribution<int> draw(range.first, range.last);
  for (int attempt = 0; attempt < kPortDrawCountMax; ++attempt) {
    const int port = draw(generator);
    const int lock_fd = reservePort(port);
    if (lock_fd < 0) continue;
    if (portUnused(port)) return port;
    ::close(lock_fd);
  }
  throw std::runtime_error("freeLoopbackPort: no unused port in " +
                           std::to_string(kPortDrawCountMax) + " draws from " +
                           std::to_string(range.first) + ".." + std::to_string(range.last));
}

}  // namespace fbg::test
