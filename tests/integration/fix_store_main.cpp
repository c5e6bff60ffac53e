// Runs the PostgreSQL the store tests use, then the tests (fix_store_test.cpp, C++14).
#include <gtest/gtest.h>

#include <memory>

#include "fix_store_env.h"
#include "support/postgres_instance.h"

namespace fbg::test {
namespace {
std::unique_ptr<PostgresInstance> postgres;
}  // namespace

std::string fixStoreDatabaseUri() {
  return postgres->uri("fix");
}
void stopFixStoreDatabase() {
  postgres->stop();
}
void startFixStoreDatabase() {
  postgres->start();
}
void killAndRestartFixStoreDatabase() {
  postgres->kill9();
  postgres->start();
}

}  // namespace fbg::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  fbg::test::postgres = std::make_unique<fbg::test::PostgresInstance>();
  fbg::test::postgres->start();
  fbg::test::postgres->createDatabase("fix");
  const int result = RUN_ALL_TESTS();
  fbg::test::postgres.reset();
  return result;
}
