// The PostgreSQL MessageStore against a real PostgreSQL (issue 4, "The store").
#include <gtest/gtest.h>

#include <quickfix/SessionID.h>
#include <algorithm>
#include <memory>
#include <pqxx/pqxx>

#include "fix_store_env.h"
#include "pg_message_store.h"

namespace fbg {
namespace test {
namespace {

FIX::SessionID sessionId(const std::string& target) {
  return FIX::SessionID("FIX.4.4", "GATEWAY", target);
}

std::unique_ptr<PgMessageStore> openStore(const std::string& target) {
  return std::unique_ptr<PgMessageStore>(
      new PgMessageStore(fixStoreDatabaseUri(), sessionId(target)));
}

// The messages' column has no planner statistics, set by the first open only: a later open
// leaves the catalog row as it was (same xmin), so it neither writes it nor waits for its lock.
TEST(PgMessageStore, MessagesHaveNoPlannerStatisticsSetByTheFirstOpenOnly) {
  const auto statistics = [] {
    pqxx::connection connection(fixStoreDatabaseUri());
    pqxx::nontransaction read(connection);
    return read
        .exec1(
            "SELECT xmin::text || ':' || attstattarget FROM pg_attribute WHERE attrelid = "
            "'fix_messages'::regclass AND attname = 'message'")[0]
        .as<std::string>();
  };
  auto first = openStore("STATISTICS-1");
  const std::string after_first = statistics();
  EXPECT_EQ(after_first.substr(after_first.find(':')), ":0");
  auto second = openStore("STATISTICS-2");
  EXPECT_EQ(statistics(), after_first);
}

TEST(PgMessageStore, NewSessionStartsAtOneAndOne) {
  auto store = openStore("NEW-1");
  EXPECT_EQ(store->getNextSenderMsgSeqNum(), 1);
  EXPECT_EQ(store->getNextTargetMsgSeqNum(), 1);
}

TEST(PgMessageStore, SetGetRangesInOrderAndOnlyThisSession) {
  auto store = openStore("RANGE-1");
  auto other = openStore("RANGE-2");
  for (int seq = 1; seq <= 10; ++seq) {
    ASSERT_TRUE(store->set(seq, "message-" + std::to_string(seq)));
    store->incrNextSenderMsgSeqNum();
  }
  ASSERT_TRUE(other->set(1, "other-1"));
  std::vector<std::string> messages;
  store->get(3, 6, messages);
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages.front(), "message-3");
  EXPECT_EQ(messages.back(), "message-6");
  store->get(9, 20, messages);
  EXPECT_EQ(messages, (std::vector<std::string>{"message-9", "message-10"}));
  store->get(11, 20, messages);
  EXPECT_TRUE(messages.empty());
  EXPECT_EQ(store->getNextSenderMsgSeqNum(), 11);
}

TEST(PgMessageStore, ReopenedStoreHasTheSameNumbersAndMessages) {
  FIX::UtcTimeStamp created;
  {
    auto store = openStore("REOPEN-1");
    created = store->getCreationTime();
    for (int seq = 1; seq <= 3; ++seq) {
      ASSERT_TRUE(store->set(seq, "m" + std::to_string(seq)));
      store->incrNextSenderMsgSeqNum();
    }
    store->incrNextTargetMsgSeqNum();
    store->incrNextTargetMsgSeqNum();
  }
  auto reopened = openStore("REOPEN-1");
  EXPECT_EQ(reopened->getNextSenderMsgSeqNum(), 4);
  EXPECT_EQ(reopened->getNextTargetMsgSeqNum(), 3);
  EXPECT_EQ(reopened->getCreationTime().getTimeT(), created.getTimeT());
  std::vector<std::string> messages;
  reopened->get(1, 3, messages);
  EXPECT_EQ(messages, (std::vector<std::string>{"m1", "m2", "m3"}));
}

TEST(PgMessageStore, SetCommitsTheMessageAndItsSequenceNumberTogether) {
  // A crash right after set() (before incrNextSenderMsgSeqNum) must not leave the stored next
  // sender number behind a message that may already be on the wire.
  {
    auto store = openStore("CRASH-1");
    ASSERT_TRUE(store->set(1, "first"));
  }  // no incr: as if the process died here
  auto reopened = openStore("CRASH-1");
  EXPECT_EQ(reopened->getNextSenderMsgSeqNum(), 2);
}

TEST(PgMessageStore, SettersAndResetPersist) {
  {
    auto store = openStore("RESET-1");
    store->setNextSenderMsgSeqNum(41);
    store->setNextTargetMsgSeqNum(17);
    ASSERT_TRUE(store->set(41, "x"));
  }
  {
    auto store = openStore("RESET-1");
    EXPECT_EQ(store->getNextSenderMsgSeqNum(), 42);
    EXPECT_EQ(store->getNextTargetMsgSeqNum(), 17);
    store->reset();
    EXPECT_EQ(store->getNextSenderMsgSeqNum(), 1);
    EXPECT_EQ(store->getNextTargetMsgSeqNum(), 1);
  }
  auto store = openStore("RESET-1");
  EXPECT_EQ(store->getNextSenderMsgSeqNum(), 1);
  std::vector<std::string> messages;
  store->get(1, 100, messages);
  EXPECT_TRUE(messages.empty());
}

// Reads the stored next_target_seq through a second store on the same row (a fresh load).
int storedTargetSeq(const std::string& target) {
  return openStore(target)->getNextTargetMsgSeqNum();
}

TEST(PgMessageStore, TargetSeqIsWrittenEveryNMessagesWithEverySetOnRefreshAndOnClose) {
  {
    PgMessageStore store(fixStoreDatabaseUri(), sessionId("LAZY-1"), 4);
    for (int received = 1; received <= 3; ++received) store.incrNextTargetMsgSeqNum();
    EXPECT_EQ(store.getNextTargetMsgSeqNum(), 4);
    EXPECT_EQ(storedTargetSeq("LAZY-1"), 1);  // a crash now: 3 messages asked again
    store.incrNextTargetMsgSeqNum();
    EXPECT_EQ(storedTargetSeq("LAZY-1"), 5);  // the 4th increment wrote it
    store.incrNextTargetMsgSeqNum();
    ASSERT_TRUE(store.set(1, "out"));  // a sent message carries it
    EXPECT_EQ(storedTargetSeq("LAZY-1"), 6);
    store.incrNextTargetMsgSeqNum();
    store.refresh();  // what this process processed is not lost by reloading the row
    EXPECT_EQ(store.getNextTargetMsgSeqNum(), 7);
    EXPECT_EQ(storedTargetSeq("LAZY-1"), 7);
    store.incrNextTargetMsgSeqNum();
  }  // closed: written
  EXPECT_EQ(storedTargetSeq("LAZY-1"), 8);
}

// The fill receiver's group commit (target_seq_hold.h): no persisted number passes the lowest
// message the application has not committed, whichever write persists it.
TEST(PgMessageStore, HeldTargetSeqIsNeverPersistedPastAnUncommittedMessage) {
  int lowest_pending = 0;  // 0: nothing pending
  bool drained = false;
  TargetSeqHold hold;
  hold.limit = [&](const std::string& session_id, int next) {
    EXPECT_EQ(session_id, "FIX.4.4:GATEWAY->HOLD-1");
    return lowest_pending == 0 ? next : std::min(next, lowest_pending);
  };
  hold.drain = [&](const std::string&) { return drained; };
  {
    PgMessageStore store(fixStoreDatabaseUri(), sessionId("HOLD-1"), 2, hold);
    lowest_pending = 2;  // message 2 handed over, not committed
    store.incrNextTargetMsgSeqNum();
    store.incrNextTargetMsgSeqNum();               // the cadence writes: held at 2
    EXPECT_EQ(store.getNextTargetMsgSeqNum(), 3);  // QuickFIX's own number is not held
    EXPECT_EQ(storedTargetSeq("HOLD-1"), 2);
    ASSERT_TRUE(store.set(1, "out"));  // a sent message carries the held number too
    EXPECT_EQ(storedTargetSeq("HOLD-1"), 2);
    store.setNextTargetMsgSeqNum(10);  // a gap fill
    EXPECT_EQ(storedTargetSeq("HOLD-1"), 2);
    // Held back, the cadence still counts received messages, not what was persisted: no write
    // on every message.
    store.incrNextTargetMsgSeqNum();
    lowest_pending = 0;  // committed
    EXPECT_EQ(storedTargetSeq("HOLD-1"), 2);
    store.incrNextTargetMsgSeqNum();
    EXPECT_EQ(storedTargetSeq("HOLD-1"), 12);
    // A reset while something is pending waits for it; not drained in time, it fails and
    // changes nothing.
    lowest_pending = 12;
    store.incrNextTargetMsgSeqNum();
    EXPECT_THROW(store.reset(), FIX::IOException);
    EXPECT_EQ(store.getNextTargetMsgSeqNum(), 13);
    EXPECT_EQ(storedTargetSeq("HOLD-1"), 12);
    drained = true;
    lowest_pending = 0;
    store.reset();
    EXPECT_EQ(storedTargetSeq("HOLD-1"), 1);
    store.incrNextTargetMsgSeqNum();
    lowest_pending = 1;  // as if message 1 after the reset were still pending at the close
  }                      // closed: held
  EXPECT_EQ(storedTargetSeq("HOLD-1"), 1);
}

TEST(PgMessageStore, DatabaseDownIsAnIOExceptionAndTheStoreRecovers) {
  auto store = openStore("DOWN-1");
  ASSERT_TRUE(store->set(1, "before"));
  store->incrNextSenderMsgSeqNum();
  stopFixStoreDatabase();
  EXPECT_THROW(store->set(2, "during"), FIX::IOException);
  EXPECT_THROW(store->incrNextTargetMsgSeqNum(), FIX::IOException);
  startFixStoreDatabase();
  // The server restarted, but refresh() first writes what this process counted (its target
  // number is ahead of the row), its own exact sender number with it, so nothing is skipped.
  store->refresh();
  EXPECT_EQ(store->getNextSenderMsgSeqNum(), 2);
  ASSERT_TRUE(store->set(2, "after"));
  std::vector<std::string> messages;
  store->get(1, 2, messages);
  EXPECT_EQ(messages, (std::vector<std::string>{"before", "after"}));
}

// A store whose writes commit asynchronously, as the services open it (withoutSynchronousCommit).
std::unique_ptr<PgMessageStore> openAsyncStore(const std::string& target, int block_messages) {
  return std::unique_ptr<PgMessageStore>(
      new PgMessageStore(fixStoreDatabaseUri() + "?options=-c%20synchronous_commit%3Doff",
                         sessionId(target), 1, TargetSeqHold(), block_messages));
}

std::string sessionColumn(const std::string& target, const std::string& column) {
  pqxx::connection connection(fixStoreDatabaseUri());
  pqxx::nontransaction read(connection);
  return read
      .exec_params1("SELECT " + column + "::text FROM fix_sessions WHERE session_id = $1",
                    sessionId(target).toString())[0]
      .as<std::string>();
}

void sendNumbered(PgMessageStore& store, int from, int through) {
  for (int seq = from; seq <= through; ++seq) {
    ASSERT_TRUE(store.set(seq, "m" + std::to_string(seq)));
    store.incrNextSenderMsgSeqNum();
  }
}

// The numbers are reserved a block at a time, before the first number of the block is used,
// by set() and by incrNextSenderMsgSeqNum() alone (PersistMessages=N); a reopen on the same
// server life resumes at the exact number, not at the bound.
TEST(PgMessageStore, SenderNumbersAreReservedABlockAheadAndReopenedExactly) {
  {
    auto store = openAsyncStore("RESERVE-1", 10);
    EXPECT_EQ(sessionColumn("RESERVE-1", "sender_seq_reserved"), "1");
    ASSERT_NO_FATAL_FAILURE(sendNumbered(*store, 1, 1));
    EXPECT_EQ(sessionColumn("RESERVE-1", "sender_seq_reserved"), "11");  // numbers 1..10
    ASSERT_NO_FATAL_FAILURE(sendNumbered(*store, 2, 10));
    EXPECT_EQ(sessionColumn("RESERVE-1", "sender_seq_reserved"), "11");
    ASSERT_NO_FATAL_FAILURE(sendNumbered(*store, 11, 11));
    EXPECT_EQ(sessionColumn("RESERVE-1", "sender_seq_reserved"), "21");
    for (int seq = 12; seq <= 25; ++seq) store->incrNextSenderMsgSeqNum();  // no set()
    EXPECT_EQ(sessionColumn("RESERVE-1", "sender_seq_reserved"), "31");
  }
  auto reopened = openAsyncStore("RESERVE-1", 10);
  EXPECT_EQ(reopened->getNextSenderMsgSeqNum(), 26);
}

// What an asynchronous commit lost in a crash of the server (here undone by hand, since which
// commits a real crash loses is up to the WAL writer's timing): the reopened store resumes at
// the reserved bound, past every number the peer may have seen, and goes on exactly from there.
TEST(PgMessageStore, SenderNumberLostWithTheServerResumesAtTheReservedBound) {
  {
    auto store = openAsyncStore("LOST-1", 10);
    ASSERT_NO_FATAL_FAILURE(sendNumbered(*store, 1, 25));
  }
  {
    pqxx::connection connection(fixStoreDatabaseUri());
    pqxx::nontransaction work(connection);
    work.exec("CHECKPOINT");  // the messages on disk, so only the hand-made loss below counts
  }
  killAndRestartFixStoreDatabase();
  {
    pqxx::connection connection(fixStoreDatabaseUri());
    pqxx::nontransaction work(connection);
    work.exec_params("UPDATE fix_sessions SET next_sender_seq = 4 WHERE session_id = $1",
                     sessionId("LOST-1").toString());
  }
  {
    auto store = openAsyncStore("LOST-1", 10);
    EXPECT_EQ(store->getNextSenderMsgSeqNum(), 31);  // 21..30 reserved by set(21)
    ASSERT_NO_FATAL_FAILURE(sendNumbered(*store, 31, 32));
    std::vector<std::string> messages;
    store->get(25, 35, messages);
    EXPECT_EQ(messages, (std::vector<std::string>{"m25", "m31", "m32"}));
  }
  // Written since the restart: trusted again, no second jump.
  EXPECT_EQ(openAsyncStore("LOST-1", 10)->getNextSenderMsgSeqNum(), 33);
}

// A real kill -9 of the server right after the last set() returned: whatever the asynchronous
// writes lost, the reopened store is not behind the next number (the reservation commits
// synchronously, and the server's restart is seen).
TEST(PgMessageStore, ServerKilledRightAfterASendNeverResumesBehindIt) {
  for (int round = 0; round < 3; ++round) {
    const std::string target = "KILLED-" + std::to_string(round);
    {
      auto store = openAsyncStore(target, 5);
      ASSERT_NO_FATAL_FAILURE(sendNumbered(*store, 1, 12));
      killAndRestartFixStoreDatabase();
      EXPECT_THROW(store->set(13, "after the crash"), FIX::IOException);  // its connection died
    }
    // set(11) reserved the numbers 11..15; the row, written before the restart, is not trusted.
    EXPECT_EQ(openAsyncStore(target, 5)->getNextSenderMsgSeqNum(), 16) << target;
  }
}

}  // namespace
}  // namespace test
}  // namespace fbg
