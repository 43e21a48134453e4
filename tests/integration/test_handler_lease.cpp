// A lane's lease (daemon/lane/handler_lease.hpp) against a real PostgreSQL: standing by, renewing off the
// lane's thread, letting go at the end, noticing it was taken over.
#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <pqxx/pqxx>
#include <thread>

#include "checkpoints/leases.hpp"
#include "checkpoints/schema.hpp"
#include "daemon/lane/handler_lease.hpp"
#include "tests/support/test_database.hpp"

using namespace std::chrono_literals;
using projectord::HandlerLease;
using projectord::LeaseTiming;
using projectord::checkpoints::LeaseOwner;
using projectord::testing::eventually;
using projectord::testing::TestDatabase;

namespace {

const LeaseOwner kFirst{"host-a:10:1", "host-a", 10};
const LeaseOwner kSecond{"host-b:20:2", "host-b", 20};

// Leases long enough that none expires by itself in a test, renewed often enough to see renewals soon.
constexpr LeaseTiming kTiming{60s, 20ms};

struct Schema {
  Schema() {
    pqxx::work txn(*first);
    for (const std::string& sql : projectord::checkpoints::install_schema_sql()) txn.exec(sql);
    txn.commit();
  }
  HandlerLease::Terms terms(const LeaseOwner& owner, const std::string& checkpoint = "users") const {
    return {db.url(), "users", checkpoint, owner, kTiming};
  }
  TestDatabase db;
  std::unique_ptr<pqxx::connection> first = db.connect();
  std::unique_ptr<pqxx::connection> second = db.connect();
};

}  // namespace

TEST_CASE("the handler lease goes to the first process at once, and a second stands by until the first lets it go") {
  Schema schema;
  bool first_stood_by = false;
  auto first = HandlerLease::take(*schema.first, schema.terms(kFirst),
                                  {.standing_by = [&](const auto&) { first_stood_by = true; }}, {});
  REQUIRE(first);
  CHECK_FALSE(first_stood_by);

  std::atomic<bool> standing_by = false;
  std::unique_ptr<HandlerLease> second;
  std::jthread standby([&] {
    second = HandlerLease::take(*schema.second, schema.terms(kSecond),
                                {.standing_by = [&](const projectord::checkpoints::LeaseHolder& holder) {
                                  if (holder.host == "host-a") standing_by = true;
                                }},
                                {});
  });
  REQUIRE(eventually([&] { return standing_by.load(); }));

  first->release_at_end();
  first.reset();
  standby.join();
  REQUIRE(second);
  CHECK(second->epoch() == 2);
}

TEST_CASE("a held handler lease is renewed off the lane's thread, and the holder sees who stands by") {
  Schema schema;
  std::atomic<int> renewals = 0;
  std::atomic<bool> saw_standby = false;
  auto lease = HandlerLease::take(*schema.first, schema.terms(kFirst),
                                  {.renewed =
                                       [&](const std::vector<projectord::checkpoints::LeaseStandby>& standbys) {
                                         ++renewals;
                                         if (standbys.size() == 1 && standbys[0].host == "host-b") saw_standby = true;
                                       }},
                                  {});
  REQUIRE(lease);
  REQUIRE(eventually([&] { return renewals.load() >= 2; }));
  CHECK(schema.db.query_int("SELECT count(*) FROM projectord.leases WHERE renewed_at > acquired_at") == 1);

  CHECK_FALSE(projectord::checkpoints::take_lease(*schema.second, "users", kSecond, 60s).epoch);
  CHECK(eventually([&] { return saw_standby.load(); }));
  CHECK_FALSE(lease->lost());
}

TEST_CASE("a handler lease taken over by another process is found lost by its next renewal") {
  Schema schema;
  std::atomic<bool> told = false;
  auto lease = HandlerLease::take(*schema.first, schema.terms(kFirst), {.lost = [&] { told = true; }}, {});
  REQUIRE(lease);
  // Another process takes it as if this one had been paused past its expiry.
  schema.db.exec("UPDATE projectord.leases SET expires_at = now() - interval '1 second'");
  REQUIRE(projectord::checkpoints::take_lease(*schema.second, "users", kSecond, 60s).epoch == 2);
  REQUIRE(eventually([&] { return lease->lost(); }));
  CHECK(told);
}

TEST_CASE("the handler leases of a live lane and of its rebuild's shadow lane are apart") {
  Schema schema;
  auto live = HandlerLease::take(*schema.first, schema.terms(kFirst), {}, {});
  auto shadow = HandlerLease::take(*schema.second, schema.terms(kSecond, "users:rebuild"), {}, {});
  CHECK(live);
  CHECK(shadow);
}

TEST_CASE("a process standing by for the handler lease gives up without it when stop is requested") {
  Schema schema;
  auto holder = HandlerLease::take(*schema.first, schema.terms(kFirst), {}, {});
  REQUIRE(holder);

  std::stop_source stop;
  std::atomic<bool> standing_by = false;
  std::atomic<bool> taken = true;
  std::jthread standby([&] {
    taken = HandlerLease::take(*schema.second, schema.terms(kSecond), {.standing_by = [&](const auto&) {
                                 standing_by = true;
                               }},
                               stop.get_token()) != nullptr;
  });
  REQUIRE(eventually([&] { return standing_by.load(); }));
  stop.request_stop();
  standby.join();
  CHECK_FALSE(taken);
  CHECK(schema.db.query_int("SELECT count(*) FROM projectord.lease_standbys") == 0);
}
