#include "prompt_initiator.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <quickfix/Session.h>

namespace fbg {
namespace fix {
namespace {

const char* const kPromptMinLogonKey = "PromptReconnectMinLogonMs";
const char* const kProbeTimeoutKey = "ReconnectProbeTimeoutMs";
const int kProbeTimeoutMsMax = 5000;
// SocketInitiator's own default when ReconnectInterval is absent.
const int kReconnectIntervalDefaultS = 30;

int integerSetting(const FIX::Dictionary& defaults, const std::string& key, int fallback) {
  if (!defaults.has(key)) return fallback;
  try {
    return defaults.getInt(key);
  } catch (const FIX::Exception&) {
    throw FIX::ConfigError(key + " must be an integer, not '" + defaults.getString(key) + "'");
  }
}

enum class Probe { Answered, Refused, NoAnswer };

// A TCP connect to host:port, closed at once. Refused covers every definite failure
// (ECONNREFUSED, EHOSTUNREACH, ...): QuickFIX's own connect would fail the same way.
Probe probe(const std::string& host, int port, int timeout_ms) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) {
    return Probe::NoAnswer;  // let QuickFIX try and log its own error
  }
  Probe result = Probe::NoAnswer;
  const int fd = socket(found->ai_family, found->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        found->ai_protocol);
  if (fd >= 0) {
    if (connect(fd, found->ai_addr, found->ai_addrlen) == 0) {
      result = Probe::Answered;
    } else if (errno != EINPROGRESS) {
      result = Probe::Refused;
    } else {
      pollfd waiting{fd, POLLOUT, 0};
      if (poll(&waiting, 1, timeout_ms) == 1) {
        int error = 0;
        socklen_t length = sizeof error;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
        result = error == 0 ? Probe::Answered : Probe::Refused;
      }
    }
    close(fd);
  }
  freeaddrinfo(found);
  return result;
}

}  // namespace

PromptInitiator::PromptInitiator(FIX::Application& application, FIX::MessageStoreFactory& stores,
                                 const FIX::SessionSettings& settings, FIX::LogFactory& logs)
    : FIX::SocketInitiator(application, stores, settings, logs),
      prompt_min_logon_(integerSetting(settings.get(), kPromptMinLogonKey, -1)),
      probe_timeout_ms_(integerSetting(settings.get(), kProbeTimeoutKey, 100)),
      reconnect_interval_(
          integerSetting(settings.get(), "ReconnectInterval", kReconnectIntervalDefaultS)),
      last_connect_try_(Clock::now() - reconnect_interval_) {
  if (probe_timeout_ms_ < 1 || probe_timeout_ms_ > kProbeTimeoutMsMax) {
    throw FIX::ConfigError(std::string(kProbeTimeoutKey) + " must be 1.." +
                           std::to_string(kProbeTimeoutMsMax) + ", not " +
                           std::to_string(probe_timeout_ms_));
  }
  for (const FIX::SessionID& id : getSessions()) watched_[id] = Watched{};
}

void PromptInitiator::onTimeout(FIX::SocketConnector&) {
  const Clock::time_point now = Clock::now();
  ++turn_;
  const bool prompt = noteLogons(now);
  // No connect on the turn a drop was seen, the timer's included (see noteLogons).
  if (!droppedThisTurn() && (prompt || now - last_connect_try_ >= reconnect_interval_)) {
    last_connect_try_ = now;
    for (auto& entry : watched_) entry.second.reconnect_now = false;
    if (!isStopped() && anyDisconnectedPeerAnswers()) connect();
  }
  for (const FIX::SessionID& id : getSessions()) {
    if (!isConnected(id)) continue;
    if (FIX::Session* session = FIX::Session::lookupSession(id)) session->next();
  }
}

bool PromptInitiator::noteLogons(Clock::time_point now) {
  bool prompt = false;
  for (auto& entry : watched_) {
    Watched& watched = entry.second;
    FIX::Session* session = FIX::Session::lookupSession(entry.first);
    const bool logged_on = session != nullptr && session->isLoggedOn();
    if (logged_on && !watched.logged_on) watched.logged_on_since = now;
    if (!logged_on && watched.logged_on) {
      watched.reconnect_now =
          prompt_min_logon_.count() >= 0 && now - watched.logged_on_since >= prompt_min_logon_;
      watched.dropped_on_turn = turn_;
    }
    watched.logged_on = logged_on;
    if (watched.reconnect_now && turn_ > watched.dropped_on_turn && isDisconnected(entry.first)) {
      prompt = true;
    }
  }
  return prompt;
}

bool PromptInitiator::droppedThisTurn() const {
  for (const auto& entry : watched_) {
    if (entry.second.dropped_on_turn == turn_) return true;
  }
  return false;
}

bool PromptInitiator::anyDisconnectedPeerAnswers() {
  bool any = false;
  for (const FIX::SessionID& id : getSessions()) {
    if (!isDisconnected(id)) continue;
    const FIX::Dictionary* settings = getSessionSettings(id);
    if (settings == nullptr || !settings->has("SocketConnectHost") ||
        !settings->has("SocketConnectPort")) {
      return true;  // failover hosts or no address: QuickFIX decides
    }
    const std::string host = settings->getString("SocketConnectHost");
    const int port = settings->getInt("SocketConnectPort");
    if (probe(host, port, probe_timeout_ms_) != Probe::Refused) {
      any = true;
      continue;
    }
    if (FIX::Session* session = FIX::Session::lookupSession(id)) {
      session->getLog()->onEvent("Not connecting: " + host + ":" + std::to_string(port) +
                                 " refused a probe connection");
    }
  }
  return any;
}

}  // namespace fix
}  // namespace fbg
