// A QuickFIX session engine behind plain types, so the rest of the code (C++20) never includes a
// QuickFIX header (C++14 only: dynamic exception specifications). Messages cross this boundary
// as ordered (tag, value) lists; sessions as QuickFIX's text ids ("FIX.4.4:GATEWAY->SIM-A").
//
// This header must stay C++14-compatible: it is included from both sides.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "target_seq_hold.h"

namespace fbg {
namespace fix {

struct Field {
  int tag;
  std::string value;
};

// Header fields other than the session's own (8, 9, 35, 49, 56, 34, 52, 10) are in header.
struct Message {
  std::string msg_type;
  std::vector<Field> header;
  std::vector<Field> body;
  // Inbound only: the MsgSeqNum(34) it arrived with (a session-level resend keeps the original
  // number, so it tells a resend from a second send of the same content). Ignored on send.
  int msg_seq_num = 0;
  // Inbound only: the whole message as received, SOH shown as '|' (kept as evidence).
  std::string raw;

  // The body field's value, or nullptr.
  [[nodiscard]] const std::string* find(int tag) const;
  // The header field's value (PossDupFlag(43), OrigSendingTime(122), ...), or nullptr.
  [[nodiscard]] const std::string* findInHeader(int tag) const;
  void set(int tag, const std::string& value) { body.push_back(Field{tag, value}); }
};

// What the application did with an inbound application message.
enum class Delivery {
  Accepted,                // processed; QuickFIX counts it
  StorageFailed,           // not processed: disconnect without counting it, the peer resends
  UnsupportedMessageType,  // answered with a BusinessMessageReject by QuickFIX
};

struct SessionStatus {
  std::string session_id;
  bool logged_on;
  int next_sender_seq_num;
  int next_target_seq_num;
};

struct EngineCallbacks {
  std::function<void(const std::string& session_id)> on_logon;
  std::function<void(const std::string& session_id)> on_logout;
  std::function<Delivery(const std::string& session_id, const Message& message)> on_app_message;
  // Called before an application message is (re)sent; false replaces it with a gap fill.
  // possible_duplicate is true for a resend answering the peer's ResendRequest.
  std::function<bool(const std::string& session_id, const Message& message,
                     bool possible_duplicate)>
      before_app_send;
};

enum class EngineRole { Acceptor, Initiator };

// Where QuickFIX keeps each session's sequence numbers and sent messages.
enum class StoreKind {
  // PgMessageStore: a sent message and its sequence number commit together, so the store
  // survives a crash of the process; a crash of the machine too only where the connection
  // commits synchronously (the processes' fix_store_synchronous_commit, off by default).
  Postgres,
  // QuickFIX's FileStore under each session's FileStorePath setting. It writes and flushes to the
  // operating system but never fsyncs: it survives a process crash, not a machine crash.
  File,
};

struct StoreOptions {
  StoreKind kind;
  std::string postgres_uri;  // Postgres only
  // Postgres only: see PgMessageStore. 1 writes the peer's sequence number on every message;
  // above 1 only for an application that handles a re-delivered peer message idempotently.
  int target_seq_write_every_messages = 1;
  // Postgres only: for an application that commits received messages after QuickFIX counted
  // them (target_seq_hold.h); empty for one that commits inside on_app_message.
  TargetSeqHold target_seq_hold;
  // Postgres only: sender numbers reserved per synchronous commit (PgMessageStore: after a crash
  // of the database server the session resumes past the reserved bound, never behind).
  int sender_seq_block_messages = 1000;
};

class Engine {
 public:
  // settings_text: QuickFIX session settings (INI). postgres_uri: where the PgMessageStore keeps
  // sequence numbers and sent messages. Throws std::runtime_error naming the bad setting.
  Engine(EngineRole role, const std::string& settings_text, const std::string& postgres_uri,
         EngineCallbacks callbacks);
  // The same with the store chosen; StoreKind::File throws std::runtime_error if a session of
  // this role has no FileStorePath.
  Engine(EngineRole role, const std::string& settings_text, const StoreOptions& store,
         EngineCallbacks callbacks);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void start();
  void stop();
  // False when the session is unknown or not logged on (the message is not queued).
  bool send(const std::string& session_id, const Message& message);
  // Drops the session's connection at once, without a Logout, as a cut cable would; an initiator
  // peer reconnects by itself, and what was sent before is in the store for its ResendRequest.
  // Call it only from this engine's on_app_message callback: QuickFIX runs all of an engine's
  // sockets on that one thread, its socket monitor is not locked, and this is the call QuickFIX
  // makes itself on that thread when fromApp throws FIX::IOException. (Session::logout() would
  // be callable from anywhere, but it disables an acceptor session until logon() is called and
  // takes effect only on the next timer tick, after more messages have been processed.)
  // The message being delivered still counts as received. False when the session is unknown or
  // not logged on.
  bool disconnect(const std::string& session_id);
  [[nodiscard]] std::vector<SessionStatus> sessions() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fix
}  // namespace fbg
