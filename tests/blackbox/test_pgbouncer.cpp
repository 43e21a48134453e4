// The daemon as a black box behind pgbouncer in transaction pooling ([database] pooling = "transaction"),
// the way most Django deployments reach PostgreSQL: the pool shares few server sessions among the daemon's
// connections, so nothing the daemon keeps may outlive a transaction. A catch-up, a live lane woken by
// NOTIFY on listen_url (and one that polls without it), kill -9 and a restart, a rebuild swapped in, a
// dead letter retried and a Redis-fed handler, each ending with the read model a direct connection builds.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <csignal>
#include <string>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/redis_server.hpp"

using namespace std::chrono_literals;
using namespace projectord::testing::blackbox;
using projectord::testing::DaemonProcess;
using projectord::testing::eventually;
using projectord::testing::RedisServer;
using projectord::testing::run_command;
using projectord::testing::TestDatabase;

namespace {

// `config` with its [database] behind the pooler; with `listen`, LISTEN goes to the direct connection.
std::string pooled(const std::string& config, bool listen) {
  const std::string url = "url = \"${TEST_DATABASE_URL}\"\n";
  std::string text = config;
  text.insert(text.find(url) + url.size(),
              std::string("pooling = \"transaction\"\n") + (listen ? "listen_url = \"${TEST_LISTEN_URL}\"\n" : ""));
  return text;
}

// The daemon's database through the pooler, and the direct url listen_url names.
std::map<std::string, std::string> pooled_env(const TestDatabase& db) {
  return {{"TEST_DATABASE_URL", db.pooled_url()}, {"TEST_LISTEN_URL", db.url()}};
}

// As `migrated`, through the pooler.
std::string migrated_pooled(const TestDatabase& db, const std::string& name, const std::string& config_text) {
  const std::string config = write_file(name, config_text);
  const auto migrate = run_command({kBinary, "--config", config, "migrate"}, pooled_env(db));
  INFO(migrate.output);
  REQUIRE(migrate.exit_code == 0);
  return config;
}

// A users read model of the same events built on a direct connection, to compare with.
void build_reference(const TestDatabase& db) {
  const std::string reference = migrated(db, "pgbouncer-reference.toml", demo_config("_ref"));
  REQUIRE(run_command({kBinary, "--config", reference, "run", "--exit-when-caught-up"}, env_for(db), 120s).exit_code ==
          0);
}

}  // namespace

TEST_CASE("behind pgbouncer a catch-up applies every event once and builds the model a direct connection builds") {
  TestDatabase db;
  write_events(db, 3000, 20);
  const std::string config =
      migrated_pooled(db, "pgbouncer-catchup.toml", pooled(demo_config("", "batch_size = 200\n"), true));
  const auto run = run_command({kBinary, "--config", config, "run", "--exit-when-caught-up"}, pooled_env(db), 120s);
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  const std::int64_t total = db.query_int("SELECT count(*) FROM stored_events");
  CHECK(logged_events(db) == total);
  CHECK(db.query_int("SELECT count(DISTINCT global_position) FROM user_event_log") == total);
  build_reference(db);
  CHECK(users_differences(db, "user_projection", "user_projection_ref") == 0);
  CHECK(db.query_int("SELECT count(*) FROM user_projection") > 100);
}

