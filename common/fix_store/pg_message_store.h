// A QuickFIX MessageStore backed by PostgreSQL (QuickFIX 1.15.1 ships none). Compiled as C++14
// with the QuickFIX headers; include it only from translation units that use QuickFIX.
//
// Tables (created on first use, in the owning process's database):
//
//   fix_sessions  session_id text PK | creation_time timestamptz | next_sender_seq int
//                 | next_target_seq int | sender_seq_reserved int | server_started_at timestamptz
//   fix_messages  session_id text | seq int | message text        PK (session_id, seq)
//
// set(seq, message) writes the message AND advances next_sender_seq to seq + 1 in one statement:
// QuickFIX calls set() and then incrNextSenderMsgSeqNum() before the bytes leave, so a crash
// between the two can never leave the store behind what was sent (the failover drift QuickFIX/J
// users report). incrNextSenderMsgSeqNum() after a set() of the same number only moves the cache.
// Every database failure is thrown as FIX::IOException, the one exception QuickFIX expects here.
//
// next_target_seq (the peer's messages processed) is written every target_seq_write_every_messages
// increments, with every set(), on refresh() and on destruction; 1 writes it on each message.
// Above 1 a crash of the process leaves it up to that many messages behind: at the next logon
// QuickFIX asks the peer to resend them and the application sees them again (PossDupFlag=Y).
// Only a process whose handling of a peer message is idempotent may set it above 1 (the gateway:
// replies apply by state rank; the fill receiver: reports are deduplicated on ExecID). It saves
// one statement and one WAL record per received message.
//
// Sender numbers reserved in blocks. The owning process may commit the store's writes
// asynchronously (its URI sets synchronous_commit off): they survive a crash of the process, but a
// crash of the database server can lose the last few hundred milliseconds of them, and a
// next_sender_seq read back behind a number the peer has seen would make the peer refuse every
// logon ("MsgSeqNum too low"). So before a sender number at or past sender_seq_reserved is used
// (set(), or incrNextSenderMsgSeqNum() without one), a synchronous commit moves
// sender_seq_reserved sender_seq_block_messages past it: every number ever handed to the wire is
// below a durable sender_seq_reserved. Every write of next_sender_seq also records
// pg_postmaster_start_time() in server_started_at. load() trusts next_sender_seq only when the
// server has not restarted since it was written (same start time: an asynchronous commit is lost
// only with the server); otherwise the session resumes at sender_seq_reserved, and the peer's
// ResendRequest for the skipped numbers gets one SequenceReset-GapFill (nothing is stored for
// them). One synchronous commit per block; a clean server restart skips at most a block too.
//
// Held back (TargetSeqHold, optional): every write of next_target_seq (the cadence above, set(),
// setNextTargetMsgSeqNum, refresh, destruction) persists min(in-memory number, hold.limit), so an
// application that commits messages after QuickFIX counted them never has a number persisted
// above one it has not committed; it brings the persisted number up itself after its commits
// (the fill receiver does it in the same transaction, with GREATEST: that is why this store only
// ever lowers or sets, never needs to know about it). reset() first calls hold.drain. The cadence
// counts received messages, not what was persisted, so a held number costs no extra writes.
#pragma once

#include <quickfix/MessageStore.h>

#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "target_seq_hold.h"

namespace fbg {

class PgMessageStore : public FIX::MessageStore {
 public:
  PgMessageStore(const std::string& postgres_uri, const FIX::SessionID& session_id,
                 int target_seq_write_every_messages = 1, TargetSeqHold hold = TargetSeqHold(),
                 int sender_seq_block_messages = kSenderSeqBlockMessagesDefault);
  static constexpr int kSenderSeqBlockMessagesDefault = 1000;
  ~PgMessageStore() override;

  bool set(int seq, const std::string& message) throw(FIX::IOException) override;
  void get(int begin, int end, std::vector<std::string>& messages) const
      throw(FIX::IOException) override;
  int getNextSenderMsgSeqNum() const throw(FIX::IOException) override;
  int getNextTargetMsgSeqNum() const throw(FIX::IOException) override;
  void setNextSenderMsgSeqNum(int seq) throw(FIX::IOException) override;
  void setNextTargetMsgSeqNum(int seq) throw(FIX::IOException) override;
  void incrNextSenderMsgSeqNum() throw(FIX::IOException) override;
  void incrNextTargetMsgSeqNum() throw(FIX::IOException) override;
  FIX::UtcTimeStamp getCreationTime() const throw(FIX::IOException) override;
  void reset() throw(FIX::IOException) override;
  void refresh() throw(FIX::IOException) override;

 private:
  void load();
  // Before `next_sender_seq` (the number after the one about to be used) is used: a synchronous
  // commit of sender_seq_reserved past it, if it is not below it already.
  void reserveSenderSeqThrough(int next_sender_seq);
  void writeSequences();
  void writeTargetSeqIfBehind() noexcept;
  // min(next_target_seq_, hold_.limit): what may be persisted now.
  int persistableTargetSeq() const;
  pqxx::connection& connection() const;

  std::string postgres_uri_;
  std::string session_id_;
  mutable std::unique_ptr<pqxx::connection> connection_;  // reopened after a failure
  int next_sender_seq_ = 1;
  int next_target_seq_ = 1;
  int sender_seq_written_by_set_ = 0;  // the next_sender_seq the last set() committed
  int target_seq_write_every_messages_ = 1;
  int target_seq_written_ = 1;  // the next_target_seq the database holds (as this store wrote it)
  int target_seq_at_last_write_ = 1;  // next_target_seq_ when it was last written (the cadence)
  int sender_seq_reserved_ = 1;       // durable: every sender number used is below it
  int sender_seq_block_messages_ = kSenderSeqBlockMessagesDefault;
  TargetSeqHold hold_;
  FIX::UtcTimeStamp creation_time_;
};

class PgMessageStoreFactory : public FIX::MessageStoreFactory {
 public:
  explicit PgMessageStoreFactory(
      std::string postgres_uri, int target_seq_write_every_messages = 1,
      TargetSeqHold hold = TargetSeqHold(),
      int sender_seq_block_messages = PgMessageStore::kSenderSeqBlockMessagesDefault)
      : postgres_uri_(std::move(postgres_uri)),
        target_seq_write_every_messages_(target_seq_write_every_messages),
        hold_(std::move(hold)),
        sender_seq_block_messages_(sender_seq_block_messages) {}
  FIX::MessageStore* create(const FIX::SessionID& session_id) override;
  void destroy(FIX::MessageStore* store) override;

 private:
  std::string postgres_uri_;
  int target_seq_write_every_messages_;
  TargetSeqHold hold_;
  int sender_seq_block_messages_;
};

}  // namespace fbg
