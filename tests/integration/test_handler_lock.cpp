// The single-runner lock of a handler (daemon/lane/handler_lock.hpp) against a real PostgreSQL.
#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <pqxx/pqxx>
#include <thread>

#include "daemon/lane/handler_lock.hpp"
#include "tests/support/test_database.hpp"

using projectord::hold_handler_lock;
using projectord::testing::eventually;
using projectord::testing::TestDatabase;

TEST_CASE("the handler lock goes to the first session at once, and a second stands by until the first ends") {
  TestDatabase db;
  auto first = std::make_unique<pqxx::connection>(db.url());
  bool first_stood_by = false;
  REQUIRE(hold_handler_lock(*first, "users", "users", std::stop_source().get_token(), [&] { first_stood_by = true; }));
  CHECK_FALSE(first_stood_by);

  pqxx::connection second(db.url());
  std::atomic<bool> standing_by = false;
  std::atomic<bool> taken = false;
  std::jthread standby([&] {
    taken = hold_handler_lock(second, "users", "users", std::stop_source().get_token(), [&] { standing_by = true; });
  });
  REQUIRE(eventually([&] { return standing_by.load(); }));
  CHECK_FALSE(taken);

  first.reset();  // its session ends: the lock goes with it
  standby.join();
  CHECK(taken);
}

TEST_CASE("the handler locks of checkpoints of other names are apart") {
  TestDatabase db;
  pqxx::connection live(db.url());
  pqxx::connection shadow(db.url());
  const std::stop_source never;
  bool stood_by = false;
  REQUIRE(hold_handler_lock(live, "users", "users", never.get_token(), [&] { stood_by = true; }));
  REQUIRE(hold_handler_lock(shadow, "users", "users:rebuild", never.get_token(), [&] { stood_by = true; }));
  CHECK_FALSE(stood_by);
}

TEST_CASE("a session standing by for the handler lock gives up without it when stop is requested") {
  TestDatabase db;
  pqxx::connection holder(db.url());
  REQUIRE(hold_handler_lock(holder, "users", "users", std::stop_source().get_token(), [] {}));

  pqxx::connection waiter(db.url());
  std::stop_source stop;
  std::atomic<bool> standing_by = false;
  std::atomic<bool> taken = true;
  std::jthread standby([&] {
    taken = hold_handler_lock(waiter, "users", "users", stop.get_token(), [&] { standing_by = true; });
  });
  REQUIRE(eventually([&] { return standing_by.load(); }));
  stop.request_stop();
  standby.join();
  CHECK_FALSE(taken);
}
