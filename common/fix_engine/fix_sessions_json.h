// GET /v1/sessions of the gateway and the fill receiver (API.md): one object per FIX session,
// {"session_id","logged_on","next_sender_seq_num","next_target_seq_num"}, as a JSON array text.
#pragma once

#include <string>

#include "fix_engine.h"

namespace fbg {
namespace fix {

std::string sessionsJson(const Engine& engine);

}  // namespace fix
}  // namespace fbg
