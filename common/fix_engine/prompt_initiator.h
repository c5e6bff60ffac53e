// A QuickFIX socket initiator that reconnects a dropped session at once, and never tries a
// connection the peer's port has just refused.
//
// Why: QuickFIX 1.15.1's SocketInitiator tries again only when time() has moved
// ReconnectInterval whole seconds (at least 1) past its last try, so a session that drops is
// back after 0 to 2 s, and every message written into the dead socket waits that long for the
// ResendRequest of the next logon. And it reports a refused non-blocking connect as connected
// (SocketMonitor::processWriteSet does not read SO_ERROR): each try against a peer that is down
// stores and "sends" a Logon, using a sender sequence number the peer must later gap-fill.
//
// What it changes, from the settings' [DEFAULT] section:
//   PromptReconnectMinLogonMs (integer, default -1 = never): a session that had been logged on
//     at least this long is reconnected on the next turn of the event loop after it drops. A
//     session that drops sooner (a peer that logs it out at once) waits ReconnectInterval as
//     before, so a refusing peer never makes a tight loop.
//   ReconnectProbeTimeoutMs (integer, default 100, 1..5000): before any connect, a plain TCP
//     connect to SocketConnectHost:SocketConnectPort, closed at once, tells whether the port
//     answers. A refusal (or any definite error) skips this try; no answer within the timeout
//     connects as QuickFIX would. The probe blocks the engine's thread for at most this long.
//
// C++14, QuickFIX types: included only by fix_engine.cpp.
#pragma once

#include <quickfix/SocketInitiator.h>

#include <chrono>
#include <map>

namespace fbg {
namespace fix {

class PromptInitiator : public FIX::SocketInitiator {
 public:
  // Throws FIX::ConfigError naming a bad PromptReconnectMinLogonMs or ReconnectProbeTimeoutMs.
  PromptInitiator(FIX::Application& application, FIX::MessageStoreFactory& stores,
                  const FIX::SessionSettings& settings, FIX::LogFactory& logs);

 private:
  using Clock = std::chrono::steady_clock;

  struct Watched {
    bool logged_on = false;
    Clock::time_point logged_on_since;
    bool reconnect_now = false;  // dropped after a logon of at least PromptReconnectMinLogonMs
    unsigned long long dropped_on_turn = 0;
  };

  // Runs after every turn of SocketInitiator's event loop (and on its 1 s timeout) in place of
  // SocketInitiator::onTimeout, which it repeats: the connect when due, then Session::next() of
  // every connected session (heartbeats, test requests, the logon of a new connection).
  void onTimeout(FIX::SocketConnector& connector) override;

  // True when a watched session has dropped after a long enough logon, is disconnected, and a
  // turn of the event loop has passed since the drop was seen. That turn matters: QuickFIX
  // closes a dropped socket at once but queues its number (SocketMonitor::m_dropped) and hands
  // it to onDisconnect at the start of the next turn; a connection made before then would
  // reuse the number and be torn down as the old one.
  bool noteLogons(Clock::time_point now);
  // True when a watched session's drop was seen on this turn. QuickFIX's own 1 s timer had the
  // same hazard: SocketInitiator connected on any turn the timer was due, that one included.
  [[nodiscard]] bool droppedThisTurn() const;
  // True when at least one disconnected session's port did not refuse a probe.
  bool anyDisconnectedPeerAnswers();

  std::chrono::milliseconds prompt_min_logon_;  // negative: never prompt
  int probe_timeout_ms_;
  std::chrono::seconds reconnect_interval_;
  Clock::time_point last_connect_try_;
  unsigned long long turn_ = 0;  // calls of onTimeout
  std::map<FIX::SessionID, Watched> watched_;
};

}  // namespace fix
}  // namespace fbg
