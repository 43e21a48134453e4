// Two daemons on one config: they spread the handlers between them, each standing by for the other's, and one
// takes the other's over when it is killed, cut off (stopped past its lease) or stopped with SIGTERM.
#include <signal.h>

#include <chrono>
#include <random>
#include <thread>

#include "tests/blackbox/daemon_fixture.hpp"

using namespace projectord::testing;
using namespace projectord::testing::blackbox;
using namespace std::chrono_literals;

namespace {

// The demo config's two handlers.
constexpr int kFailoverHandlers = 2;

bool handlers_caught_up(const TestDatabase& db) { return checkpoints_at_head(db) == kFailoverHandlers; }

// Every event logged once, and the users model equal to one built by an uninterrupted run.
void check_exact(const TestDatabase& db) {
  CHECK(logged_events(db) == head(db));
  CHECK(db.query_int("SELECT count(DISTINCT global_position) FROM user_event_log") == logged_events(db));
  const std::string reference = migrated(db, "failover-reference.toml", demo_config("_ref"));
  REQUIRE(run_command({kBinary, "--config", reference, "run", "--exit-when-caught-up"}, env_for(db), 120s).exit_code ==
          0);
  CHECK(users_differences(db, "user_projection", "user_projection_ref") == 0);
}

// Write transactions of the demo handlers' lanes that wait on their client, as a stopped daemon's do.
std::int64_t write_transactions_waiting_on_client(const TestDatabase& db) {
  return db.query_int(
      "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name IN"
      " ('projectord:users', 'projectord:user_log') AND backend_xid IS NOT NULL AND (state = 'idle in transaction'"
      " OR wait_event = 'ClientRead')");
}

// The first daemon runs both handlers until the second joins; then each runs one and stands by for the other's.
struct Pair {
  explicit Pair(const TestDatabase& db, const std::string& config)
      : first({kBinary, "--config", config, "run"}, env_for(db)) {
    REQUIRE(eventually([&] { return leases_held(db, first) == kFailoverHandlers && handlers_caught_up(db); }, 60s));
    second = start_daemon(db, config);
    REQUIRE(eventually([&] {
      return leases_held(db, first) == 1 && leases_held(db, *second) == 1 &&
             db.query_int("SELECT count(*) FROM projectord.lease_standbys s JOIN projectord.leases l USING (name)"
                          " WHERE s.owner <> l.owner AND s.seen_at > now() - interval '5 seconds'") == kFailoverHandlers;
    }, 60s));
  }
  DaemonProcess first;
  std::unique_ptr<DaemonProcess> second;
};

}  // namespace

TEST_CASE("a second daemon on the same config takes its share, and status names each handler's owner and standby") {
  TestDatabase db;
  write_events(db, 30);
  const std::string config = migrated(db, "standby.toml", demo_config());
  Pair pair(db, config);

  const pid_t owner_pid = db.query_int("SELECT pid FROM projectord.leases WHERE name = 'users'");
  const bool first_runs_users = owner_pid == pair.first.pid();
  const pid_t standby_pid = first_runs_users ? pair.second->pid() : pair.first.pid();
  const Endpoint owner(first_runs_users ? pair.first : *pair.second);
  const Endpoint standby(first_runs_users ? *pair.second : pair.first);
  REQUIRE(eventually([&] {
    const auto entry = standby.handler("users");
    return !entry.empty() && entry.at("lease").is_object() && !entry.at("lease").at("this_process").as_bool() &&
           entry.at("lease").at("pid").as_int64() == owner_pid;
  }));
  REQUIRE(eventually([&] {
    const auto lease = owner.handler("users").at("lease");
    if (!lease.is_object() || !lease.at("this_process").as_bool()) return false;
    const auto standbys = lease.at("standbys").as_array();
    return standbys.size() == 1 && standbys[0].at("pid").as_int64() == standby_pid;
  }));

  const auto status = run_command({kBinary, "--config", config, "status"}, env_for(db));
  CHECK(status.output.find("users: run by ") != std::string::npos);
  CHECK(status.output.find(":" + std::to_string(owner_pid) + " since ") != std::string::npos);
  CHECK(status.output.find("  standby ") != std::string::npos);
  CHECK(status.output.find(":" + std::to_string(standby_pid) + " since ") != std::string::npos);
}

