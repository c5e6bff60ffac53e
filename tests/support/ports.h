#pragma once

namespace fbg::test {

// A TCP port that no socket on this machine uses now and that this process holds until it exits.
//
// Two things could take a port between this call and the caller's bind (a server started later,
// maybe restarted on the same port several times), and each is ruled out:
// - an outgoing connection picking it as its local port: the port is drawn from outside the
//   kernel's ephemeral range (portDrawRange), never from inside it;
// - another test process (ctest runs several at once) or script drawing the same port: the port
//   is reserved by an flock on `<lock folder>/<port>.lock`, held by this process until it exits
//   and honoured by scripts/lib/stack.sh's fbg_free_port too.
// A port counts as used if a bind to 0.0.0.0 without SO_REUSEADDR fails (any socket state,
// TIME_WAIT included: QuickFIX's acceptor binds 0.0.0.0). Throws std::runtime_error if no port
// can be found.
int freeLoopbackPort();

// The folder of the reservation locks: $FBG_PORT_LOCK_DIR, else /tmp/fbg-ports.
const char* portLockFolder();

// A closed range of ports, first..last.
struct PortRange {
  int first = 0;
  int last = 0;
};

// The kernel's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range; 32768..60999 if it
// cannot be read).
PortRange ephemeralPortRange();

// Where freeLoopbackPort() draws, given the ephemeral range: 20000..31999 below it, cut at its
// start; if that leaves fewer than 1000 ports, the ports above it; if neither has 1000 (a kernel
// that hands out nearly every port), 20000..31999 anyway, with the race the ranges avoid.
PortRange portDrawRange(PortRange ephemeral);

}  // namespace fbg::test
