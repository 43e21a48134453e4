// Several daemons on one config of twelve handlers: they spread the handlers evenly, and when one is killed,
// cut off past its lease, stopped or joined by another, the live ones share its handlers again; every read
// model ends equal to an uninterrupted run's, with no event applied twice.
#include <signal.h>

#include <chrono>

#include "tests/blackbox/daemon_fixture.hpp"

using namespace projectord::testing;
using namespace projectord::testing::blackbox;
using namespace std::chrono_literals;

namespace {

// Six copies of the demo's two handlers (users and user_log), each copy with tables of its own.
constexpr int kCopies = 6;
constexpr int kHandlers = 2 * kCopies;

std::string twelve_handlers() {
  std::string config = demo_config("_0");
  for (int copy = 1; copy < kCopies; ++copy) {
    const std::string more = demo_config("_" + std::to_string(copy));
    config += more.substr(more.find("\n[handlers."));
  }
  return config;
}

std::int64_t leases_held(const TestDatabase& db, const DaemonProcess& daemon) {
  return db.query_int("SELECT count(*) FROM projectord.leases WHERE pid = " + std::to_string(daemon.pid()) +
                      " AND expires_at > now() AND name NOT LIKE '%:rebuild'");
}

bool caught_up(const TestDatabase& db) {
  return db.query_int("SELECT count(*) FROM projectord.checkpoints WHERE position = (SELECT max(id) FROM stored_events)") ==
         kHandlers;
}

// Each of `daemons` holds `each` leases, and every handler has caught up.
bool spread(const TestDatabase& db, const std::vector<const DaemonProcess*>& daemons, std::int64_t each) {
  for (const DaemonProcess* daemon : daemons) {
    if (leases_held(db, *daemon) != each) return false;
  }
  return caught_up(db);
}

std::unique_ptr<DaemonProcess> start(const TestDatabase& db, const std::string& config) {
  return std::make_unique<DaemonProcess>(std::vector<std::string>{kBinary, "--config", config, "run"}, env_for(db));
}

// Every copy's log holds each event once, and every copy's users model equals an uninterrupted run's.
void check_exact(const TestDatabase& db) {
  const std::string reference = migrated(db, "spread-reference.toml", demo_config("_ref"));
  REQUIRE(run_command({kBinary, "--config", reference, "run", "--exit-when-caught-up"}, env_for(db), 120s).exit_code ==
          0);
  for (int copy = 0; copy < kCopies; ++copy) {
    const std::string suffix = "_" + std::to_string(copy);
    CHECK(db.query_int("SELECT count(*) FROM user_event_log" + suffix) == head(db));
    CHECK(db.query_int("SELECT count(DISTINCT global_position) FROM user_event_log" + suffix) == head(db));
    CHECK(users_differences(db, "user_projection" + suffix, "user_projection_ref") == 0);
  }
}

}  // namespace

TEST_CASE("daemons spread twelve handlers evenly and share them again as each is killed, cut off, stopped or joins") {
  TestDatabase db;
  write_events(db, 30);
  const std::string config = migrated(db, "spread.toml", twelve_handlers());

  auto a = start(db, config);
  REQUIRE(eventually([&] { return spread(db, {a.get()}, kHandlers); }, 60s));
  auto b = start(db, config);
  REQUIRE(eventually([&] { return spread(db, {a.get(), b.get()}, 6); }, 60s));
  auto c = start(db, config);
  write_events(db, 30);
  REQUIRE(eventually([&] { return spread(db, {a.get(), b.get(), c.get()}, 4); }, 60s));

  // kill -9: the two left take its four over within 5 s.
  a->signal(SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  REQUIRE(eventually([&] { return leases_held(db, *b) + leases_held(db, *c) == kHandlers; }, 30s, 20ms));
  CHECK(std::chrono::steady_clock::now() - killed < 5s);
  write_events(db, 30);
  REQUIRE(eventually([&] { return spread(db, {b.get(), c.get()}, 6); }, 60s));

  auto d = start(db, config);
  REQUIRE(eventually([&] { return spread(db, {b.get(), c.get(), d.get()}, 4); }, 60s));

  // Stopped past its lease: taken over; woken: it commits nothing stale and gets its share back.
  b->signal(SIGSTOP);
  write_events(db, 30);
  REQUIRE(eventually([&] { return spread(db, {c.get(), d.get()}, 6); }, 60s));
  b->signal(SIGCONT);
  write_events(db, 30);
  REQUIRE(eventually([&] { return spread(db, {b.get(), c.get(), d.get()}, 4); }, 60s));

  CHECK(exit_code_after(*c, SIGTERM) == 0);
  REQUIRE(eventually([&] { return leases_held(db, *b) + leases_held(db, *d) == kHandlers; }, 30s));
  write_events(db, 30);
  REQUIRE(eventually([&] { return spread(db, {b.get(), d.get()}, 6); }, 60s));
  check_exact(db);
}

TEST_CASE("a daemon pinned to some handlers runs only those, and the others spread over the rest") {
  TestDatabase db;
  write_events(db, 30);
  const std::string all = migrated(db, "unpinned.toml", twelve_handlers());
  const std::string pinned = write_file("pinned.toml", "[daemon]\nhandlers = [\"users_0\", \"user_log_0\"]\n\n" +
                                                           twelve_handlers());

  auto a = start(db, all);
  auto b = start(db, all);
  auto p = start(db, pinned);
  // ⌈12/3⌉ = 4 each is more than the pinned one can run: it holds its two, the others five each.
  REQUIRE(eventually([&] {
    return leases_held(db, *p) == 2 && leases_held(db, *a) == 5 && leases_held(db, *b) == 5 && caught_up(db);
  }, 60s));
  CHECK(db.query_int("SELECT count(*) FROM projectord.leases WHERE pid = " + std::to_string(p->pid()) +
                     " AND name IN ('users_0', 'user_log_0') AND expires_at > now()") == 2);
  CHECK(db.query_int("SELECT count(*) FROM projectord.lease_standbys WHERE pid = " + std::to_string(p->pid()) +
                     " AND name NOT IN ('users_0', 'user_log_0')") == 0);
}
