// Fault scenario: the servers restarted under a running daemon. A PostgreSQL of the test's own is stopped
// with `pg_ctl stop -m immediate` (a crash, to its clients) and started again during a catch-up, a live burst,
// a rebuild's swap and while the daemon idles LISTENing; a Redis of the test's own is restarted with entries
// pending and with a lane blocked in XREADGROUP. The daemon is never restarted: it must recover by itself,
// and its read models end equal to references computed without its code (tests/faults/reference_models.hpp),
// with nothing dead-lettered.
#include <catch2/catch.hpp>
#include <csignal>
#include <sstream>
#include <string>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/faults/reference_models.hpp"
#include "tests/faults/scenario_report.hpp"
#include "tests/faults/scenario_steps.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/redis_server.hpp"

using namespace std::chrono_literals;
using namespace projectord::testing::blackbox;
using namespace projectord::testing::faults;
using projectord::testing::DaemonProcess;
using projectord::testing::eventually;
using projectord::testing::PostgresServer;
using projectord::testing::RedisServer;
using projectord::testing::run_command;
using projectord::testing::TestDatabase;

namespace {

// A restart's recovery includes the daemon's reconnect backoff, which doubles up to 30 s.
constexpr auto kRecovery = 120s;

// True when `condition` holds; false while the server cannot answer it (being restarted).
template <class Condition>
bool holds(Condition condition) {
  try {
    return condition();
  } catch (const std::exception&) {
    return false;
  }
}

// The demo writer appending `events` in the background, until it finishes or its server goes away.
DaemonProcess background_writer(const TestDatabase& db, int events) {
  return DaemonProcess({kWriter, "--url", db.url(), "--events", std::to_string(events), "--per-transaction", "3"});
}

bool caught_up(const TestDatabase& db) {
  return holds([&] {
    const std::int64_t newest = head(db);
    return checkpoint_of(db, "users") == newest && checkpoint_of(db, "user_log") == newest;
  });
}

// The demo store in a database of `server`, migrated, with `events` written before the daemon starts; the
// users handler folds up to `fold_memory`.
struct DemoStore {
  DemoStore(const PostgresServer& server, int events, const std::string& source_extra = "",
            const std::string& fold_memory = "256MiB")
      : db(server.url()) {
    write_plain_events(db, events, 50);
    const std::string demo = demo_config("", source_extra, "eventsourcing_json");
    config = migrated(db, "restarts-" + db.name() + ".toml", with_admin_token(with_fold_memory(demo, fold_memory)));
  }

  DaemonProcess run() const { return DaemonProcess({kBinary, "--config", config, "run"}, env_for(db)); }

