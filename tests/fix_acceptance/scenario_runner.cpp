#include "scenario_runner.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace fbg::fixat {
namespace {

constexpr char kSoh = '\x01';
constexpr auto kExpectTimeout = std::chrono::seconds(30);
constexpr auto kDisconnectTimeout = std::chrono::seconds(10);

// A scenario step failed; the message says why.
struct StepFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string visible(std::string text) {
  std::replace(text.begin(), text.end(), kSoh, '|');
  return text;
}

// ---------------------------------------------------------------------------------------------
// Line preparation: placeholders, BodyLength and CheckSum
// ---------------------------------------------------------------------------------------------

std::string utcTime(std::time_t at) {
  std::tm parts{};
  gmtime_r(&at, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%d-%H:%M:%S", &parts);
  return text;
}

std::string substituteTimes(const std::string& line) {
  static const std::regex kTime(R"(<TIME(?:([+-])(\d+))?>)");
  const std::time_t now = std::time(nullptr);
  std::string out;
  auto begin = std::sregex_iterator(line.begin(), line.end(), kTime);
  std::size_t copied = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    const std::smatch& match = *it;
    out.append(line, copied, static_cast<std::size_t>(match.position(0)) - copied);
    std::time_t at = now;
    if (match[1].matched) {
      const long offset = std::stol(match[2].str());
      at += match[1].str() == "+" ? offset : -offset;
    }
    out += utcTime(at);
    copied = static_cast<std::size_t>(match.position(0) + match.length(0));
  }
  out.append(line, copied, std::string::npos);
  return out;
}

std::string substituteFiles(const std::string& line) {
  static const std::regex kFile(R"(<FILE:([^>]+)>)");
  std::string out = line;
  std::smatch match;
  while (std::regex_search(out, match, kFile)) {
    std::ifstream file(match[1].str(), std::ios::binary);
    if (!file) throw StepFailure("cannot read " + match[1].str());
    std::string contents((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    const auto first = contents.find_first_not_of(" \t\r\n");
    const auto last = contents.find_last_not_of(" \t\r\n");
    contents = first == std::string::npos ? "" : contents.substr(first, last - first + 1);
    out.replace(static_cast<std::size_t>(match.position(0)),
                static_cast<std::size_t>(match.length(0)), contents);
  }
  return out;
}

// Adds BodyLength and CheckSum where the line has none (see the header).
std::string completeMessage(const std::string& line) {
  if (line.rfind("8=", 0) != 0) return line;
  const auto head_end = line.find(kSoh);
  if (head_end == std::string::npos) return line;
  const bool has_length =
      line.find(std::string(1, kSoh) + "9=") != std::string::npos &&
      line.find(kSoh, line.find(std::string(1, kSoh) + "9=") + 1) != std::string::npos;
  const std::string head = line.substr(0, head_end + 1);
  std::string rest = line.substr(head_end + 1);

  // A CheckSum given in the line: from the first SOH-10= to the end, when the line ends in SOH.
  std::string checksum;
  if (!rest.empty() && rest.back() == kSoh) {
    const auto at = rest.find(std::string(1, kSoh) + "10=");
    if (at != std::string::npos) {
      checksum = rest.substr(at);
      rest.erase(at);
    }
  }
  const std::string length = has_length ? "" : "9=" + std::to_string(rest.size()) + kSoh;
  if (checksum.empty()) {
    unsigned sum = 0;
    for (const char c : head + length + rest) sum += static_cast<unsigned char>(c);
    char text[8];
    std::snprintf(text, sizeof text, "%03u", sum % 256);
    checksum = std::string("10=") + text + kSoh;
  }
  return head + length + rest + checksum;
}

// ---------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------

std::vector<std::string> splitFields(const std::string& message) {
  std::vector<std::string> fields;
  std::string current;
  for (const char c : message) {
    if (c == kSoh) {
      fields.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) fields.push_back(current);
  while (!fields.empty() && fields.back().empty()) fields.pop_back();
  return fields;
}

std::pair<std::string, std::string> tagAndValue(const std::string& field) {
  const auto equals = field.find('=');
  if (equals == std::string::npos) return {field, ""};
  return {field.substr(0, equals), field.substr(equals + 1)};
}

const std::regex* patternFor(const std::string& tag) {
  static const std::regex kCheckSum(R"(^\d{3}$)");
  static const std::regex kTimestamp(R"(^\d{8}-\d{2}:\d{2}:\d{2}(\.\d{1,9})?$)");
  if (tag == "10") return &kCheckSum;
  if (tag == "42" || tag == "52" || tag == "60" || tag == "122") return &kTimestamp;
  return nullptr;
}

// Empty if they match, else the reason.
std::string compareMessages(const std::string& expected, const std::string& actual) {
  const auto left = splitFields(expected);
  const auto right = splitFields(actual);
  std::string reason;
  if (left.size() != right.size()) {
    reason = "number of fields do not match";
  } else {
    for (std::size_t i = 0; i < left.size() && reason.empty(); ++i) {
      const auto [expected_tag, expected_value] = tagAndValue(left[i]);
      const auto [actual_tag, actual_value] = tagAndValue(right[i]);
      if (expected_tag != actual_tag) {
        reason = "expected field (" + expected_tag + ") but found field (" + actual_tag + ")";
      } else if (const std::regex* pattern = patternFor(expected_tag)) {
        if (!std::regex_match(actual_value, *pattern)) {
          reason = "field (" + expected_tag + ") does not match its pattern";
        }
      } else if (expected_value != actual_value) {
        reason = "value in field (" + expected_tag + ") should be (" + expected_value +
                 ") but was (" + actual_value + ")";
      }
    }
  }
  if (reason.empty()) return reason;
  return reason + "\n    expected " + visible(expected) + "\n    received " + visible(actual);
}

// ---------------------------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------------------------

int connectTcp(const std::string& host, int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    throw StepFailure("not an IPv4 address: " + host);
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw StepFailure(std::string("socket: ") + std::strerror(errno));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const int error = errno;
    ::close(fd);
    throw StepFailure("connect to " + host + ":" + std::to_string(port) + ": " +
                      std::strerror(error));
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

class Connection {
 public:
  explicit Connection(int fd) : fd_(fd) {}
  ~Connection() { ::close(fd_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void send(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw StepFailure(std::string("send: ") + std::strerror(errno));
      }
      sent += static_cast<std::size_t>(n);
    }
  }

  // One FIX message: up to and including SOH 9=, the length, that many bytes, then up to SOH.
  std::string readMessage() {
    const auto deadline = std::chrono::steady_clock::now() + kExpectTimeout;
    if (buffer_.empty() && !fill(deadline)) throw StepFailure("was disconnected, expected data");
    const std::string marker = std::string(1, kSoh) + "9=";
    std::size_t length_start = 0;
    while (true) {
      const auto at = buffer_.find(marker);
      if (at != std::string::npos) {
        length_start = at + marker.size();
        break;
      }
      need(deadline);
    }
    std::size_t length_end = 0;
    while ((length_end = buffer_.find(kSoh, length_start)) == std::string::npos) need(deadline);
    const std::string length_text = buffer_.substr(length_start, length_end - length_start);
    if (length_text.find_first_not_of("0123456789") != std::string::npos) {
      throw StepFailure("received a BodyLength that is not a number: " + visible(length_text));
    }
    const std::size_t body_end = length_end + 1 + std::stoul(length_text);
    while (buffer_.size() < body_end) need(deadline);
    std::size_t end = 0;
    while ((end = buffer_.find(kSoh, body_end)) == std::string::npos) need(deadline);
    std::string message = buffer_.substr(0, end + 1);
    buffer_.erase(0, end + 1);
    return message;
  }

  // Empty if the peer closes within `timeout` without sending anything more, else the reason.
  std::string awaitDisconnect() {
    if (!buffer_.empty()) return "expected disconnection, got data: " + visible(buffer_);
    const auto deadline = std::chrono::steady_clock::now() + kDisconnectTimeout;
    try {
      if (!fill(deadline)) return "";
    } catch (const StepFailure& failure) {
      if (std::string(failure.what()).find("timed out") != std::string::npos) {
        return "connection hangs after ten seconds";
      }
      return "";  // reset by the peer: disconnected as well
    }
    return "expected disconnection, got data: " + visible(buffer_);
  }

 private:
  void need(std::chrono::steady_clock::time_point deadline) {
    if (!fill(deadline)) {
      throw StepFailure("disconnected in the middle of a message: " + visible(buffer_));
    }
  }

  // Appends what arrives before the deadline; false on end of stream.
  bool fill(std::chrono::steady_clock::time_point deadline) {
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        throw StepFailure("timed out waiting for data" +
                          (buffer_.empty() ? std::string() : ", have " + visible(buffer_)));
      }
      pollfd waiting{fd_, POLLIN, 0};
      const int ready = ::poll(&waiting, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) throw StepFailure(std::string("poll: ") + std::strerror(errno));
      if (ready == 0) continue;
      char chunk[4096];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw StepFailure(std::string("recv: ") + std::strerror(errno));
      if (n == 0) return false;
      buffer_.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
  }

  int fd_;
  std::string buffer_;
};

struct Step {
  char action = 0;
  int connection = 1;
  std::string argument;
};

// Splits a definition line into its action, connection number and argument.
Step parseLine(const std::string& line) {
  Step step;
  step.action = line[0];
  if (line.size() >= 3 && std::strchr("IEie", line[0]) != nullptr &&
      std::isdigit(static_cast<unsigned char>(line[1])) != 0 && line[2] == ',') {
    step.connection = line[1] - '0';
    step.argument = line.substr(3);
  } else {
    step.argument = line.substr(1);
  }
  return step;
}

void play(const std::filesystem::path& definition, const std::string& host, int port) {
  std::ifstream file(definition, std::ios::binary);
  if (!file) throw StepFailure("cannot read the definition");
  std::map<int, std::unique_ptr<Connection>> connections;
  std::string line;
  int line_number = 0;
  bool connects = false;
  while (std::getline(file, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos || line[0] == '#') continue;
    try {
      Step step = parseLine(line);
      const std::string argument = completeMessage(substituteFiles(substituteTimes(step.argument)));
      auto found = connections.find(step.connection);
      Connection* connection = found == connections.end() ? nullptr : found->second.get();
      switch (step.action) {
        case 'i':
          if (argument == "CONNECT") {
            connections[step.connection] = std::make_unique<Connection>(connectTcp(host, port));
            connects = true;
          } else if (argument == "DISCONNECT") {
            connections.erase(step.connection);
          } else {
            throw StepFailure("syntax error: " + line);
          }
          break;
        case 'e':
          if (argument == "DISCONNECT") {
            if (connection == nullptr) throw StepFailure("no connection to wait on");
            const std::string reason = connection->awaitDisconnect();
            if (!reason.empty()) throw StepFailure(reason);
            connections.erase(step.connection);
          } else if (argument == "CONNECT") {
            throw StepFailure("eCONNECT (acceptor-side scenarios) is not supported");
          } else {
            throw StepFailure("syntax error: " + line);
          }
          break;
        case 'I':
          if (connection == nullptr) {
            throw StepFailure("unable to send message because connection was dropped");
          }
          connection->send(argument);
          break;
        case 'E': {
          if (connection == nullptr) throw StepFailure("no connection to read from");
          const std::string received = connection->readMessage();
          const std::string reason = compareMessages(argument, received);
          if (!reason.empty()) throw StepFailure(reason);
          break;
        }
        default:
          throw StepFailure("syntax error: " + line);
      }
    } catch (const StepFailure& failure) {
      throw StepFailure("line " + std::to_string(line_number) + ": " + failure.what());
    }
  }
  if (!connects) throw StepFailure("the definition has no iCONNECT");
}

}  // namespace

int RunSummary::passed() const {
  return static_cast<int>(std::count_if(results.begin(), results.end(),
                                        [](const ScenarioResult& r) { return r.passed; }));
}

int RunSummary::failed() const {
  return static_cast<int>(results.size()) - passed();
}

std::vector<std::filesystem::path> definitionFiles(const std::filesystem::path& folder) {
  std::vector<std::filesystem::path> files;
  std::error_code error;
  if (!std::filesystem::is_directory(folder, error)) return files;
  for (const auto& entry : std::filesystem::directory_iterator(folder, error)) {
    if (entry.is_regular_file() && entry.path().extension() == ".def") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

ScenarioResult runScenario(const std::filesystem::path& definition, const std::string& host,
                           int port) {
  ScenarioResult result;
  result.name = definition.stem().string();
  try {
    play(definition, host, port);
    result.passed = true;
  } catch (const std::exception& failure) {
    result.reason = failure.what();
  }
  return result;
}

RunSummary runScenarios(const std::vector<std::filesystem::path>& definitions,
                        const std::string& host, int port, std::ostream& out) {
  RunSummary summary;
  for (const auto& definition : definitions) {
    ScenarioResult result = runScenario(definition, host, port);
    if (result.passed) {
      out << "PASS " << result.name << "\n";
    } else {
      out << "FAIL " << result.name << ": " << result.reason << "\n";
    }
    out.flush();
    summary.results.push_back(std::move(result));
    // The acceptor notices the closed connection and ends the session before the next logon.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  out << summary.passed() << " passed, " << summary.failed() << " failed" << std::endl;
  return summary;
}

bool acceptsConnections(const std::string& host, int port) {
  try {
    ::close(connectTcp(host, port));
    return true;
  } catch (const StepFailure&) {
    return false;
  }
}

}  // namespace fbg::fixat
