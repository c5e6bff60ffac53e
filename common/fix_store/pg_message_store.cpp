#include "pg_message_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace fbg {
namespace {

const char* const kSchema =
    "CREATE TABLE IF NOT EXISTS fix_sessions ("
    "  session_id text PRIMARY KEY,"
    "  creation_time timestamptz NOT NULL DEFAULT clock_timestamp(),"
    "  next_sender_seq integer NOT NULL DEFAULT 1,"
    "  next_target_seq integer NOT NULL DEFAULT 1);"
    "CREATE TABLE IF NOT EXISTS fix_messages ("
    "  session_id text NOT NULL,"
    "  seq integer NOT NULL,"
    "  message text NOT NULL,"
    "  PRIMARY KEY (session_id, seq));"
    // Never filtered or sorted on: no planner statistics, so autoanalyze does not sort a sample
    // of whole messages (ledger_service/migrations/007 says why). Only when not yet so: the
    // ALTER writes the catalog and takes a lock that waits for autovacuum, on every open.
    "DO $$ BEGIN"
    "  IF (SELECT attstattarget FROM pg_attribute WHERE attrelid = 'fix_messages'::regclass"
    "      AND attname = 'message') <> 0 THEN"
    "    ALTER TABLE fix_messages ALTER COLUMN message SET STATISTICS 0;"
    "  END IF;"
    "END $$;"
    // The sender numbers' reservation (the header's contract), added to a table made before it
    // existed. Only when missing, for the same reason as above.
    "DO $$ BEGIN"
    "  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'fix_sessions'::regclass"
    "      AND attname = 'sender_seq_reserved') THEN"
    "    ALTER TABLE fix_sessions ADD COLUMN sender_seq_reserved integer NOT NULL DEFAULT 1,"
    "      ADD COLUMN server_started_at timestamptz;"
    "  END IF;"
    "END $$";

// The statements of every message (set, and the sequence numbers of incr*), prepared on each
// connection: the server parses and plans them once, not once per message. pqxx prepares them
// lazily, on first use, so they may name tables the constructor has yet to create.
const char* const kSetStatement = "fix_store_set";
const char* const kSetSql =
    "WITH stored AS (INSERT INTO fix_messages (session_id, seq, message) VALUES ($1, $2, $3) "
    "ON CONFLICT (session_id, seq) DO UPDATE SET message = EXCLUDED.message) "
    "UPDATE fix_sessions SET next_sender_seq = GREATEST(next_sender_seq, $2 + 1), "
    "next_target_seq = $4, server_started_at = pg_postmaster_start_time() WHERE session_id = $1";
const char* const kSequencesStatement = "fix_store_sequences";
const char* const kSequencesSql =
    "UPDATE fix_sessions SET next_sender_seq = $2, next_target_seq = $3, "
    "server_started_at = pg_postmaster_start_time() WHERE session_id = $1";
const char* const kReserveStatement = "fix_store_reserve";
const char* const kReserveSql =
    "UPDATE fix_sessions SET sender_seq_reserved = GREATEST(sender_seq_reserved, $2) "
    "WHERE session_id = $1";

// Runs body against the connection; any database failure becomes FIX::IOException and drops
// the connection so the next call reconnects.
template <typename Body>
auto guarded(std::unique_ptr<pqxx::connection>& connection, const std::string& what, Body body)
    -> decltype(body()) {
  try {
    return body();
  } catch (const std::exception& failure) {
    connection.reset();
    throw FIX::IOException(what + ": " + failure.what());
  }
}

}  // namespace

