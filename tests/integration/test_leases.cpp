// The leases of the projectord schema (checkpoints/leases.hpp) and the checkpoint's move fenced by a lease's
// epoch (checkpoints/checkpoint_store.hpp), against a real PostgreSQL.
#include <catch2/catch.hpp>

#include <chrono>
#include <pqxx/pqxx>

#include "checkpoints/checkpoint_store.hpp"
#include "checkpoints/leases.hpp"
#include "checkpoints/schema.hpp"
#include "tests/support/test_database.hpp"

using namespace std::chrono_literals;
using projectord::checkpoints::CheckpointMoved;
using projectord::checkpoints::CheckpointStore;
using projectord::checkpoints::LeaseLost;
using projectord::checkpoints::LeaseOwner;
using projectord::checkpoints::lease_holder;
using projectord::checkpoints::lease_standbys;
using projectord::checkpoints::release_lease;
using projectord::checkpoints::announce_process;
using projectord::checkpoints::live_processes;
using projectord::checkpoints::renew_leases;
using projectord::checkpoints::take_lease;
using projectord::testing::TestDatabase;

namespace {

const LeaseOwner kFirst{"host-a:10:1", "host-a", 10};
const LeaseOwner kSecond{"host-b:20:2", "host-b", 20};

struct Schema {
  Schema() {
    pqxx::work txn(*connection);
    for (const std::string& sql : projectord::checkpoints::install_schema_sql()) txn.exec(sql);
    txn.commit();
  }
  // A lease that runs out: as if its owner had stopped renewing it long ago.
  void expire(const std::string& name) const {
    db.exec("UPDATE projectord.leases SET renewed_at = now() - interval '1 minute', expires_at = now() -"
            " interval '1 second' WHERE name = '" + name + "'");
  }
  // Loads and prepares `store` and fences it by a lease kFirst takes of its name: as a lane holds its checkpoint.
  void hold(CheckpointStore& store, const std::string& name) const {
    store.load(*connection);
    store.prepare(*connection, projectord::postgres::Pooling::session);
    store.fence(*take_lease(*connection, name, kFirst, 60s).epoch);
  }
  // One lease renewed on its own, as the keeper renews all of a process's.
  bool renew(const std::string& name, const LeaseOwner& owner, std::int64_t epoch) const {
    return renew_leases(*connection, owner, {{name, epoch}}, 60s).size() == 1;
  }
  TestDatabase db;
  std::unique_ptr<pqxx::connection> connection = db.connect();
};

}  // namespace

TEST_CASE("a free lease is taken at epoch 1, and another process asking for it is told who holds it") {
  Schema schema;
  const auto first = take_lease(*schema.connection, "users", kFirst, 60s);
  REQUIRE(first.epoch == 1);

  const auto second = take_lease(*schema.connection, "users", kSecond, 60s);
  CHECK_FALSE(second.epoch);
  REQUIRE(second.holder);
  CHECK(second.holder->host == "host-a");
  CHECK(second.holder->pid == 10);
  CHECK(second.holder->since == first.since);
  CHECK(second.expires_in > 50s);
  const auto standbys = lease_standbys(*schema.connection, "users", 60s);
  REQUIRE(standbys.size() == 1);
  CHECK(standbys[0].host == "host-b");
}

TEST_CASE("leases of checkpoints of other names are apart") {
  Schema schema;
  CHECK(take_lease(*schema.connection, "users", kFirst, 60s).epoch == 1);
  CHECK(take_lease(*schema.connection, "users:rebuild", kSecond, 60s).epoch == 1);
}

TEST_CASE("a renewed lease stays its owner's, and one taken over cannot be renewed by its former owner") {
  Schema schema;
  const auto first = take_lease(*schema.connection, "users", kFirst, 60s);
  CHECK(schema.renew("users", kFirst, *first.epoch));
  CHECK_FALSE(take_lease(*schema.connection, "users", kSecond, 60s).epoch);

  schema.expire("users");
  const auto second = take_lease(*schema.connection, "users", kSecond, 60s);
  REQUIRE(second.epoch == 2);
  CHECK_FALSE(schema.renew("users", kFirst, *first.epoch));
  CHECK(lease_holder(*schema.connection, "users")->host == "host-b");
  CHECK(lease_standbys(*schema.connection, "users", 60s).empty());  // the new holder stands by no more
}

TEST_CASE("an expired lease its owner renews before anyone took it stays its owner's at the same epoch") {
  Schema schema;
  const auto first = take_lease(*schema.connection, "users", kFirst, 60s);
  schema.expire("users");
  CHECK(schema.renew("users", kFirst, *first.epoch));
  CHECK_FALSE(take_lease(*schema.connection, "users", kSecond, 60s).epoch);
}

