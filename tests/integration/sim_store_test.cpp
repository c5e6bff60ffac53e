// The simulator's ground truth survives a restart: the reloaded book still refuses a second
// order for a known ClOrdID, exec ids never repeat, and the reports come back in issue order.
#include <gtest/gtest.h>

#include <set>

#include "common/migrations.h"
#include "sim_store.h"
#include "support/postgres_instance.h"

std::vector<fbg::Migration> simulatorMigrations();

namespace fbg::simulator {
namespace {

Money price(const char* text) {
  return Money::parse(text).value();
}

std::vector<const BrokerOrder*> changedOrders(const BrokerBook& book,
                                              const std::vector<ExecutionReport>& reports) {
  std::vector<const BrokerOrder*> changed;
  for (const auto& report : reports) {
    const std::string& id =
        report.orig_cl_ord_id.empty() ? report.cl_ord_id : report.orig_cl_ord_id;
    changed.push_back(book.find(id));
  }
  return changed;
}

TEST(SimStore, BookSurvivesRestartWithOneOrderPerClOrdIdAndFreshExecIds) {
  test::PostgresInstance postgres;
  postgres.start();
  postgres.createDatabase("broker_sim");
  const std::string uri = postgres.uri("broker_sim");
  ASSERT_TRUE(applyMigrations(uri, simulatorMigrations()).has_value());
  ASSERT_TRUE(applyMigrations(uri, simulatorMigrations()).has_value());  // twice is a no-op

  std::set<std::string> exec_ids;
  {
    SimStore store(uri);
    BrokerBook book(2);
    auto acked =
        book.newOrder({"C1", "AAPL", Side::Buy, OrderType::Limit, 10, price("100.00")}, false);
    store.record(changedOrders(book, acked), acked);
    auto filled = book.priceMoved("AAPL", price("99.00"));
    store.record(changedOrders(book, filled), filled);
    store.setPrice("AAPL", price("99.00"));
    for (const auto& stored : store.executionsAfter(0, 100)) exec_ids.insert(stored.report.exec_id);
  }
  ASSERT_EQ(exec_ids.size(), 2u);

  SimStore store(uri);
  BrokerBook restarted(2);
  store.load(restarted);
  ASSERT_EQ(restarted.orderCount(), 1u);
  EXPECT_EQ(restarted.find("C1")->cum_qty, 5);
  EXPECT_EQ(store.prices().at("AAPL"), price("99.00"));
  const auto again =
      restarted.newOrder({"C1", "AAPL", Side::Buy, OrderType::Limit, 10, price("100.00")}, false);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].exec_type, ExecType::OrderStatus);
  EXPECT_EQ(exec_ids.count(again[0].exec_id), 0u);  // numbering continues after a restart
  store.record(changedOrders(restarted, again), again);
  auto rest = restarted.priceMoved("AAPL", price("98.00"));
  store.record(changedOrders(restarted, rest), rest);

  const auto all = store.executionsAfter(0, 100);
  ASSERT_EQ(all.size(), 4u);
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].seq, all[i].seq);
  EXPECT_EQ(all.back().report.exec_type, ExecType::Fill);
  EXPECT_EQ(all.back().report.cum_qty, 10);
  EXPECT_EQ(all.back().report.avg_px, price("98.50"));
  EXPECT_EQ(store.executionsAfter(all[1].seq, 100).size(), 2u);
  EXPECT_EQ(postgres.queryScalar("broker_sim", "SELECT count(*) FROM sim_orders"), "1");
}

