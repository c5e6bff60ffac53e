// Which of a session's received reports are not committed yet, and so how far the FIX store may
// acknowledge the broker's messages (common/fix_store/target_seq_hold.h). Pure; the batch writer
// (report_writer.h) keeps one under its lock.
//
// A report is pending from its handover in fromApp (before QuickFIX counts it) until the batch
// holding it has committed. The durable horizon of a session is the lowest pending MsgSeqNum, or
// the session's next target number when nothing is pending: every message below it is either a
// committed report or one QuickFIX handled itself (heartbeats, refused messages). A MsgSeqNum may
// be pending twice (a report handed over, then its session dropped before QuickFIX counted it and
// the broker resent it), so each number is counted.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace fbg::fills {

class DurableHorizon {
 public:
  void add(const std::string& session_id, int msg_seq_num);
  // A committed report; a number not pending is ignored.
  void remove(const std::string& session_id, int msg_seq_num);
  // min(next_target_seq, the lowest pending MsgSeqNum of the session).
  [[nodiscard]] int limit(const std::string& session_id, int next_target_seq) const;
  [[nodiscard]] std::size_t pending(const std::string& session_id) const;
  [[nodiscard]] std::size_t pendingTotal() const { return total_; }

 private:
  std::map<std::string, std::map<int, int>> pending_;  // session -> MsgSeqNum -> copies
  std::size_t total_ = 0;
};

struct SessionSeq {
  std::string session_id;
  int msg_seq_num;
};

// What a committed batch lets the FIX store persist for each of its sessions: the highest
// MsgSeqNum of the session in the batch, plus one. Safe whatever else is pending: a session's
// reports are handed over in MsgSeqNum order and written in handover order, so anything of it
// still pending after the batch has a higher number (the store may have counted more, e.g.
// heartbeats, and persists those itself).
[[nodiscard]] std::map<std::string, int> acknowledgedAfter(const std::vector<SessionSeq>& batch);

}  // namespace fbg::fills
