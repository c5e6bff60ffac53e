// Identifier validation and order id minting.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/identifiers.h"

namespace fbg {
namespace {

constexpr int64_t kEpoch2020Ms = 1'577'836'800'000;   // 2020-01-01T00:00:00Z
constexpr int64_t kTimeSpanMs = 2'821'109'907'456;    // 36^8 ms, the 8-character time part
constexpr int64_t kSequenceModulus = 78'364'164'096;  // 36^7

// ---------------------------------------------------------------- symbols

TEST(Symbol, AcceptsTheApiPattern) {
  for (const char* symbol : {"A", "AAPL", "BRK.B", "X1", "A.", "ABCDEFGHIJ", "Z9.9.9", "MSFT"}) {
    EXPECT_TRUE(isValidSymbol(symbol)) << symbol;
  }
}

TEST(Symbol, RefusesAnythingElse) {
  for (const std::string& symbol :
       std::vector<std::string>{"", "aapl", "Aapl", "AAPl", "1ABC", ".A", "ABCDEFGHIJK", "AA PL",
                                "AAPL ", " AAPL", "AA-PL", "AA_PL", "AA/PL", "\xC3\x84PL",
                                "A\xC3\x84", "AAPL\n", std::string("AA\0PL", 5), "A$", "É"}) {
    EXPECT_FALSE(isValidSymbol(symbol)) << symbol;
  }
}

// ---------------------------------------------------------------- accounts, keys, brokers

TEST(AccountId, OneToThirtyTwoSafeCharacters) {
  for (const std::string& id :
       std::vector<std::string>{"ACC-1", "a", "acc.1_x:y-Z", std::string(32, 'A')}) {
    EXPECT_TRUE(isValidAccountId(id)) << id;
  }
  for (const std::string& id : std::vector<std::string>{"", std::string(33, 'A'), "ACC/1", "ACC 1",
                                                        "ACC%41", "ACC#1", "ACC\n", "ÄCC", "*"}) {
    EXPECT_FALSE(isValidAccountId(id)) << id;
  }
}

TEST(IdempotencyKey, OneToSixtyFourSafeCharacters) {
  for (const std::string& key :
       std::vector<std::string>{"k", "dep-1", "a.b_c:d-E", std::string(64, 'x')}) {
    EXPECT_TRUE(isValidIdempotencyKey(key)) << key;
  }
  for (const std::string& key : std::vector<std::string>{"", std::string(65, 'x'), "key with space",
                                                         "key/1", "key\t", "clé", "a+b", "a=b"}) {
    EXPECT_FALSE(isValidIdempotencyKey(key)) << key;
  }
}

TEST(BrokerName, OneToSixteenUppercaseDigitsDashes) {
  for (const std::string& broker :
       std::vector<std::string>{"SIM-A", "SIM-B", "X", "B2", std::string(16, 'B')}) {
    EXPECT_TRUE(isValidBrokerName(broker)) << broker;
  }
  for (const std::string& broker : std::vector<std::string>{"", "sim-a", "SIM_A", "SIM A", "SIM.A",
                                                            std::string(17, 'B'), "SIM-Ä"}) {
    EXPECT_FALSE(isValidBrokerName(broker)) << broker;
  }
}

// ---------------------------------------------------------------- order ids

TEST(OrderId, LayoutIsOTimeSequence) {
  EXPECT_EQ(makeOrderId(kEpoch2020Ms, 0), "O000000000000000");
  EXPECT_EQ(makeOrderId(kEpoch2020Ms + 1, 1), "O000000010000001");
  EXPECT_EQ(makeOrderId(kEpoch2020Ms + 35, 35), "O0000000Z000000Z");
  EXPECT_EQ(makeOrderId(kEpoch2020Ms + 36, 36), "O000000100000010");
  EXPECT_EQ(makeOrderId(kEpoch2020Ms, kSequenceModulus - 1), "O00000000ZZZZZZZ");
  // The sequence is taken modulo 36^7, as the header documents.
  EXPECT_EQ(makeOrderId(kEpoch2020Ms, kSequenceModulus), makeOrderId(kEpoch2020Ms, 0));
  EXPECT_EQ(makeOrderId(kEpoch2020Ms + kTimeSpanMs - 1, 0), "OZZZZZZZZ0000000");
}

TEST(OrderId, LengthsLeaveRoomForCancelSuffix) {
  EXPECT_EQ(kOrderIdLength, 16u);
  EXPECT_EQ(kClOrdIdLengthMax, 20u);
  const std::string id = makeOrderId(1'764'016'265'123, 42);  // 2025-11-24
  EXPECT_EQ(id.size(), kOrderIdLength);
  EXPECT_LE((id + "-C9").size(), kClOrdIdLengthMax);
}

TEST(OrderId, ValidationAcceptsOnlyTheMintedShape) {
  EXPECT_TRUE(isValidOrderId("O000000000000000"));
  EXPECT_TRUE(isValidOrderId("OZZZZZZZZZZZZZZZ"));
  EXPECT_TRUE(isValidOrderId(makeOrderId(1'764'016'265'123, 123'456)));
  for (const std::string& id : std::vector<std::string>{
           "", "O", "O00000000000000", "O0000000000000000", "X000000000000000", "o000000000000000",
           "O00000000000000a", "O00000000000000-", "O000000000000000-C1", " O00000000000000",
           "O0000000000000\xC3\x84"}) {
    EXPECT_FALSE(isValidOrderId(id)) << id;
  }
}

rc::Gen<int64_t> anyMintTime() {
  return rc::gen::inRange<int64_t>(kEpoch2020Ms, kEpoch2020Ms + kTimeSpanMs);
}

RC_GTEST_PROP(OrderIdProperty, MintedIdsAreValidAndSixteenLong, ()) {
  const int64_t time_ms = *anyMintTime();
  const int64_t sequence = *rc::gen::inRange<int64_t>(0, INT64_MAX);
  const std::string id = makeOrderId(time_ms, sequence);
  RC_ASSERT(id.size() == kOrderIdLength);
  RC_ASSERT(id.size() <= kClOrdIdLengthMax - 3);
  RC_ASSERT(isValidOrderId(id));
}

RC_GTEST_PROP(OrderIdProperty, DistinctSequencesAtTheSameTimeGiveDistinctIds, ()) {
  const int64_t time_ms = *anyMintTime();
  const int64_t a = *rc::gen::inRange<int64_t>(0, kSequenceModulus);
  const int64_t b = *rc::gen::distinctFrom(rc::gen::inRange<int64_t>(0, kSequenceModulus), a);
  RC_ASSERT(makeOrderId(time_ms, a) != makeOrderId(time_ms, b));
}

RC_GTEST_PROP(OrderIdProperty, DistinctTimesGiveDistinctIds, ()) {
  const int64_t sequence = *rc::gen::inRange<int64_t>(0, kSequenceModulus);
  const int64_t a = *anyMintTime();
  const int64_t b = *rc::gen::distinctFrom(anyMintTime(), a);
  RC_ASSERT(makeOrderId(a, sequence) != makeOrderId(b, sequence));
}

RC_GTEST_PROP(OrderIdProperty, IdsSortByTimeThenSequence, ()) {
  const int64_t time_a = *anyMintTime();
  const int64_t time_b = *anyMintTime();
  const int64_t seq_a = *rc::gen::inRange<int64_t>(0, kSequenceModulus);
  const int64_t seq_b = *rc::gen::inRange<int64_t>(0, kSequenceModulus);
  const bool earlier = time_a < time_b || (time_a == time_b && seq_a < seq_b);
  RC_ASSERT((makeOrderId(time_a, seq_a) < makeOrderId(time_b, seq_b)) == earlier);
}

}  // namespace
}  // namespace fbg