// Every field the drop copy sends (fix_codec.cpp), so memory and the store must agree on each.
void expectSameReport(const ExecutionReport& a, const ExecutionReport& b) {
  EXPECT_EQ(a.exec_id, b.exec_id);
  EXPECT_EQ(a.cl_ord_id, b.cl_ord_id);
  EXPECT_EQ(a.orig_cl_ord_id, b.orig_cl_ord_id);
  EXPECT_EQ(a.broker_order_id, b.broker_order_id);
  EXPECT_EQ(a.symbol, b.symbol);
  EXPECT_EQ(a.side, b.side);
  EXPECT_EQ(a.order_qty, b.order_qty);
  EXPECT_EQ(a.exec_type, b.exec_type);
  EXPECT_EQ(a.ord_status, b.ord_status);
  EXPECT_EQ(a.last_qty, b.last_qty);
  EXPECT_EQ(a.last_px, b.last_px);
  EXPECT_EQ(a.cum_qty, b.cum_qty);
  EXPECT_EQ(a.leaves_qty, b.leaves_qty);
  EXPECT_EQ(a.avg_px, b.avg_px);
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.ord_rej_reason, b.ord_rej_reason);
}

// A market tick records the fills of several orders in one statement: each order's row is
// updated, the reports get seqs in issue order, and record() returns exactly what the store
// reads back (the drop copy carries the returned ones without reading them).
TEST(SimStore, OneRecordOfManyOrdersKeepsIssueOrderAndReturnsWhatIsStored) {
  test::PostgresInstance postgres;
  postgres.start();
  postgres.createDatabase("broker_sim");
  const std::string uri = postgres.uri("broker_sim");
  ASSERT_TRUE(applyMigrations(uri, simulatorMigrations()).has_value());

  SimStore store(uri);
  BrokerBook book(2);
  std::vector<StoredExecution> returned;
  const auto keep = [&](const std::vector<StoredExecution>& stored) {
    returned.insert(returned.end(), stored.begin(), stored.end());
  };
  for (const char* id : {"T1", "T2", "T3"}) {
    auto acked =
        book.newOrder({id, "AAPL", Side::Buy, OrderType::Limit, 9, price("100.00")}, false);
    keep(store.record(changedOrders(book, acked), acked));
  }
  auto rejected =
      book.newOrder({"T4", "AAPL", Side::Sell, OrderType::Market, 3, std::nullopt}, true);
  keep(store.record(changedOrders(book, rejected), rejected));
  auto canceled = book.cancel("T3", "T3-C");
  keep(store.record(changedOrders(book, canceled.reports), canceled.reports));
  for (const char* tick : {"99.50", "99.25"}) {
    auto fills = book.priceMoved("AAPL", price(tick));
    ASSERT_EQ(fills.size(), 2u);  // T1 and T2, one statement each tick
    keep(store.record(changedOrders(book, fills), fills));
  }

  const auto all = store.executionsAfter(0, 100);
  ASSERT_EQ(all.size(), returned.size());
  ASSERT_EQ(all.size(), 9u);
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].seq, returned[i].seq);
    expectSameReport(all[i].report, returned[i].report);
    if (i > 0) {
      EXPECT_LT(all[i - 1].seq, all[i].seq);
    }
  }
  EXPECT_EQ(all.back().report.exec_type, ExecType::Fill);
  const auto row = [&](const char* id, const char* column) {
    return postgres.queryScalar(
        "broker_sim",
        std::string("SELECT ") + column + " FROM sim_orders WHERE cl_ord_id = '" + id + "'");
  };
  EXPECT_EQ(row("T1", "status"), "FILLED");
  EXPECT_EQ(row("T2", "cum_qty"), "9");
  EXPECT_EQ(row("T2", "fills_done"), "2");
  EXPECT_EQ(row("T2", "cum_notional::text"), "894.2500");  // 4 x 99.50 + 5 x 99.25
  EXPECT_EQ(row("T3", "status"), "CANCELED");
  EXPECT_EQ(row("T4", "status"), "REJECTED");
  EXPECT_EQ(row("T4", "limit_price IS NULL"), "t");
  EXPECT_EQ(row("T1", "limit_price::text"), "100.0000");

  // Reloaded, the book is the one that was recorded.
  BrokerBook restarted(2);
  store.load(restarted);
  ASSERT_EQ(restarted.orderCount(), 4u);
  EXPECT_EQ(restarted.find("T2")->cum_notional, price("894.25"));
  EXPECT_EQ(restarted.find("T2")->status, BrokerOrderStatus::Filled);
}

}  // namespace
}  // namespace fbg::simulator
