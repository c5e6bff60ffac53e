#include "fix_sessions_json.h"

#include <nlohmann/json.hpp>

namespace fbg::fix {

std::string sessionsJson(const Engine& engine) {
  nlohmann::json sessions = nlohmann::json::array();
  for (const auto& s : engine.sessions()) {
    sessions.push_back({{"session_id", s.session_id},
                        {"logged_on", s.logged_on},
                        {"next_sender_seq_num", s.next_sender_seq_num},
                        {"next_target_seq_num", s.next_target_seq_num}});
  }
  return sessions.dump();
}

}  // namespace fbg::fix
