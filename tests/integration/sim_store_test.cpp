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

}  // namespace
}  // namespace fbg::simulator