  TestDatabase db;
  std::string config;
};

// The end every PostgreSQL case shares: caught up after the restart, the models equal to the replay, nothing
// dead-lettered, the daemon still the one started and stopping cleanly.
void expect_recovered(DemoStore& store, DaemonProcess& daemon, ReportAtEnd& run) {
  write_plain_events(store.db, 300, 3);  // written after the restart: the daemon follows the store again
  const bool recovered = eventually([&] { return caught_up(store.db); }, kRecovery);
  INFO("users at " << checkpoint_of(store.db, "users") << ", user_log at " << checkpoint_of(store.db, "user_log")
                   << " of " << head(store.db) << "; the daemon's log:\n" << daemon.log());
  REQUIRE(recovered);
  run.figures.observe(daemon.pid());
  const std::string differences = compare_demo_models(store.db, run.figures);
  INFO(differences);
  CHECK(differences.empty());
  CHECK(store.db.query_int("SELECT count(*) FROM projectord.dead_letters") == 0);
  CHECK(run.figures.duplicates == 0);
  CHECK(run.figures.losses == 0);
  CHECK(daemon.log().find("event=error") != std::string::npos);  // it did see the server go away
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

}  // namespace

TEST_CASE("postgres stopped immediately during a catch-up: the daemon reconnects and ends equal to the replay",
          "[faults][restarts]") {
  ReportAtEnd run{{.scenario = "postgres restarted during a catch-up"}};
  PostgresServer server;
  // Small batches and a small fold budget: the catch-up takes many transactions, and the fault lands between two
  // of them.
  DemoStore store(server, 60000, "batch_size = 200\n", "1MiB");
  DaemonProcess daemon = store.run();
  REQUIRE(eventually([&] { return checkpoint_of(store.db, "users") > 0; }, 60s, 2ms));
  run.figures.observe(daemon.pid());
  const std::int64_t before = checkpoint_of(store.db, "users");
  server.stop_immediately();
  ++run.figures.faults_injected;
  CHECK(before < 60000);  // the fault came before the catch-up ended
  server.start();
  expect_recovered(store, daemon, run);
}

TEST_CASE("postgres stopped immediately during a live burst: the daemon reconnects and ends equal to the replay",
          "[faults][restarts]") {
  ReportAtEnd run{{.scenario = "postgres restarted during a live burst"}};
  PostgresServer server;
  DemoStore store(server, 2000);
  DaemonProcess daemon = store.run();
  REQUIRE(eventually([&] { return caught_up(store.db); }, 60s));
  {
    DaemonProcess writer = background_writer(store.db, 50000);
    // Well into the burst: the daemon applies live events when the server goes.
    REQUIRE(eventually([&] { return checkpoint_of(store.db, "users") > 2500; }, 60s, 5ms));
    run.figures.observe(daemon.pid());
    server.stop_immediately();
    ++run.figures.faults_injected;
    CHECK(writer.wait_exit(30s).value_or(0) != 0);  // the writer lost its server mid-burst
  }
  server.start();
  expect_recovered(store, daemon, run);
}

TEST_CASE("postgres stopped immediately during a rebuild's swap: the rebuild swaps after the restart, the models "
          "equal the replay",
          "[faults][restarts]") {
  ReportAtEnd run{{.scenario = "postgres restarted during a rebuild's swap"}};
  PostgresServer server;
  DemoStore store(server, 3000);
  DaemonProcess daemon = store.run();
  REQUIRE(eventually([&] { return caught_up(store.db); }, 60s));
  Endpoint endpoint(daemon, kAdminToken);
  {
    // A reader of user_projection holds the swap (which needs the table exclusively) at its lock request.
    const auto reader = store.db.connect();
    pqxx::work reading(*reader);
    reading.exec("LOCK TABLE user_projection IN ACCESS SHARE MODE");
    REQUIRE(endpoint.post("/admin/rebuild/users").status == 202);
    REQUIRE(eventually(
        [&] {
          return store.db.query_int("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = "
                                    "'public.user_projection'::regclass") > 0;
        },
        60s, 5ms));
    run.figures.observe(daemon.pid());
    server.stop_immediately();
    ++run.figures.faults_injected;
  }
  server.start();
  REQUIRE(eventually([&] { return daemon.log().find("event=rebuild_swapped") != std::string::npos; }, kRecovery));
  CHECK(store.db.query_int("SELECT count(*) FROM projectord.rebuilds") == 0);
  expect_recovered(store, daemon, run);
}

TEST_CASE("postgres stopped immediately while the daemon idles LISTENing: it reconnects and follows new events",
          "[faults][restarts]") {
  ReportAtEnd run{{.scenario = "postgres restarted while the listener waits"}};
  PostgresServer server;
  DemoStore store(server, 1000);
  DaemonProcess daemon = store.run();
  REQUIRE(eventually([&] { return caught_up(store.db); }, 60s));
  Endpoint endpoint(daemon);
  REQUIRE(eventually([&] { return endpoint.state("users") == "idle" && endpoint.state("user_log") == "idle"; }));
  REQUIRE(store.db.query_int("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'") > 0);
  run.figures.observe(daemon.pid());
  server.stop_immediately();
  ++run.figures.faults_injected;
  REQUIRE(eventually([&] { return endpoint.state("users") == "reconnecting"; }, 30s));
  server.start();
  expect_recovered(store, daemon, run);
}

namespace {

const std::string kStream = "user-events";

// A stream-fed event log on the shared test PostgreSQL, reading the stream of `redis`.
struct StreamStore {
  StreamStore(const RedisServer& redis, const std::string& block) {
    const std::string text =
        "[database]\nurl = \"${TEST_DATABASE_URL}\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n\n"
        "[sources.users]\nkind = \"redis\"\nurl = \"" + redis.url() + "\"\nstream = \"" + kStream +
        "\"\nconsumer = \"restarts\"\nblock = \"" + block + "\"\nclaim_idle = \"1s\"\nbatch_size = 100\n\n"
        "[handlers.user_log]\nkind = \"event_log\"\ntable = \"user_event_log\"\non_error = \"dead_letter\"\n";
    config = migrated(db, "restarts-" + db.name() + ".toml", text);
  }

