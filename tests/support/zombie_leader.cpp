// A process whose main thread exits alone, for tests/scripts_pid_alive.sh: it listens on a
// loopback port (printed on stdout, then stdout closed), starts a thread that reads stdin until
// end of file, and ends its main thread with the exit system call (not exit_group), so the
// process shows as a zombie ("Zl") while that thread, and the listening socket, live on. The
// process ends when stdin does.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

int main() {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      listen(listener, 1) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::perror("zombie_leader: listen");
    return 1;
  }
  std::printf("%d\n", ntohs(address.sin_port));
  std::fflush(stdout);
  std::fclose(stdout);
  std::thread reader([] {
    char buffer[64];
    while (read(STDIN_FILENO, buffer, sizeof(buffer)) > 0) {
    }
    _exit(0);  // the whole process, now
  });
  reader.detach();
  syscall(SYS_exit, 0);  // this thread only
  return 0;              // not reached
}
