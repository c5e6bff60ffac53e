#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fbg::test {

using FixFields = std::vector<std::pair<int, std::string>>;

// One FIX message as received, its fields in wire order.
struct RawFixMessage {
  FixFields fields;
  // The first value of `tag`, or nullptr.
  [[nodiscard]] const std::string* find(int tag) const;
  [[nodiscard]] std::string type() const;  // MsgType(35), "" if absent
};

// A FIX 4.4 client on a plain TCP socket to 127.0.0.1, for tests that send what a FIX engine
// never would (a wrong CompID, a bad CheckSum or BodyLength) and must see every reply, session
// messages included. It keeps no store and answers nothing by itself (no heartbeats, no
// resends): log on with a HeartBtInt longer than the test.
class RawFixClient {
 public:
  RawFixClient(std::string sender_comp_id, std::string target_comp_id)
      : sender_(std::move(sender_comp_id)), target_(std::move(target_comp_id)) {}
  ~RawFixClient();
  RawFixClient(const RawFixClient&) = delete;
  RawFixClient& operator=(const RawFixClient&) = delete;

  // Connects to 127.0.0.1:port; throws std::runtime_error if it cannot.
  void connect(int port);

  // The full wire text of a message from this client with MsgSeqNum `seq`: header (8, 9, 35,
  // 49, 56, 34, 52 = now), `body` in the given order, trailer (10); BodyLength and CheckSum
  // correct, so a test can garble exactly one thing.
  [[nodiscard]] std::string frame(const std::string& msg_type, int seq,
                                  const FixFields& body) const;
  // Writes bytes as they are; false if the connection is gone.
  bool sendRaw(const std::string& bytes);
  // frame() with the next sequence number, which then advances; false if the write failed.
  bool send(const std::string& msg_type, const FixFields& body);
  // Logon (35=A) with EncryptMethod 0 and HeartBtInt heart_beat_s.
  bool logon(int heart_beat_s);

  // The next whole message received within `timeout`, or nullopt (timeout or connection
  // closed: see closed()).
  std::optional<RawFixMessage> receive(std::chrono::milliseconds timeout);
  // The next message that is not a Heartbeat (35=0).
  std::optional<RawFixMessage> receiveSkippingHeartbeats(std::chrono::milliseconds timeout);
  // Whether the peer closed the connection (seen by receive()).
  [[nodiscard]] bool closed() const { return closed_; }

  // The MsgSeqNum send() uses next.
  int next_seq = 1;

 private:
  std::optional<RawFixMessage> takeBuffered();

  std::string sender_;
  std::string target_;
  int fd_ = -1;
  bool closed_ = false;
  std::string buffer_;
};

// CheckSum(10) of everything before it: the byte sum modulo 256, three digits.
[[nodiscard]] std::string fixCheckSum(const std::string& text);

}  // namespace fbg::test
