// A lane's lease (daemon/lane/handler_lease.hpp) and the process's lease keeper (daemon/leases/lease_keeper.hpp)
// against a real PostgreSQL: standing by, renewing off the lane's thread, letting go at the end, noticing it was
// taken over, handing leases over to a process that joins.
#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <pqxx/pqxx>
#include <thread>

#include "checkpoints/leases.hpp"
#include "checkpoints/schema.hpp"
#include "daemon/lane/handler_lease.hpp"
#include "daemon/leases/lease_keeper.hpp"
#include "tests/support/test_database.hpp"

using namespace std::chrono_literals;
using projectord::HandlerLease;
using projectord::LeaseKeeper;
using projectord::LeaseTiming;
using projectord::checkpoints::LeaseOwner;
using projectord::testing::eventually;
using projectord::testing::TestDatabase;

namespace {

const LeaseOwner kFirstHost{"host-a:10:1", "host-a", 10};
const LeaseOwner kSecondHost{"host-b:20:2", "host-b", 20};

// Leases long enough that none expires by itself in a test, renewed often enough to see renewals soon.
constexpr LeaseTiming kTiming{60s, 20ms};

struct TwoKeepers {
  TwoKeepers() {
    pqxx::work txn(*first);
    for (const std::string& sql : projectord::checkpoints::install_schema_sql()) txn.exec(sql);
    txn.commit();
  }
  TestDatabase db;
  std::unique_ptr<pqxx::connection> first = db.connect();
  std::unique_ptr<pqxx::connection> second = db.connect();
  LeaseKeeper first_keeper{db.url(), kFirstHost, kTiming};
  LeaseKeeper second_keeper{db.url(), kSecondHost, kTiming};
};

std::unique_ptr<HandlerLease> take(pqxx::connection& connection, LeaseKeeper& keeper,
                                   HandlerLease::Listener listener = {}, std::stop_token stop = {},
                                   const std::string& checkpoint = "users") {
  return HandlerLease::take([&]() -> pqxx::connection& { return connection; }, keeper, "users", checkpoint, std::move(listener), stop);
}

}  // namespace

TEST_CASE("the handler lease goes to the first process at once, and a second stands by until the first lets it go") {
  TwoKeepers schema;
  bool first_stood_by = false;
  auto first = take(*schema.first, schema.first_keeper, {.standing_by = [&](const auto&) { first_stood_by = true; }});
  REQUIRE(first);
  CHECK_FALSE(first_stood_by);

  std::atomic<bool> standing_by = false;
  std::unique_ptr<HandlerLease> second;
  std::jthread standby([&] {
    second = take(*schema.second, schema.second_keeper,
                  {.standing_by = [&](const projectord::checkpoints::LeaseHolder& holder) {
                    if (holder.host == "host-a") standing_by = true;
                  }});
  });
  REQUIRE(eventually([&] { return standing_by.load(); }));

  first->release_at_end();
  first.reset();
  standby.join();
  REQUIRE(second);
  CHECK(second->epoch() == 2);
}

TEST_CASE("a held handler lease is renewed by the process's keeper, and the holder sees who stands by") {
  TwoKeepers schema;
  std::atomic<int> renewals = 0;
  std::atomic<bool> saw_standby = false;
  auto lease = take(*schema.first, schema.first_keeper,
                    {.renewed = [&](const std::vector<projectord::checkpoints::LeaseStandby>& standbys) {
                      ++renewals;
                      if (standbys.size() == 1 && standbys[0].host == "host-b") saw_standby = true;
                    }});
  REQUIRE(lease);
  REQUIRE(eventually([&] { return renewals.load() >= 2; }));
  CHECK(schema.db.query_int("SELECT count(*) FROM projectord.leases WHERE renewed_at > acquired_at") == 1);

  CHECK_FALSE(projectord::checkpoints::take_lease(*schema.second, "users", kSecondHost, 60s).epoch);
  CHECK(eventually([&] { return saw_standby.load(); }));
  CHECK_FALSE(lease->lost());
}