PgMessageStore::PgMessageStore(const std::string& postgres_uri, const FIX::SessionID& session_id,
                               int target_seq_write_every_messages, TargetSeqHold hold,
                               int sender_seq_block_messages)
    : postgres_uri_(postgres_uri),
      session_id_(session_id.toString()),
      target_seq_write_every_messages_(std::max(1, target_seq_write_every_messages)),
      sender_seq_block_messages_(std::max(1, sender_seq_block_messages)),
      hold_(std::move(hold)) {
  guarded(connection_, "fix store open", [this] {
    pqxx::work work(connection());
    // Serialise concurrent creators of the schema (two stores starting at once).
    work.exec("SELECT pg_advisory_xact_lock(7306034158)");
    work.exec(kSchema);
    work.exec_params("INSERT INTO fix_sessions (session_id) VALUES ($1) ON CONFLICT DO NOTHING",
                     session_id_);
    work.commit();
  });
  load();
}

PgMessageStore::~PgMessageStore() {
  writeTargetSeqIfBehind();
}

// Best effort (a destructor, or before a reload): a number left behind is only a resend asked.
void PgMessageStore::writeTargetSeqIfBehind() noexcept {
  try {
    if (target_seq_written_ == persistableTargetSeq()) return;
    writeSequences();
  } catch (...) {  // FIX::IOException: the connection is dropped, the number stays behind
  }
}

int PgMessageStore::persistableTargetSeq() const {
  if (!hold_.limit) return next_target_seq_;
  return std::min(next_target_seq_, hold_.limit(session_id_, next_target_seq_));
}

pqxx::connection& PgMessageStore::connection() const {
  if (!connection_ || !connection_->is_open()) {
    connection_.reset(new pqxx::connection(postgres_uri_));
    connection_->prepare(kSetStatement, kSetSql);
    connection_->prepare(kSequencesStatement, kSequencesSql);
    connection_->prepare(kReserveStatement, kReserveSql);
  }
  return *connection_;
}

void PgMessageStore::load() {
  guarded(connection_, "fix store load", [this] {
    pqxx::nontransaction work(connection());
    const auto row = work.exec_params1(
        "SELECT next_sender_seq, next_target_seq, extract(epoch FROM creation_time)::bigint, "
        "(extract(microseconds FROM creation_time)::bigint % 1000000), sender_seq_reserved, "
        "server_started_at IS NOT DISTINCT FROM pg_postmaster_start_time() FROM fix_sessions "
        "WHERE session_id = $1",
        session_id_);
    next_sender_seq_ = row[0].as<int>();
    next_target_seq_ = row[1].as<int>();
    sender_seq_reserved_ = row[4].as<int>();
    const bool written_since_server_start = row[5].as<bool>();
    if (!written_since_server_start && sender_seq_reserved_ > next_sender_seq_) {
      spdlog::warn(
          "fix store {}: the database server restarted since next_sender_seq {} was written, "
          "which may have lost later asynchronous writes: resuming at {}, the reserved bound "
          "(the peer's resend request for the numbers between gets a gap fill)",
          session_id_, next_sender_seq_, sender_seq_reserved_);
      next_sender_seq_ = sender_seq_reserved_;
    }
    target_seq_written_ = next_target_seq_;
    target_seq_at_last_write_ = next_target_seq_;
    creation_time_ = FIX::UtcTimeStamp(static_cast<time_t>(row[2].as<long long>()),
                                       static_cast<int>(row[3].as<long long>()), 6);
    sender_seq_written_by_set_ = 0;
  });
}

void PgMessageStore::reserveSenderSeqThrough(int next_sender_seq) {
  if (next_sender_seq <= sender_seq_reserved_) return;
  const int reserved = next_sender_seq + sender_seq_block_messages_ - 1;
  guarded(connection_, "fix store reserve", [&] {
    pqxx::work work(connection());
    // The connection may commit asynchronously; this one commit must not.
    work.exec("SET LOCAL synchronous_commit = on");
    work.exec_prepared(kReserveStatement, session_id_, reserved);
    work.commit();
  });
  sender_seq_reserved_ = reserved;
}

bool PgMessageStore::set(int seq, const std::string& message) throw(FIX::IOException) {
  reserveSenderSeqThrough(seq + 1);
  const int target_seq = persistableTargetSeq();
  guarded(connection_, "fix store set", [&] {
    pqxx::nontransaction work(connection());
    // One statement: the message and the sender number it used commit together.
    work.exec_prepared(kSetStatement, session_id_, seq, message, target_seq);
  });
  target_seq_written_ = target_seq;
  target_seq_at_last_write_ = next_target_seq_;
  if (seq + 1 > next_sender_seq_) sender_seq_written_by_set_ = seq + 1;
  return true;
}

