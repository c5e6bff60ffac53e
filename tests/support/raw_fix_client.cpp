#include "support/raw_fix_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "common/time_text.h"

namespace fbg::test {
namespace {

constexpr char kSoh = '\x01';

std::string sendingTimeNow() {
  return fixTimestamp(std::chrono::system_clock::now());
}

std::string field(int tag, const std::string& value) {
  return std::to_string(tag) + "=" + value + kSoh;
}

RawFixMessage parse(const std::string& text) {
  RawFixMessage message;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t equals = text.find('=', start);
    const std::size_t end = text.find(kSoh, start);
    if (equals == std::string::npos || end == std::string::npos || equals > end) break;
    message.fields.emplace_back(std::atoi(text.substr(start, equals - start).c_str()),
                                text.substr(equals + 1, end - equals - 1));
    start = end + 1;
  }
  return message;
}

}  // namespace

const std::string* RawFixMessage::find(int tag) const {
  for (const auto& [number, value] : fields) {
    if (number == tag) return &value;
  }
  return nullptr;
}

std::string RawFixMessage::type() const {
  const std::string* value = find(35);
  return value ? *value : std::string();
}

std::string fixCheckSum(const std::string& text) {
  unsigned sum = 0;
  for (const char c : text) sum += static_cast<unsigned char>(c);
  char digits[4];
  std::snprintf(digits, sizeof digits, "%03u", sum % 256);
  return digits;
}

RawFixClient::~RawFixClient() {
  if (fd_ >= 0) ::close(fd_);
}

void RawFixClient::connect(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    throw std::runtime_error("connect 127.0.0.1:" + std::to_string(port) + ": " +
                             std::strerror(errno));
  }
}

std::string RawFixClient::frame(const std::string& msg_type, int seq, const FixFields& body) const {
  std::string rest = field(35, msg_type) + field(49, sender_) + field(56, target_) +
                     field(34, std::to_string(seq)) + field(52, sendingTimeNow());
  for (const auto& [tag, value] : body) rest += field(tag, value);
  std::string text = field(8, "FIX.4.4") + field(9, std::to_string(rest.size())) + rest;
  return text + field(10, fixCheckSum(text));
}

bool RawFixClient::sendRaw(const std::string& bytes) {
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + written, bytes.size() - written, MSG_NOSIGNAL);
    if (n <= 0) return false;
    written += static_cast<std::size_t>(n);
  }
  return true;
}

bool RawFixClient::send(const std::string& msg_type, const FixFields& body) {
  return sendRaw(frame(msg_type, next_seq++, body));
}

bool RawFixClient::logon(int heart_beat_s) {
  return send("A", {{98, "0"}, {108, std::to_string(heart_beat_s)}});
}

// A whole message is "8=...<SOH>9=N<SOH>", N bytes, then "10=ddd<SOH>".
std::optional<RawFixMessage> RawFixClient::takeBuffered() {
  const std::size_t length_at = buffer_.find(std::string(1, kSoh) + "9=");
  if (length_at == std::string::npos) return std::nullopt;
  const std::size_t length_end = buffer_.find(kSoh, length_at + 1);
  if (length_end == std::string::npos) return std::nullopt;
  const std::size_t body_length =
      std::stoul(buffer_.substr(length_at + 3, length_end - length_at - 3));
  const std::size_t total = length_end + 1 + body_length + 7;  // "10=ddd<SOH>"
  if (buffer_.size() < total) return std::nullopt;
  RawFixMessage message = parse(buffer_.substr(0, total));
  buffer_.erase(0, total);
  return message;
}

std::optional<RawFixMessage> RawFixClient::receive(std::chrono::milliseconds timeout) {
  const auto give_up_at = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (auto message = takeBuffered()) return message;
    if (closed_) return std::nullopt;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        give_up_at - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd readable{fd_, POLLIN, 0};
    if (::poll(&readable, 1, static_cast<int>(left.count())) <= 0) continue;
    char chunk[4096];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      closed_ = true;  // orderly close or reset: either way nothing more will come
      continue;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

std::optional<RawFixMessage> RawFixClient::receiveSkippingHeartbeats(
    std::chrono::milliseconds timeout) {
  const auto give_up_at = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        give_up_at - std::chrono::steady_clock::now());
    auto message = receive(std::max(left, std::chrono::milliseconds(0)));
    if (!message || message->type() != "0") return message;
  }
}

}  // namespace fbg::test