TEST_CASE("a handler lease taken over by another process is found lost by its next renewal") {
  TwoKeepers schema;
  std::atomic<bool> told = false;
  auto lease = take(*schema.first, schema.first_keeper, {.ended = [&] { told = true; }});
  REQUIRE(lease);
  // Another process takes it as if this one had been paused past its expiry (in one statement: the keeper,
  // renewing every few milliseconds, would extend an expiry written on its own).
  schema.db.exec("UPDATE projectord.leases SET owner = '" + kSecondHost.id + "', host = 'host-b', pid = 20, epoch = 2");
  REQUIRE(eventually([&] { return lease->lost(); }));
  CHECK(told);
}

TEST_CASE("the handler leases of a live lane and of its rebuild's shadow lane are apart") {
  TwoKeepers schema;
  auto live = take(*schema.first, schema.first_keeper);
  auto shadow = take(*schema.second, schema.second_keeper, {}, {}, "users:rebuild");
  CHECK(live);
  CHECK(shadow);
}

TEST_CASE("a process standing by for the handler lease gives up without it when stop is requested") {
  TwoKeepers schema;
  auto holder = take(*schema.first, schema.first_keeper);
  REQUIRE(holder);

  std::stop_source stop;
  std::atomic<bool> standing_by = false;
  std::atomic<bool> taken = true;
  std::jthread standby([&] {
    taken = take(*schema.second, schema.second_keeper, {.standing_by = [&](const auto&) { standing_by = true; }},
                 stop.get_token()) != nullptr;
  });
  REQUIRE(eventually([&] { return standing_by.load(); }));
  stop.request_stop();
  standby.join();
  CHECK_FALSE(taken);
  CHECK(schema.db.query_int("SELECT count(*) FROM projectord.lease_standbys") == 0);
}

TEST_CASE("the keeper renews all of a process's leases in one round and announces the handlers it runs") {
  TwoKeepers schema;
  schema.first_keeper.run_handlers({"users", "orders"});
  auto users = take(*schema.first, schema.first_keeper);
  auto orders = HandlerLease::take([&]() -> pqxx::connection& { return *schema.first; }, schema.first_keeper, "orders", "orders", {}, {});
  REQUIRE(users);
  REQUIRE(orders);
  REQUIRE(eventually([&] {
    return schema.db.query_int("SELECT count(*) FROM projectord.leases WHERE renewed_at > acquired_at") == 2;
  }));
  CHECK(schema.db.query_value("SELECT array_to_string(handlers, ',') FROM projectord.processes WHERE owner = '" +
                              kFirstHost.id + "'") == "users,orders");
}

TEST_CASE("a process above its fair share hands leases over to one that joins, which takes them") {
  TwoKeepers schema;
  const std::vector<std::string> handlers{"a", "b", "c", "d"};
  schema.first_keeper.run_handlers(handlers);
  std::vector<std::unique_ptr<HandlerLease>> held;
  std::atomic<int> asked_to_hand_over = 0;
  for (const std::string& name : handlers) {
    held.push_back(HandlerLease::take([&]() -> pqxx::connection& { return *schema.first; }, schema.first_keeper, name, name,
                                      {.ended = [&] { ++asked_to_hand_over; }}, {}));
    REQUIRE(held.back());
  }

  schema.second_keeper.run_handlers(handlers);
  REQUIRE(eventually([&] { return asked_to_hand_over.load() == 2; }));
  for (auto& lease : held) {
    if (lease->handing_over()) lease->release_now(*schema.first);
  }
  // The joining process below its share gets what was handed over; the first, at its share, leaves it be.
  for (const std::string& name : {std::string("c"), std::string("d")}) {
    CHECK_FALSE(projectord::checkpoints::take_lease(*schema.first, name, kFirstHost, 60s, 60s).epoch);
    CHECK(HandlerLease::take([&]() -> pqxx::connection& { return *schema.second; }, schema.second_keeper, name, name, {}, {}));
  }
  CHECK(asked_to_hand_over.load() == 2);
}