TEST_CASE("behind pgbouncer a NOTIFY on listen_url wakes a live lane, and without listen_url /status says it polls") {
  TestDatabase db;
  write_events(db, 30);
  {
    // Polling once an hour: only the NOTIFY can bring the new events within the test's deadline.
    const std::string config =
        migrated_pooled(db, "pgbouncer-notify.toml", pooled(demo_config("", "poll_interval = \"1h\"\n"), true));
    DaemonProcess daemon({kBinary, "--config", config, "run"}, pooled_env(db));
    const Endpoint http(daemon);
    REQUIRE(eventually([&] { return http.position("user_log") == head(db) && http.state("user_log") == "idle"; }));
    CHECK(http.handler("user_log").at("wakeup") == "notify");
    write_events(db, 12);
    REQUIRE(eventually([&] { return http.position("user_log") == head(db) && http.position("users") == head(db); }));
    CHECK(exit_code_after(daemon, SIGTERM) == 0);
  }
  const std::string config =
      migrated_pooled(db, "pgbouncer-poll.toml", pooled(demo_config("", "poll_interval = \"200ms\"\n"), false));
  DaemonProcess daemon({kBinary, "--config", config, "run"}, pooled_env(db));
  const Endpoint http(daemon);
  REQUIRE(eventually([&] { return http.position("user_log") == head(db); }));
  CHECK(http.handler("user_log").at("wakeup") == "poll");
  CHECK(http.handler("users").at("wakeup") == "poll");
  write_events(db, 12);
  REQUIRE(eventually([&] { return http.position("user_log") == head(db) && http.position("users") == head(db); }));
  CHECK(logged_events(db) == head(db));
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("behind pgbouncer kill -9 in the middle of a catch-up and a restart lose nothing and apply nothing twice") {
  TestDatabase db;
  write_events(db, 8000, 50);
  const std::string config = migrated_pooled(
      db, "pgbouncer-kill.toml", pooled(with_fold_memory(demo_config("", "batch_size = 200\n"), "1MiB"), true));
  const std::int64_t total = db.query_int("SELECT count(*) FROM stored_events");
  {
    DaemonProcess daemon({kBinary, "--config", config, "run"}, pooled_env(db));
    REQUIRE(eventually([&] { return checkpoint(db, "user_log") > 0 && checkpoint(db, "users") > 0; }));
    daemon.signal(SIGKILL);
    REQUIRE(daemon.wait_exit(10s));
  }
  CHECK(db.query_int("SELECT min(position) FROM projectord.checkpoints") < total);
  const auto run = run_command({kBinary, "--config", config, "run", "--exit-when-caught-up"}, pooled_env(db), 120s);
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  CHECK(logged_events(db) == total);
  CHECK(db.query_int("SELECT count(DISTINCT global_position) FROM user_event_log") == total);
  build_reference(db);
  CHECK(users_differences(db, "user_projection", "user_projection_ref") == 0);
}

TEST_CASE("behind pgbouncer a rebuild replays into its shadow schema and swaps in a model equal to one never rebuilt") {
  TestDatabase db;
  write_events(db, 2000, 20);
  const std::string config = migrated_pooled(
      db, "pgbouncer-rebuild.toml",
      pooled(demo_config("", "batch_size = 200\n") + "\n[handlers.users_check]\nkind = \"users\"\n"
                                                      "table = \"user_projection_check\"\n",
             true));
  DaemonProcess daemon({kBinary, "--config", config, "run"}, pooled_env(db));
  const Endpoint http(daemon);
  REQUIRE(eventually([&] { return checkpoint(db, "users") == head(db) && checkpoint(db, "users_check") == head(db); }));
  REQUIRE(http.post("/admin/rebuild/users").status == 202);
  REQUIRE(eventually([&] { return daemon.log().find("event=rebuild_ended swapped=true") != std::string::npos; }, 60s));
  REQUIRE(eventually([&] {
    return db.query_int("SELECT count(*) FROM projectord.rebuilds") == 0 && checkpoint(db, "users") == head(db);
  }));
  CHECK(users_differences(db, "user_projection", "user_projection_check") == 0);
  CHECK(db.query_int("SELECT count(*) FROM user_projection") > 100);
  CHECK(db.query_int("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'projectord\\_%\\_users'") == 0);
  // The live lane after the swap follows from the swapped checkpoint.
  write_events(db, 30);
  REQUIRE(eventually([&] { return checkpoint(db, "users") == head(db) && checkpoint(db, "users_check") == head(db); }));
  CHECK(users_differences(db, "user_projection", "user_projection_check") == 0);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("behind pgbouncer a dead letter retried once its cause is fixed is applied and leaves the list") {
  TestDatabase db;
  write_events(db, 40);
  const std::string config = migrated_pooled(
      db, "pgbouncer-letters.toml",
      pooled(demo_config() + closed_registrations_handler(), true));
  DaemonProcess daemon({kBinary, "--config", config, "run"}, pooled_env(db));
  const Endpoint http(daemon);
  const std::int64_t registered = db.query_int("SELECT count(*) FROM stored_events WHERE topic LIKE '%UserRegistered'");
  REQUIRE(registered > 2);
  const auto letters = [&] {
    return db.query_int("SELECT count(*) FROM projectord.dead_letters WHERE handler = 'registrations'");
  };
  REQUIRE(eventually([&] { return http.position("registrations") == head(db) && letters() == registered; }));
  db.exec("ALTER TABLE registrations DROP CONSTRAINT closed");
  REQUIRE(http.post("/admin/retry/registrations").status == 202);
  REQUIRE(eventually([&] { return letters() == 0; }));
  CHECK(db.query_int("SELECT count(*) FROM registrations") == registered);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("behind pgbouncer a Redis-fed handler applies every stream entry once", "[redis]") {
  TestDatabase db;
  RedisServer redis;
  const std::string config = write_file(
      "pgbouncer-redis.toml",
      pooled("[database]\nurl = \"${TEST_DATABASE_URL}\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n\n"
             "[sources.users]\nkind = \"redis\"\nurl = \"${TEST_REDIS_URL}\"\nstream = \"user-events\"\n"
             "block = \"200ms\"\nbatch_size = 100\n\n"
             "[handlers.user_log]\nkind = \"event_log\"\ntable = \"user_event_log\"\n",
             false));
  auto env = pooled_env(db);
  env["TEST_REDIS_URL"] = redis.url();
  REQUIRE(run_command({kBinary, "--config", config, "migrate"}, env).exit_code == 0);
  const std::string script =
      "for i = 1, 500 do redis.call('XADD', KEYS[1], '*', 'type', 'users.events:UserRegistered', 'stream_id',"
      " 'user-' .. i, 'version', '1', 'data', '{\"email\": \"user' .. i .. '@example.com\"}') end return 1";
  REQUIRE(redis.cli({"EVAL", script, "1", "user-events"}) == "1");
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env);
  const Endpoint http(daemon);
  REQUIRE(eventually([&] { return logged_events(db) == 500 && http.state("user_log") == "idle"; }));
  CHECK(db.query_int("SELECT count(DISTINCT global_position) FROM user_event_log") == 500);
  CHECK(http.handler("user_log").at("wakeup") == "stream");
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}
