// The lanes' connection pool (base/postgres/connection_pool.hpp) against a real PostgreSQL: the server never
// sees more connections than the bound, a borrower gets back what it prepared, another borrower gets a
// connection reset with what was prepared on it still valid, a waiting borrower calls on the holders and can
// be stopped, and a nested loan never waits on a long one.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <pqxx/pqxx>
#include <thread>
#include <vector>

#include "base/postgres/connection_pool.hpp"
#include "base/postgres/statement_set.hpp"
#include "tests/support/test_database.hpp"

using namespace std::chrono_literals;
using projectord::postgres::ConnectionPool;
using projectord::testing::eventually;
using projectord::testing::TestDatabase;

namespace {

// Clients' connections to the test's database that the server sees, the test's own sampling one left out (an
// autovacuum worker visiting the database is no client).
std::int64_t server_connections(pqxx::connection& admin, const TestDatabase& db) {
  pqxx::nontransaction txn(admin);
  return txn
      .exec_params1("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'"
                    " AND pid <> pg_backend_pid()",
                    db.name())[0]
      .as<std::int64_t>();
}

bool prepared(pqxx::connection& connection, const std::string& name) {
  pqxx::nontransaction txn(connection);
  return txn.exec_params1("SELECT count(*) FROM pg_prepared_statements WHERE name = $1", name)[0].as<int>() == 1;
}

}  // namespace

TEST_CASE("borrowers of a pool never open more connections than its bound, whatever their number") {
  TestDatabase db;
  constexpr std::size_t kBound = 5;
  ConnectionPool pool(kBound);
  std::atomic<bool> done{false};
  std::atomic<std::int64_t> most{0};
  std::thread sampler([&] {
    const auto admin = db.connect();
    while (!done) {
      const std::int64_t seen = server_connections(*admin, db);
      std::int64_t was = most;
      while (seen > was && !most.compare_exchange_weak(was, seen)) {
      }
    }
  });
  std::atomic<int> statements{0};
  std::vector<std::jthread> lanes;
  for (int lane = 0; lane < 12; ++lane) {
    // No assertion on these threads (Catch's are not thread-safe): what they did is counted.
    lanes.emplace_back([&, lane] {
      for (int round = 0; round < 20; ++round) {
        auto loan = pool.borrow("lane" + std::to_string(lane), {db.url(), db.url()}, {});
        if (!loan) return;
        pqxx::work txn((*loan)[0].connection);
        txn.exec1("SELECT 1");
        const auto nested = pool.borrow_nested("attempts", db.url());
        pqxx::nontransaction beside(nested[0].connection);
        beside.exec1("SELECT 1");
        txn.commit();
        statements += 2;
      }
    });
  }
  lanes.clear();
  done = true;
  sampler.join();
  CHECK(statements == 12 * 20 * 2);
  CHECK(most > 0);
  CHECK(most <= static_cast<std::int64_t>(kBound));
  CHECK(pool.open_connections() <= kBound);
}

TEST_CASE("a pool lends a borrower back what it prepared, and another borrower, while the bound allows, a new connection") {
  TestDatabase db;
  ConnectionPool pool(3);
  std::uint64_t session = 0;
  {
    auto loan = pool.borrow("users", {db.url()}, {});
    REQUIRE(loan);
    (*loan)[0].connection.prepare("users_upsert", "SELECT 1");
    pqxx::work txn((*loan)[0].connection);
    txn.exec_prepared("users_upsert");  // libpqxx prepares on the server at the first use
    txn.commit();
    session = (*loan)[0].session;
  }
  {
    auto again = pool.borrow("users", {db.url()}, {});
    REQUIRE(again);
    CHECK((*again)[0].session == session);
    CHECK(prepared((*again)[0].connection, "users_upsert"));
  }
  auto other = pool.borrow("user_log", {db.url()}, {});
  REQUIRE(other);
  CHECK((*other)[0].session != session);
  CHECK_FALSE(prepared((*other)[0].connection, "users_upsert"));
  CHECK(pool.open_connections() == 2);
}

TEST_CASE("at its bound a pool lends the idle connection given back longest ago, reset, and what each borrower prepared stays valid") {
  TestDatabase db;
  ConnectionPool pool(2);
  // Two borrowers' statements of one name and different texts, and a third's of the first's text.
  const auto statements = [](const std::string& sql) {
    projectord::postgres::StatementSet set;
    set.add("upsert", sql);
    return set;
  };
  projectord::postgres::StatementSet users = statements("SELECT 1");
  projectord::postgres::StatementSet user_log = statements("SELECT 2");
  projectord::postgres::StatementSet copy = statements("SELECT 1");
  const auto run = [](projectord::postgres::Lent lent, projectord::postgres::StatementSet& set) {
    set.prepare(lent.connection, projectord::postgres::Pooling::session);
    pqxx::work txn(lent.connection);
    const int got = set.exec(txn, "upsert")[0][0].as<int>();
    txn.commit();
    return got;
  };
  std::uint64_t first = 0;
  {
    auto loan = pool.borrow("users", {db.url()}, {});
    REQUIRE(loan);
    pqxx::nontransaction((*loan)[0].connection).exec0("SET application_name = 'users'");
    CHECK(run((*loan)[0], users) == 1);
    first = (*loan)[0].session;
  }
  {
    auto loan = pool.borrow("user_log", {db.url()}, {});
    REQUIRE(loan);
    CHECK(pool.open_connections() == 2);
  }
  auto moved = pool.borrow("user_log_copy", {db.url()}, {});
  REQUIRE(moved);
  const projectord::postgres::Lent lent = (*moved)[0];
  CHECK(pool.open_connections() == 2);
  CHECK(lent.session != first);
  CHECK(pqxx::nontransaction(lent.connection).exec1("SHOW application_name")[0].as<std::string>() == "");
  CHECK(prepared(lent.connection, projectord::postgres::prepared_name("SELECT 1")));
  CHECK(run(lent, user_log) == 2);
  CHECK(run(lent, copy) == 1);
  CHECK(run(lent, users) == 1);
}

TEST_CASE("a pool's borrower that must wait calls on the holders until a loan ends, and a stop ends its wait with nothing") {
  TestDatabase db;
  ConnectionPool pool(3);
  std::atomic<int> called{0};
  auto held = pool.borrow("users", {db.url(), db.url()}, {}, [&] { ++called; });
  REQUIRE(held);
  CHECK_FALSE(pool.asked_for());

  std::stop_source stop;
  std::atomic<bool> waited{false};
  std::atomic<bool> got{true};
  std::thread waiter([&] {
    got = pool.borrow("user_log", {db.url()}, stop.get_token(), {}, [&] { waited = true; }).has_value();
  });
  REQUIRE(eventually([&] { return waited && called == 1 && pool.asked_for(); }));
  SECTION("the holder gives its loan back: the waiter gets one") {
    held.reset();
    waiter.join();
    CHECK(got);
  }
  SECTION("a stop") {
    stop.request_stop();
    waiter.join();
    CHECK_FALSE(got);
    CHECK_FALSE(pool.asked_for());
  }
}

TEST_CASE("a pool's nested loan goes while long loans hold all they may, which leave one connection for it") {
  TestDatabase db;
  ConnectionPool pool(3);
  auto held = pool.borrow("users", {db.url(), db.url()}, {});
  REQUIRE(held);
  const auto nested = pool.borrow_nested("attempts", db.url());
  pqxx::nontransaction txn(nested[0].connection);
  CHECK(txn.exec1("SELECT 7")[0].as<int>() == 7);
  CHECK(pool.open_connections() == 3);
}