TEST_CASE("a released lease is taken by the next process to ask, at once, and no renewal on its way revives it") {
  Schema schema;
  const auto first = take_lease(*schema.connection, "users", kFirst, 60s);
  release_lease(*schema.connection, "users", kFirst, *first.epoch);
  CHECK(lease_holder(*schema.connection, "users")->expired);
  // The keeper's round renews on its own connection: one that read the lease as held before the release.
  CHECK_FALSE(schema.renew("users", kFirst, *first.epoch));
  CHECK(lease_holder(*schema.connection, "users")->expired);
  CHECK(take_lease(*schema.connection, "users", kSecond, 60s).epoch == 2);
}

TEST_CASE("a lease its owner let go is left to the others for the yield before the owner takes it again") {
  Schema schema;
  const auto first = take_lease(*schema.connection, "users", kFirst, 60s);
  release_lease(*schema.connection, "users", kFirst, *first.epoch);
  const auto again = take_lease(*schema.connection, "users", kFirst, 60s, 60s);
  CHECK_FALSE(again.epoch);
  CHECK(again.expires_in > 50s);
  CHECK(take_lease(*schema.connection, "users", kFirst, 60s, 0s).epoch == 2);
}

TEST_CASE("a process takes its own lease again in a new session, at a new epoch") {
  Schema schema;
  CHECK(take_lease(*schema.connection, "users", kFirst, 60s).epoch == 1);
  CHECK(take_lease(*schema.connection, "users", kFirst, 60s).epoch == 2);
}

TEST_CASE("taking a lease over ends the write transactions left open under its name, and no other session") {
  Schema schema;
  schema.db.exec("CREATE TABLE read_model (id int PRIMARY KEY)");
  CHECK(take_lease(*schema.connection, "users", kFirst, 60s).ended_transactions == 0);
  // Sessions as a stopped holder leaves them: named as projectord names a lane's (or another part's), in a
  // transaction that wrote row `row`, or (0) in one that did not.
  const auto session = [&](const std::string& name, int row, const TestDatabase& database) {
    auto connection = database.connect();
    pqxx::nontransaction(*connection).exec_params("SELECT set_config('application_name', $1, false)", name);
    auto txn = std::make_unique<pqxx::work>(*connection);
    if (row != 0) txn->exec_params("INSERT INTO read_model VALUES ($1)", row);
    return std::pair(std::move(connection), std::move(txn));
  };
  auto stale = session("projectord:users", 1, schema.db);
  auto reading = session("projectord:users", 0, schema.db);
  auto other_lane = session("projectord:user_log", 2, schema.db);
  auto reader = session("projectord:users:read", 3, schema.db);
  // Another database's lane of the same name (another deployment on the server).
  TestDatabase elsewhere;
  elsewhere.exec("CREATE TABLE read_model (id int PRIMARY KEY)");
  auto other_database = session("projectord:users", 1, elsewhere);

  schema.expire("users");
  CHECK(take_lease(*schema.connection, "users", kSecond, 60s).ended_transactions == 1);
  CHECK_THROWS(stale.second->exec("SELECT 1"));
  // Its row is free: the new holder's write does not wait on it.
  schema.db.exec("SET lock_timeout = '10s'; INSERT INTO read_model VALUES (1)");
  for (auto* kept : {&reading, &other_lane, &reader, &other_database}) CHECK_NOTHROW(kept->second->exec("SELECT 1"));
}

TEST_CASE("a checkpoint fenced by the lease's epoch moves, and one fenced by a stale epoch does not") {
  Schema schema;
  CheckpointStore store("users", "events");
  schema.hold(store, "users");
  {
    pqxx::work txn(*schema.connection);
    store.advance(txn, 0, 5, 5, {});
    txn.commit();
  }
  CHECK(schema.db.query_int("SELECT position FROM projectord.checkpoints WHERE handler = 'users'") == 5);

  schema.expire("users");
  REQUIRE(take_lease(*schema.connection, "users", kSecond, 60s).epoch == 2);
  {
    pqxx::work txn(*schema.connection);
    CHECK_THROWS_AS(store.advance(txn, 5, 9, 4, {}), LeaseLost);
  }
  CHECK(schema.db.query_int("SELECT position FROM projectord.checkpoints WHERE handler = 'users'") == 5);
}

TEST_CASE("a fenced checkpoint that another session moved is reported moved, not its lease lost") {
  Schema schema;
  CheckpointStore store("users", "events");
  schema.hold(store, "users");
  schema.db.exec("UPDATE projectord.checkpoints SET position = 3 WHERE handler = 'users'");
  pqxx::work txn(*schema.connection);
  try {
    store.advance(txn, 0, 5, 5, {});
    FAIL("the checkpoint moved");
  } catch (const LeaseLost&) {
    FAIL("the lease is still held");
  } catch (const CheckpointMoved&) {
  }
}

