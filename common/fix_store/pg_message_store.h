// A QuickFIX MessageStore backed by PostgreSQL (QuickFIX 1.15.1 ships none). Compiled as C++14
// with the QuickFIX headers; include it only from translation units that use QuickFIX.
//
// Tables (created on first use, in the owning process's database):
//
//   fix_sessions  session_id text PK | creation_time timestamptz | next_sender_seq int
//                 | next_target_seq int
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
                 int target_seq_write_every_messages = 1, TargetSeqHold hold = TargetSeqHold());
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
  TargetSeqHold hold_;
  FIX::UtcTimeStamp creation_time_;
};

class PgMessageStoreFactory : public FIX::MessageStoreFactory {
 public:
  explicit PgMessageStoreFactory(std::string postgres_uri, int target_seq_write_every_messages = 1,
                                 TargetSeqHold hold = TargetSeqHold())
      : postgres_uri_(std::move(postgres_uri)),
        target_seq_write_every_messages_(target_seq_write_every_messages),
        hold_(std::move(hold)) {}
  FIX::MessageStore* create(const FIX::SessionID& session_id) override;
  void destroy(FIX::MessageStore* store) override;

 private:
  std::string postgres_uri_;
  int target_seq_write_every_messages_;
  TargetSeqHold hold_;
};

}  // namespace fbg
