// The gateway's pure logic: the broker-order state machine, the retry schedule and the
// validation of stream entries.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "domain/broker_order.h"
#include "domain/broker_progress.h"
#include "domain/order_ticket.h"
#include "domain/retry_policy.h"
#include "domain/sender_wait.h"

namespace fbg::gateway {
namespace {

OrderSnapshot sent(int64_t quantity = 10) {
  return OrderSnapshot{BrokerOrderState::Sent, quantity, 0, 0, CancelState::None};
}

ReportFacts report(char exec_type, char ord_status, int64_t cum_qty = 0) {
  ReportFacts facts;
  facts.exec_type = exec_type;
  facts.ord_status = ord_status;
  facts.cum_qty = cum_qty;
  return facts;
}

std::vector<EventKind> kinds(const Outcome& outcome) {
  std::vector<EventKind> out;
  for (const auto& event : outcome.events) out.push_back(event.kind);
  return out;
}

TEST(BrokerOrder, FirstReplyAcknowledgesOnceAndFillsOnlyMoveForward) {
  const Outcome acked = applyReport(sent(), report('0', '0'));
  EXPECT_EQ(acked.order.state, BrokerOrderState::Acked);
  EXPECT_EQ(kinds(acked), std::vector<EventKind>{EventKind::Acked});
  const Outcome partial = applyReport(acked.order, report('F', '1', 4));
  EXPECT_EQ(partial.order.state, BrokerOrderState::PartiallyFilled);
  EXPECT_EQ(partial.order.cum_qty, 4);
  EXPECT_TRUE(partial.events.empty());
  const Outcome late_ack = applyReport(partial.order, report('0', '0', 0));
  EXPECT_EQ(late_ack.order.state, BrokerOrderState::PartiallyFilled);
  EXPECT_EQ(late_ack.order.cum_qty, 4);
  const Outcome filled = applyReport(partial.order, report('F', '2', 10));
  EXPECT_EQ(filled.order.state, BrokerOrderState::Filled);
  const Outcome duplicate = applyReport(filled.order, report('F', '2', 10));
  EXPECT_EQ(duplicate.order.state, BrokerOrderState::Filled);
  EXPECT_TRUE(duplicate.events.empty());
}

TEST(BrokerOrder, AFillBeforeAnyAcknowledgementStillAcknowledges) {
  const Outcome filled = applyReport(sent(), report('F', '2', 10));
  EXPECT_EQ(filled.order.state, BrokerOrderState::Filled);
  EXPECT_EQ(kinds(filled), std::vector<EventKind>{EventKind::Acked});
}

TEST(BrokerOrder, RejectIsRejectedWithItsText) {
  ReportFacts facts = report('8', '8');
  facts.text = "no such symbol";
  const Outcome rejected = applyReport(sent(), facts);
  EXPECT_EQ(rejected.order.state, BrokerOrderState::Rejected);
  ASSERT_EQ(rejected.events.size(), 1u);
  EXPECT_EQ(rejected.events[0].kind, EventKind::Rejected);
  EXPECT_EQ(rejected.events[0].reason, "no such symbol");
}

TEST(BrokerOrder, StatusAnswerUnknownAsksForAResendAndChangesNothingElse) {
  ReportFacts facts = report('I', '8');
  facts.ord_rej_reason = kOrdRejReasonUnknownOrder;
  const Outcome unknown = applyReport(sent(), facts);
  EXPECT_TRUE(unknown.resend_now);
  EXPECT_EQ(unknown.order.state, BrokerOrderState::Sent);
  EXPECT_TRUE(unknown.events.empty());
  const Outcome known = applyReport(sent(), report('I', '0'));
  EXPECT_FALSE(known.resend_now);
  EXPECT_EQ(known.order.state, BrokerOrderState::Acked);
}

TEST(BrokerOrder, UnconfirmedThenALateReplyIsAcknowledged) {
  const Outcome gave_up = giveUp(sent());
  EXPECT_EQ(gave_up.order.state, BrokerOrderState::Unconfirmed);
  EXPECT_EQ(kinds(gave_up), std::vector<EventKind>{EventKind::Unconfirmed});
  const Outcome late = applyReport(gave_up.order, report('0', '0'));
  EXPECT_EQ(late.order.state, BrokerOrderState::Acked);
  EXPECT_EQ(kinds(late), std::vector<EventKind>{EventKind::Acked});
  EXPECT_TRUE(giveUp(late.order).events.empty());
}

TEST(BrokerOrder, CancelOfAnOrderNeverSentCompletesWithoutTheBroker) {
  const OrderSnapshot received{BrokerOrderState::Received, 10, 0, 0, CancelState::None};
  const Outcome canceled = applyCancelRequest(received, 1);
  EXPECT_EQ(canceled.order.state, BrokerOrderState::Canceled);
  EXPECT_EQ(canceled.order.cancel_state, CancelState::Done);
  EXPECT_EQ(kinds(canceled), std::vector<EventKind>{EventKind::Canceled});
  EXPECT_TRUE(applyCancelRequest(canceled.order, 1).events.empty());  // redelivered
}

TEST(BrokerOrder, CancelOfALiveOrderIsSentThenCanceledByTheBroker) {
  const OrderSnapshot acked = applyReport(sent(), report('0', '0')).order;
  const Outcome pending = applyCancelRequest(acked, 1);
  EXPECT_EQ(pending.order.cancel_state, CancelState::Pending);
  EXPECT_TRUE(pending.events.empty());
  ReportFacts canceled_report = report('4', '4');
  canceled_report.cancel_request = 1;
  const Outcome canceled = applyReport(pending.order, canceled_report);
  EXPECT_EQ(canceled.order.state, BrokerOrderState::Canceled);
  EXPECT_EQ(canceled.order.cancel_state, CancelState::Done);
  ASSERT_EQ(canceled.events.size(), 1u);
  EXPECT_EQ(canceled.events[0].kind, EventKind::Canceled);
  EXPECT_EQ(canceled.events[0].cancel_request, 1);
}

TEST(BrokerOrder, CancelOfAFilledOrderIsRejected) {
  const OrderSnapshot filled = applyReport(sent(), report('F', '2', 10)).order;
  const Outcome here = applyCancelRequest(filled, 1);
  EXPECT_EQ(kinds(here), std::vector<EventKind>{EventKind::CancelRejected});
  OrderSnapshot live = applyReport(sent(), report('0', '0')).order;
  live = applyCancelRequest(live, 1).order;
  const Outcome at_broker = applyCancelReject(live, CancelRejectFacts{'2', 1, "too late"});
  EXPECT_EQ(at_broker.order.state, BrokerOrderState::Filled);
  EXPECT_EQ(at_broker.order.cancel_state, CancelState::Rejected);
  EXPECT_EQ(kinds(at_broker), std::vector<EventKind>{EventKind::CancelRejected});
}

TEST(BrokerOrder, CancelRejectedAsUnknownSettlesAnUnacknowledgedOrderCanceled) {
  // UNCONFIRMED after every retry, then the customer cancels and the broker knows no such order.
  OrderSnapshot unconfirmed = giveUp(sent()).order;
  ASSERT_EQ(unconfirmed.state, BrokerOrderState::Unconfirmed);
  unconfirmed = applyCancelRequest(unconfirmed, 1).order;
  const Outcome unknown =
      applyCancelReject(unconfirmed, CancelRejectFacts{'8', 1, "unknown order"});
  EXPECT_EQ(unknown.order.state, BrokerOrderState::Canceled);
  EXPECT_EQ(unknown.order.cancel_state, CancelState::Done);
  ASSERT_EQ(kinds(unknown), std::vector<EventKind>{EventKind::Canceled});  // no ACKED: never was
  EXPECT_EQ(unknown.events[0].cancel_request, 1);
  // An acknowledged order is known to the broker: the same reject only rejects the cancel.
  OrderSnapshot live = applyReport(sent(), report('0', '0')).order;
  live = applyCancelRequest(live, 1).order;
  const Outcome refused = applyCancelReject(live, CancelRejectFacts{'8', 1, "unknown order"});
  EXPECT_EQ(refused.order.state, BrokerOrderState::Acked);
  EXPECT_EQ(kinds(refused), std::vector<EventKind>{EventKind::CancelRejected});
}

TEST(BrokerOrder, OnceACancelIsInProgressTheOrderIsNeverSentAgain) {
  // CI found it: a cancel reached the broker before the order's resend did, was rejected as
  // "unknown order" and settled CANCELED, then the resend was booked and filled.
  const RetryPolicy policy{1000, 2, 5000, 20, 4};
  const OrderSnapshot canceling = applyCancelRequest(sent(), 1).order;
  ASSERT_TRUE(isCancelInProgress(canceling));
  for (const bool answers : {true, false}) {
    for (const bool said_unknown : {true, false}) {
      EXPECT_EQ(onTimeout(policy, 1, RetryFacts{answers, said_unknown, true}),
                TimeoutAction::AskStatus);
    }
  }
  EXPECT_EQ(onTimeout(policy, 5, RetryFacts{true, false, true}), TimeoutAction::GiveUp);
  // A status answer "unknown order" asks for no resend while the cancel is in progress...
  ReportFacts unknown = report('I', '8');
  unknown.ord_rej_reason = kOrdRejReasonUnknownOrder;
  const Outcome answered = applyReport(canceling, unknown);
  EXPECT_FALSE(answered.resend_now);
  EXPECT_TRUE(answered.events.empty());
  // ...but does without one; and once the cancel is settled, the retries may resend again.
  EXPECT_TRUE(applyReport(sent(), unknown).resend_now);
  OrderSnapshot gave_up = canceling;
  gave_up.cancel_state = CancelState::Sent;
  gave_up = giveUpCancel(gave_up).order;
  EXPECT_FALSE(isCancelInProgress(gave_up));
  EXPECT_TRUE(applyReport(gave_up, unknown).resend_now);
}

TEST(RetryPolicy, WaitsGrowExponentiallyToTheBoundWithBoundedJitter) {
  const RetryPolicy policy{1000, 2, 5000, 20, 4};
  ASSERT_TRUE(isValid(policy));
  EXPECT_EQ(replyWaitMs(policy, 1, 0.5), 1000);
  EXPECT_EQ(replyWaitMs(policy, 2, 0.5), 2000);
  EXPECT_EQ(replyWaitMs(policy, 3, 0.5), 4000);
  EXPECT_EQ(replyWaitMs(policy, 4, 0.5), 5000);
  EXPECT_EQ(replyWaitMs(policy, 1, 0.0), 800);
  EXPECT_EQ(replyWaitMs(policy, 1, 0.999999), 1199);
  EXPECT_EQ(onTimeout(policy, 1, RetryFacts{true, false, false}), TimeoutAction::AskStatus);
  EXPECT_EQ(onTimeout(policy, 4, RetryFacts{false, false, false}), TimeoutAction::ResendOrder);
  EXPECT_EQ(onTimeout(policy, 2, RetryFacts{true, true, false}), TimeoutAction::ResendOrder);
  EXPECT_EQ(onTimeout(policy, 5, RetryFacts{true, false, false}), TimeoutAction::GiveUp);
  EXPECT_FALSE(isValid(RetryPolicy{1000, 2, 500, 20, 4}));
  EXPECT_FALSE(isValid(RetryPolicy{1000, 2, 5000, 100, 4}));
}

RC_GTEST_PROP(RetryPolicyProperty, WaitStaysWithinJitterOfTheCappedExponential, ()) {
  const RetryPolicy policy{*rc::gen::inRange<int64_t>(1, 10000), *rc::gen::inRange<int64_t>(1, 5),
                           100000, *rc::gen::inRange<int64_t>(0, 99), 10};
  const int64_t attempt = *rc::gen::inRange<int64_t>(1, 40);
  const double unit = *rc::gen::inRange(0, 1000) / 1000.0;
  const int64_t wait_ms = replyWaitMs(policy, attempt, unit);
  int64_t base = policy.ack_timeout_ms;
  for (int64_t k = 1; k < attempt && base < policy.backoff_ms_max; ++k) {
    base *= policy.backoff_multiplier;
  }
  base = std::min(base, policy.backoff_ms_max);
  RC_ASSERT(wait_ms >= base - base * policy.jitter_percent / 100 - 1);
  RC_ASSERT(wait_ms <= base + base * policy.jitter_percent / 100 + 1);
}

StreamEntry newEntry(const std::string& payload) {
  return StreamEntry{"1-0",
                     {{"kind", "NEW"}, {"order_id", "O2S1T36850000001"}, {"payload", payload}}};
}

// A steady-clock instant `ms` after an arbitrary origin.
BrokerProgress::Clock::time_point at(int64_t ms) {
  return BrokerProgress::Clock::time_point{} + std::chrono::milliseconds(ms);
}

TEST(BrokerProgress, SilentAtStartAndAfterSilenceButNeverWithARepliesQueued) {
  BrokerProgress progress(std::chrono::milliseconds(2000));
  EXPECT_TRUE(progress.gate(at(0)).broker_silent);  // nothing heard yet: the schedule alone rules
  progress.noteReceived(at(10'000));
  EXPECT_FALSE(progress.gate(at(10'001)).broker_silent);
  EXPECT_FALSE(progress.gate(at(20'000)).broker_silent) << "a reply still queued is not silence";
  progress.noteApplied(1, 0);
  EXPECT_FALSE(progress.gate(at(11'999)).broker_silent);
  EXPECT_TRUE(progress.gate(at(12'000)).broker_silent);
  progress.noteReceived(at(12'500));
  progress.noteReceived(at(12'600));
  progress.noteDiscarded(1);
  EXPECT_FALSE(progress.gate(at(30'000)).broker_silent);
  progress.noteApplied(1, 0);
  EXPECT_FALSE(progress.gate(at(14'599)).broker_silent);
  EXPECT_TRUE(progress.gate(at(14'600)).broker_silent);
}

TEST(BrokerProgress, AnsweredSendSeqOnlyRises) {
  BrokerProgress progress(std::chrono::milliseconds(100));
  EXPECT_EQ(progress.gate(at(0)).answered_send_seq, 0);
  for (int i = 0; i < 3; ++i) progress.noteReceived(at(1));
  progress.noteApplied(1, 50);
  progress.noteApplied(1, 0);   // a batch that showed nothing
  progress.noteApplied(1, 40);  // an older one, applied later
  EXPECT_EQ(progress.gate(at(1)).answered_send_seq, 50);
  EXPECT_TRUE(progress.gate(at(101)).broker_silent);
}

TEST(OrderTicket, ParsesTheLedgerPayloadAndRefusesBadOnes) {
  const std::string good =
      R"({"order_id":"O2S1T36850000001","account_id":"A-1","symbol":"AAPL","side":"BUY",)"
      R"("type":"LIMIT","quantity":10,"limit_price":"187.2500","time_in_force":"DAY",)"
      R"("broker":"SIM-A","channel":"API","created_at":"2026-11-25T00:00:00Z"})";
  auto ticket = parseTicket(newEntry(good), "SIM-A");
  ASSERT_TRUE(ticket);
  ASSERT_TRUE(ticket->new_order);
  EXPECT_EQ(ticket->new_order->quantity, 10);
  EXPECT_EQ(ticket->new_order->limit_price->toString(), "187.25");
  EXPECT_FALSE(parseTicket(newEntry(good), "SIM-B"));  // another broker's order
  for (const std::string& bad :
       {std::string("not json"), std::string(R"({"order_id":"O2S1T36850000001"})"),
        std::string(R"({"order_id":"O2S1T36850000001","account_id":"A-1","symbol":"AAPL",)"
                    R"("side":"BUY","type":"LIMIT","quantity":-1,"limit_price":"1.00",)"
                    R"("time_in_force":"DAY","broker":"SIM-A"})")}) {
    EXPECT_FALSE(parseTicket(newEntry(bad), "SIM-A")) << bad;
  }
  EXPECT_FALSE(parseTicket(StreamEntry{"1-0", {}}, "SIM-A"));
}

TEST(OrderTicket, CancelClOrdIdsRoundTripAndForeignOnesAreRefused) {
  const std::string id = "O2S1T36850000001";
  EXPECT_EQ(cancelClOrdId(id, 3), id + "-C3");
  const auto parts = parseClOrdId(id + "-C12");
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->order_id, id);
  EXPECT_EQ(parts->cancel_request, 12);
  EXPECT_EQ(parseClOrdId(id)->cancel_request, 0);
  EXPECT_FALSE(parseClOrdId("hello"));
  EXPECT_FALSE(parseClOrdId(id + "-C0"));
  EXPECT_FALSE(parseClOrdId(id + "-C100"));
  EXPECT_LE((id + "-C99").size(), 20u);
}

TEST(SenderWait, PollsWhileWorkMayBeRightBehindAndSleepsToTheNextDeadlineOtherwise) {
  const SenderWaitLimits limits{50, 1000};
  EXPECT_EQ(senderWaitMs({true, false, 700}, limits), 50);           // claimed: more may follow
  EXPECT_EQ(senderWaitMs({false, true, std::nullopt}, limits), 50);  // RECEIVED, room full
  EXPECT_EQ(senderWaitMs({false, false, -30}, limits), 50);          // due, held by the gate
  EXPECT_EQ(senderWaitMs({false, false, 0}, limits), 50);
  EXPECT_EQ(senderWaitMs({false, false, 20}, limits), 50);              // never below the poll
  EXPECT_EQ(senderWaitMs({false, false, 700}, limits), 700);            // to the deadline
  EXPECT_EQ(senderWaitMs({false, false, 5000}, limits), 1000);          // at most the idle bound
  EXPECT_EQ(senderWaitMs({false, false, std::nullopt}, limits), 1000);  // nothing in flight
}

RC_GTEST_PROP(SenderWait, NeverWaitsPastADeadlineOrTheBounds,
              (bool claimed, bool received, int64_t deadline_ms, bool none_in_flight)) {
  const int poll = *rc::gen::inRange(1, 500);
  const SenderWaitLimits limits{poll, *rc::gen::inRange(poll, 60001)};
  const SenderOutlook outlook{claimed, received,
                              none_in_flight ? std::nullopt : std::optional(deadline_ms)};
  const int wait = senderWaitMs(outlook, limits);
  RC_ASSERT(wait >= limits.poll_interval_ms);
  RC_ASSERT(wait <= limits.idle_wait_ms_max);
  // Sleeping past a known deadline would delay a retry; only the poll floor may do that.
  if (outlook.next_deadline_in_ms) {
    RC_ASSERT(wait <= std::max<int64_t>(*outlook.next_deadline_in_ms, limits.poll_interval_ms));
  }
  if (claimed || received) RC_ASSERT(wait == limits.poll_interval_ms);
}

}  // namespace
}  // namespace fbg::gateway
