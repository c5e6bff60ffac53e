#include "domain/durable_horizon.h"

#include <algorithm>

namespace fbg::fills {

void DurableHorizon::add(const std::string& session_id, int msg_seq_num) {
  ++pending_[session_id][msg_seq_num];
  ++total_;
}

void DurableHorizon::remove(const std::string& session_id, int msg_seq_num) {
  const auto session = pending_.find(session_id);
  if (session == pending_.end()) return;
  const auto number = session->second.find(msg_seq_num);
  if (number == session->second.end()) return;
  --total_;
  if (--number->second == 0) session->second.erase(number);
  if (session->second.empty()) pending_.erase(session);
}

int DurableHorizon::limit(const std::string& session_id, int next_target_seq) const {
  const auto session = pending_.find(session_id);
  if (session == pending_.end()) return next_target_seq;
  return std::min(next_target_seq, session->second.begin()->first);
}

std::size_t DurableHorizon::pending(const std::string& session_id) const {
  const auto session = pending_.find(session_id);
  if (session == pending_.end()) return 0;
  std::size_t count = 0;
  for (const auto& [number, copies] : session->second) count += static_cast<std::size_t>(copies);
  return count;
}

std::map<std::string, int> acknowledgedAfter(const std::vector<SessionSeq>& batch) {
  std::map<std::string, int> next;
  for (const auto& report : batch) {
    int& value = next[report.session_id];
    value = std::max(value, report.msg_seq_num + 1);
  }
  return next;
}

}  // namespace fbg::fills
