// The bridge between the C++14 store tests (they include QuickFIX) and the C++20 test support
// that runs their PostgreSQL: plain functions, no types from either side.
#pragma once

#include <string>

// Two namespaces, not fbg::test: the C++14 translation units include this header.
namespace fbg {
namespace test {

std::string fixStoreDatabaseUri();
void stopFixStoreDatabase();
void startFixStoreDatabase();
// kill -9 of the server (a crash: the WAL not yet written is lost), then a start (recovery).
void killAndRestartFixStoreDatabase();

}  // namespace test
}  // namespace fbg