  DaemonProcess run() const { return DaemonProcess({kBinary, "--config", config, "run"}, env_for(db)); }

  TestDatabase db;
  std::string config;
};

std::int64_t pending(const RedisServer& redis) {
  const std::string summary = redis.cli({"XPENDING", kStream, "projectord:user_log"});
  return std::stoll(summary.substr(0, summary.find('\n')));
}

bool all_applied(const StreamStore& store, const RedisServer& redis) {
  return holds([&] {
    return logged_events(store.db) == std::stoll(redis.cli({"XLEN", kStream})) && pending(redis) == 0;
  });
}

// The end both Redis cases share: every entry applied once and acknowledged, the log equal to the stream,
// nothing dead-lettered, the daemon still the one started and stopping cleanly.
void expect_recovered(StreamStore& store, const RedisServer& redis, DaemonProcess& daemon, ReportAtEnd& run) {
  add_user_entries(redis, kStream, 10001, 300);  // added after the restart: the daemon follows the stream again
  const bool recovered = eventually([&] { return all_applied(store, redis); }, kRecovery);
  INFO("logged " << logged_events(store.db) << " of " << redis.cli({"XLEN", kStream}) << " entries, "
                 << pending(redis) << " pending; the daemon's log:\n" << daemon.log());
  REQUIRE(recovered);
  run.figures.observe(daemon.pid());
  const std::string differences = compare_stream_log(store.db, redis, kStream, "user_event_log", run.figures);
  INFO(differences);
  CHECK(differences.empty());
  CHECK(store.db.query_int("SELECT count(*) FROM projectord.dead_letters") == 0);
  CHECK(run.figures.duplicates == 0);
  CHECK(run.figures.losses == 0);
  CHECK(daemon.log().find("event=error") != std::string::npos);  // it did see the server go away
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

}  // namespace

TEST_CASE("redis restarted with entries read and not yet acknowledged: they are applied once and acknowledged",
          "[faults][restarts][redis]") {
  ReportAtEnd run{{.scenario = "redis restarted with entries pending"}};
  RedisServer redis;
  StreamStore store(redis, "200ms");
  add_user_entries(redis, kStream, 1, 500);
  DaemonProcess daemon = store.run();
  REQUIRE(eventually([&] { return all_applied(store, redis); }, 60s));
  Endpoint endpoint(daemon);
  // Idle: the indexes for readers, built once caught up, are in place and need the table no more.
  REQUIRE(eventually([&] { return endpoint.state("user_log") == "idle"; }));
  {
    // The daemon reads the next entries but cannot commit them (nor so acknowledge them) while a session
    // holds their table: they stay pending across the restart.
    const auto holder = store.db.connect();
    pqxx::work holding(*holder);
    holding.exec("LOCK TABLE user_event_log IN ACCESS EXCLUSIVE MODE");
    add_user_entries(redis, kStream, 501, 200);
    REQUIRE(eventually([&] { return pending(redis) > 0; }, 30s));
    run.figures.observe(daemon.pid());
    redis.stop();
    redis.start();
    ++run.figures.faults_injected;
    CHECK(pending(redis) > 0);  // the restarted server kept them pending
  }
  expect_recovered(store, redis, daemon, run);
}

TEST_CASE("redis restarted while the lane is blocked in XREADGROUP: the daemon reconnects and follows the stream",
          "[faults][restarts][redis]") {
  ReportAtEnd run{{.scenario = "redis restarted with a lane blocked in XREADGROUP"}};
  RedisServer redis;
  StreamStore store(redis, "10s");
  add_user_entries(redis, kStream, 1, 500);
  DaemonProcess daemon = store.run();
  REQUIRE(eventually([&] { return all_applied(store, redis); }, 60s));
  REQUIRE(eventually([&] {  // a client line: ... flags=b[U] ... cmd=xreadgroup ...
    std::istringstream clients(redis.cli({"CLIENT", "LIST"}));
    for (std::string client; std::getline(clients, client);) {
      if (client.find(" flags=b") != std::string::npos && client.find(" cmd=xreadgroup ") != std::string::npos) return true;
    }
    return false;
  }));
  run.figures.observe(daemon.pid());
  redis.stop();
  redis.start();
  ++run.figures.faults_injected;
  expect_recovered(store, redis, daemon, run);
}
