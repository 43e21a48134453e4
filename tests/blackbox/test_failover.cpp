// Two daemons on one config: one runs the handlers under their leases, the other stands by and takes them
// over when the first is killed, cut off (stopped past its lease) or stopped with SIGTERM.
#include <signal.h>

#include <chrono>

#include "tests/blackbox/daemon_fixture.hpp"

using namespace projectord::testing;
using namespace projectord::testing::blackbox;
using namespace std::chrono_literals;

namespace {

// The demo config's two handlers.
constexpr int kHandlers = 2;

// Leases on the demo's handlers that `pid` holds and that have not expired.
std::int64_t leases_held(const TestDatabase& db, pid_t pid) {
  return db.query_int("SELECT count(*) FROM projectord.leases WHERE pid = " + std::to_string(pid) +
                      " AND expires_at > now()");
}

bool caught_up(const TestDatabase& db) {
  return db.query_int("SELECT count(*) FROM projectord.checkpoints WHERE position = (SELECT max(id) FROM stored_events)") ==
         kHandlers;
}

// Every event logged once, and the users model equal to one built by an uninterrupted run.
void check_exact(const TestDatabase& db) {
  CHECK(logged_events(db) == head(db));
  CHECK(db.query_int("SELECT count(DISTINCT global_position) FROM user_event_log") == logged_events(db));
  const std::string reference = migrated(db, "failover-reference.toml", demo_config("_ref"));
  REQUIRE(run_command({kBinary, "--config", reference, "run", "--exit-when-caught-up"}, env_for(db), 120s).exit_code ==
          0);
  CHECK(users_differences(db, "user_projection", "user_projection_ref") == 0);
}

// The first daemon runs both handlers and the second stands by for both.
struct Pair {
  explicit Pair(const TestDatabase& db, const std::string& config)
      : owner({kBinary, "--config", config, "run"}, env_for(db)) {
    REQUIRE(eventually([&] { return leases_held(db, owner.pid()) == kHandlers && caught_up(db); }, 60s));
    standby = std::make_unique<DaemonProcess>(std::vector<std::string>{kBinary, "--config", config, "run"}, env_for(db));
    REQUIRE(eventually([&] {
      return db.query_int("SELECT count(*) FROM projectord.lease_standbys WHERE pid = " +
                          std::to_string(standby->pid())) == kHandlers;
    }));
  }
  DaemonProcess owner;
  std::unique_ptr<DaemonProcess> standby;
};

}  // namespace

TEST_CASE("a second daemon on the same config stands by, and status names the owner and the standby") {
  TestDatabase db;
  write_events(db, 30);
  const std::string config = migrated(db, "standby.toml", demo_config());
  Pair pair(db, config);

  const Endpoint standby(*pair.standby);
  REQUIRE(eventually([&] {
    const auto entry = standby.handler("users");
    return !entry.empty() && entry.at("lease").is_object();
  }));
  const auto lease = standby.handler("users").at("lease").as_object();
  CHECK_FALSE(lease.at("this_process").as_bool());
  CHECK(lease.at("pid").as_int64() == pair.owner.pid());

  const Endpoint owner(pair.owner);
  REQUIRE(eventually([&] {
    const auto standbys = owner.handler("users").at("lease").at("standbys").as_array();
    return standbys.size() == 1 && standbys[0].at("pid").as_int64() == pair.standby->pid();
  }));
  CHECK(owner.handler("users").at("lease").at("this_process").as_bool());

  const auto status = run_command({kBinary, "--config", config, "status"}, env_for(db));
  CHECK(status.output.find("users: run by ") != std::string::npos);
  CHECK(status.output.find(":" + std::to_string(pair.owner.pid()) + " since ") != std::string::npos);
  CHECK(status.output.find("  standby ") != std::string::npos);
  CHECK(status.output.find(":" + std::to_string(pair.standby->pid()) + " since ") != std::string::npos);
}

TEST_CASE("kill -9 of the owner: the standby takes its handlers over within 5 s and resumes from the checkpoint") {
  TestDatabase db;
  write_events(db, 30);
  const std::string config = migrated(db, "kill-owner.toml", demo_config());
  Pair pair(db, config);

  pair.owner.signal(SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  REQUIRE(eventually([&] { return leases_held(db, pair.standby->pid()) == kHandlers; }, 30s, 20ms));
  CHECK(std::chrono::steady_clock::now() - killed < 5s);

  write_events(db, 30);
  REQUIRE(eventually([&] { return caught_up(db); }, 60s));
  check_exact(db);
}

TEST_CASE("an owner stopped past its lease is taken over, and once it wakes it commits nothing and stands by") {
  TestDatabase db;
  write_events(db, 30);
  const std::string config = migrated(db, "stopped-owner.toml", demo_config());
  Pair pair(db, config);

  pair.owner.signal(SIGSTOP);
  write_events(db, 30);  // waiting for the stopped owner, as its NOTIFYs are
  REQUIRE(eventually([&] { return leases_held(db, pair.standby->pid()) == kHandlers && caught_up(db); }, 60s));

  pair.owner.signal(SIGCONT);
  const Endpoint woken(pair.owner);
  REQUIRE(eventually([&] {
    for (const char* name : {"users", "user_log"}) {
      const auto entry = woken.handler(name);
      if (entry.empty() || !entry.at("lease").is_object() || entry.at("lease").at("this_process").as_bool()) return false;
    }
    return true;
  }, 60s));
  write_events(db, 30);
  REQUIRE(eventually([&] { return caught_up(db); }, 60s));
  CHECK(leases_held(db, pair.standby->pid()) == kHandlers);
  check_exact(db);
}

TEST_CASE("SIGTERM hands the handlers over at once, long before the lease would have expired") {
  TestDatabase db;
  write_events(db, 30);
  const std::string config =
      migrated(db, "handover.toml", "[daemon]\nlease_length = \"60s\"\nlease_renew_interval = \"1s\"\n\n" + demo_config());
  Pair pair(db, config);

  CHECK(exit_code_after(pair.owner, SIGTERM) == 0);
  REQUIRE(eventually([&] { return leases_held(db, pair.standby->pid()) == kHandlers; }, 30s));
  write_events(db, 30);
  REQUIRE(eventually([&] { return caught_up(db); }, 60s));
  check_exact(db);
}