void PgMessageStore::get(int begin, int end, std::vector<std::string>& messages) const
    throw(FIX::IOException) {
  messages.clear();
  guarded(connection_, "fix store get", [&] {
    pqxx::nontransaction work(connection());
    for (const auto& row : work.exec_params(
             "SELECT message FROM fix_messages WHERE session_id = $1 AND seq BETWEEN $2 AND $3 "
             "ORDER BY seq",
             session_id_, begin, end)) {
      messages.push_back(row[0].as<std::string>());
    }
  });
}

int PgMessageStore::getNextSenderMsgSeqNum() const throw(FIX::IOException) {
  return next_sender_seq_;
}

int PgMessageStore::getNextTargetMsgSeqNum() const throw(FIX::IOException) {
  return next_target_seq_;
}

void PgMessageStore::writeSequences() {
  const int target_seq = persistableTargetSeq();
  guarded(connection_, "fix store sequences", [&] {
    pqxx::nontransaction work(connection());
    work.exec_prepared(kSequencesStatement, session_id_, next_sender_seq_, target_seq);
  });
  target_seq_written_ = target_seq;
  target_seq_at_last_write_ = next_target_seq_;
}

void PgMessageStore::setNextSenderMsgSeqNum(int seq) throw(FIX::IOException) {
  next_sender_seq_ = seq;
  sender_seq_written_by_set_ = 0;
  writeSequences();
}

void PgMessageStore::setNextTargetMsgSeqNum(int seq) throw(FIX::IOException) {
  next_target_seq_ = seq;
  writeSequences();
}

void PgMessageStore::incrNextSenderMsgSeqNum() throw(FIX::IOException) {
  if (sender_seq_written_by_set_ == next_sender_seq_ + 1) {  // set() committed it already
    ++next_sender_seq_;
    return;
  }
  reserveSenderSeqThrough(next_sender_seq_ + 1);
  ++next_sender_seq_;
  writeSequences();
}

void PgMessageStore::incrNextTargetMsgSeqNum() throw(FIX::IOException) {
  ++next_target_seq_;
  if (next_target_seq_ - target_seq_at_last_write_ < target_seq_write_every_messages_) return;
  writeSequences();
}

FIX::UtcTimeStamp PgMessageStore::getCreationTime() const throw(FIX::IOException) {
  return creation_time_;
}

void PgMessageStore::reset() throw(FIX::IOException) {
  // The peer starts again at 1 and never resends what came before: what the application still
  // holds uncommitted must be committed before the numbers go back.
  if (hold_.drain && !hold_.drain(session_id_)) {
    throw FIX::IOException("fix store reset: messages of " + session_id_ +
                           " are not committed yet");
  }
  guarded(connection_, "fix store reset", [this] {
    pqxx::work work(connection());
    work.exec_params("DELETE FROM fix_messages WHERE session_id = $1", session_id_);
    work.exec_params(
        "UPDATE fix_sessions SET next_sender_seq = 1, next_target_seq = 1, "
        "sender_seq_reserved = 1, server_started_at = pg_postmaster_start_time(), "
        "creation_time = clock_timestamp() WHERE session_id = $1",
        session_id_);
    work.commit();
  });
  load();
}

void PgMessageStore::refresh() throw(FIX::IOException) {
  // What this process processed itself is newer than the row: write it before reading back.
  writeTargetSeqIfBehind();
  load();
}

FIX::MessageStore* PgMessageStoreFactory::create(const FIX::SessionID& session_id) {
  return new PgMessageStore(postgres_uri_, session_id, target_seq_write_every_messages_, hold_);
}

void PgMessageStoreFactory::destroy(FIX::MessageStore* store) {
  delete store;
}

}  // namespace fbg