TEST_CASE("kill -9 of one daemon: the other takes its handler over within 5 s and resumes from the checkpoint") {
  TestDatabase db;
  write_events(db, 30);
  const std::string config = migrated(db, "kill-owner.toml", demo_config());
  Pair pair(db, config);

  pair.first.signal(SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  REQUIRE(eventually([&] { return leases_held(db, *pair.second) == kFailoverHandlers; }, 30s, 20ms));
  CHECK(std::chrono::steady_clock::now() - killed < 5s);

  write_events(db, 30);
  REQUIRE(eventually([&] { return handlers_caught_up(db); }, 60s));
  check_exact(db);
}

TEST_CASE("a daemon stopped past its lease is taken over, and once it wakes it commits nothing stale and gets its share back") {
  TestDatabase db;
  write_events(db, 30);
  const std::string config = migrated(db, "stopped-owner.toml", demo_config());
  Pair pair(db, config);

  pair.first.signal(SIGSTOP);
  write_events(db, 30);  // waiting for the stopped daemon's handler, as its NOTIFYs are
  REQUIRE(eventually([&] { return leases_held(db, *pair.second) == kFailoverHandlers && handlers_caught_up(db); }, 60s));

  pair.first.signal(SIGCONT);
  write_events(db, 30);
  REQUIRE(eventually([&] {
    return leases_held(db, pair.first) == 1 && leases_held(db, *pair.second) == 1 && handlers_caught_up(db);
  }, 60s));
  check_exact(db);
}

// The rows a stopped daemon's open transaction wrote stay locked until that transaction ends: the process that
// takes its lease ends it, or it would wait on those rows for as long as the daemon stays stopped.
TEST_CASE("a daemon stopped inside a write transaction does not hold up the one that takes its handlers over") {
  TestDatabase db;
  write_events(db, 30);
  const std::string config = migrated(db, "stopped-in-transaction.toml", demo_config());
  DaemonProcess first({kBinary, "--config", config, "run"}, env_for(db));
  REQUIRE(eventually([&] { return leases_held(db, first) == kFailoverHandlers && handlers_caught_up(db); }, 60s));

  // Stopped at random moments of catch-ups until one stop finds a write transaction open.
  std::minstd_rand random(Catch::rngSeed());
  bool stopped_in_transaction = false;
  for (int attempt = 0; attempt < 500 && !stopped_in_transaction; ++attempt) {
    if (handlers_caught_up(db)) write_events(db, 3000, 100);
    std::this_thread::sleep_for(std::chrono::microseconds(random() % 20000));  // a random moment, not a wait
    first.signal(SIGSTOP);
    stopped_in_transaction = eventually([&] { return write_transactions_waiting_on_client(db) > 0; }, 200ms, 10ms);
    if (!stopped_in_transaction) first.signal(SIGCONT);
  }
  REQUIRE(stopped_in_transaction);

  auto second = start_daemon(db, config);
  write_events(db, 30);
  REQUIRE(eventually([&] { return leases_held(db, *second) == kFailoverHandlers && handlers_caught_up(db); }, 60s));
  CHECK(write_transactions_waiting_on_client(db) == 0);

  first.signal(SIGCONT);
  check_exact(db);
}

TEST_CASE("SIGTERM hands a daemon's handler over at once, long before the lease would have expired") {
  TestDatabase db;
  write_events(db, 30);
  const std::string config =
      migrated(db, "handover.toml", "[daemon]\nlease_length = \"60s\"\nlease_renew_interval = \"1s\"\n\n" + demo_config());
  Pair pair(db, config);

  CHECK(exit_code_after(pair.first, SIGTERM) == 0);
  REQUIRE(eventually([&] { return leases_held(db, *pair.second) == kFailoverHandlers; }, 30s));
  write_events(db, 30);
  REQUIRE(eventually([&] { return handlers_caught_up(db); }, 60s));
  check_exact(db);
}
