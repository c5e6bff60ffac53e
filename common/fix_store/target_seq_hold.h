// How an application that commits the peer's messages after QuickFIX has counted them (on a
// thread of its own, several at once) keeps the FIX store from acknowledging what is not
// committed yet. In FIX the acknowledgement that matters is the persisted next target sequence
// number: after a crash QuickFIX asks the peer to resend everything from it on. So the store
// must never persist a number above a message the application has not committed.
//
// Plain C++14 (no QuickFIX types): fix_engine.h (C++20 callers) and pg_message_store.h (QuickFIX
// side) both include it. Both functions are called on the session's QuickFIX thread and must be
// thread-safe against the application's own thread.
#pragma once

#include <functional>
#include <string>

namespace fbg {

struct TargetSeqHold {
  // The highest next_target_seq the store may persist for the session, given its in-memory
  // one: next_target_seq itself, or the lowest MsgSeqNum handed to the application and not yet
  // committed if that is lower. Empty: the in-memory number.
  std::function<int(const std::string& session_id, int next_target_seq)> limit;
  // Called before the store resets the session to 1 (ResetSeqNumFlag logon, the daily schedule):
  // the peer starts again at 1 and will never resend what came before, so whatever is still
  // uncommitted must be committed first. Returns once nothing of the session is pending, false
  // if that did not happen within the application's bound (the reset then fails with
  // FIX::IOException and the session disconnects). Empty: nothing to wait for.
  std::function<bool(const std::string& session_id)> drain;
};

}  // namespace fbg