TEST_CASE("the move sent with a live transaction's COMMIT is fenced too, and tells a lost lease from a moved checkpoint") {
  Schema schema;
  CheckpointStore store("users", "events");
  schema.hold(store, "users");
  const auto position = [&] {
    return schema.db.query_int("SELECT position FROM projectord.checkpoints WHERE handler = 'users'");
  };
  {
    projectord::postgres::PipelinedCommit txn(*schema.connection);
    store.commit_advance(txn, 0, 5, 5, {});
  }
  CHECK(position() == 5);

  SECTION("another process moved the checkpoint while the lease is still held") {
    schema.db.exec("UPDATE projectord.checkpoints SET position = 7 WHERE handler = 'users'");
    projectord::postgres::PipelinedCommit txn(*schema.connection);
    try {
      store.commit_advance(txn, 5, 9, 4, {});
      FAIL("the checkpoint moved");
    } catch (const LeaseLost&) {
      FAIL("the lease is still held");
    } catch (const CheckpointMoved&) {
    }
    CHECK(position() == 7);
  }
  SECTION("another process took the lease over") {
    schema.expire("users");
    REQUIRE(take_lease(*schema.connection, "users", kSecond, 60s).epoch == 2);
    projectord::postgres::PipelinedCommit txn(*schema.connection);
    CHECK_THROWS_AS(store.commit_advance(txn, 5, 9, 4, {}), LeaseLost);
    CHECK(position() == 5);
  }
}

TEST_CASE("one renewal extends each lease its owner still holds and names the ones it lost") {
  Schema schema;
  const auto users = take_lease(*schema.connection, "users", kFirst, 60s);
  const auto orders = take_lease(*schema.connection, "orders", kFirst, 60s);
  schema.expire("orders");
  REQUIRE(take_lease(*schema.connection, "orders", kSecond, 60s).epoch == 2);

  const auto renewed = renew_leases(*schema.connection, kFirst, {{"users", *users.epoch}, {"orders", *orders.epoch}}, 60s);
  CHECK(renewed == std::vector<std::string>{"users"});
}

TEST_CASE("live processes are those announced and not expired, each with the leases it holds of its handlers") {
  Schema schema;
  announce_process(*schema.connection, kFirst, {"users", "orders"}, 60s);
  announce_process(*schema.connection, kSecond, {"users"}, 60s);
  take_lease(*schema.connection, "users", kFirst, 60s);
  take_lease(*schema.connection, "users:rebuild", kFirst, 60s);  // not one of its handlers: not in the spread
  auto live = live_processes(*schema.connection);
  REQUIRE(live.size() == 2);
  CHECK(live[0].owner == kFirst.id);
  CHECK(live[0].held == std::vector<std::string>{"users"});
  CHECK(live[1].held.empty());

  announce_process(*schema.connection, kSecond, {"users"}, 0s);
  CHECK(live_processes(*schema.connection).size() == 1);
  projectord::checkpoints::withdraw_process(*schema.connection, kFirst);
  CHECK(live_processes(*schema.connection).empty());
}

TEST_CASE("a process at its fair share leaves a free lease to a live process below its share that runs it") {
  Schema schema;
  announce_process(*schema.connection, kFirst, {"a", "b"}, 60s);
  announce_process(*schema.connection, kSecond, {"a", "b"}, 60s);
  REQUIRE(take_lease(*schema.connection, "a", kFirst, 60s).epoch);
  REQUIRE(take_lease(*schema.connection, "b", kFirst, 60s, 60s).epoch);  // b was never held: a new row
  schema.expire("b");

  const auto yielded = take_lease(*schema.connection, "b", kFirst, 60s, 60s);
  CHECK_FALSE(yielded.epoch);
  CHECK(yielded.expires_in > 50s);  // it asks again once the yield is over
  CHECK(take_lease(*schema.connection, "b", kSecond, 60s, 60s).epoch == 2);
}

TEST_CASE("a process at its fair share takes a free lease at once when no one below its share runs it") {
  Schema schema;
  announce_process(*schema.connection, kFirst, {"a", "b", "c"}, 60s);
  announce_process(*schema.connection, kSecond, {"d"}, 60s);  // pinned elsewhere: below its share, but not of c
  for (const char* name : {"a", "b"}) REQUIRE(take_lease(*schema.connection, name, kFirst, 60s).epoch);
  REQUIRE(take_lease(*schema.connection, "c", kSecond, 60s).epoch);  // a lease it let go itself it would leave
  schema.expire("c");
  CHECK(take_lease(*schema.connection, "c", kFirst, 60s, 60s).epoch == 2);
}
