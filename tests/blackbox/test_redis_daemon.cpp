// The daemon as a black box with Redis: a projection fed by a stream of its own Redis server (restarted in
// the middle), a daemon killed with entries pending whose successor claims them, rebuilds of a stream-fed
// read model (and their refusal once the stream was trimmed), and a celery handler's welcome-email task queued
// for every UserRegistered of a PostgreSQL store (that a real Celery worker runs such messages is shown in
// tests/integration/test_side_effects.cpp).
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <csignal>
#include <pqxx/pqxx>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/test_redis.hpp"

using namespace std::chrono_literals;
using namespace projectord::testing::blackbox;
using projectord::testing::DaemonProcess;
using projectord::testing::eventually;
using projectord::testing::RedisServer;
using projectord::testing::TestDatabase;

namespace {

const std::string kStream = "user-events";

std::string stream_config(const std::string& consumer = "a", const std::string& claim_idle = "1s") {
  return "[database]\nurl = \"${TEST_DATABASE_URL}\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n\n"
         "[sources.users]\nkind = \"redis\"\nurl = \"${TEST_REDIS_URL}\"\nstream = \"" + kStream + "\"\n"
         "consumer = \"" + consumer + "\"\nblock = \"200ms\"\nclaim_idle = \"" + claim_idle + "\"\nbatch_size = 100\n\n"
         "[handlers.user_log]\nkind = \"event_log\"\ntable = \"user_event_log\"\non_error = \"dead_letter\"\n";
}

std::map<std::string, std::string> redis_env_for(const TestDatabase& db, const RedisServer& redis) {
  auto env = projectord::testing::blackbox::env_for(db);
  env["TEST_REDIS_URL"] = redis.url();
  return env;
}

// Adds `count` UserRegistered entries (user-FROM ...) in one server-side loop.
void add_entries(const RedisServer& redis, int from, int count) {
  const std::string script =
      "for i = tonumber(ARGV[1]), tonumber(ARGV[1]) + tonumber(ARGV[2]) - 1 do"
      " redis.call('XADD', KEYS[1], '*', 'type', 'users.events:UserRegistered', 'stream_id', 'user-' .. i,"
      " 'version', '1', 'data', '{\"email\": \"user' .. i .. '@example.com\"}') end return 1";
  REQUIRE(redis.cli({"EVAL", script, "1", kStream, std::to_string(from), std::to_string(count)}) == "1");
}

std::int64_t distinct_logged(const TestDatabase& db) {
  return db.query_int("SELECT count(DISTINCT global_position) FROM user_event_log");
}

std::int64_t pending(const RedisServer& redis) {
  const std::string summary = redis.cli({"XPENDING", kStream, "projectord:user_log"});
  return std::stoll(summary.substr(0, summary.find('\n')));
}

}  // namespace

TEST_CASE("a stream-fed projection follows its stream across a Redis restart and acknowledges what it applied",
          "[redis]") {
  TestDatabase db;
  RedisServer redis;
  const auto env = redis_env_for(db, redis);
  const std::string config = write_file("redis-restart.toml", stream_config());
  REQUIRE(projectord::testing::run_command({kBinary, "--config", config, "migrate"}, env).exit_code == 0);
  add_entries(redis, 1, 300);
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env);
  REQUIRE(eventually([&] { return db.query_int("SELECT count(*) FROM projectord.checkpoints") == 1 &&
                                  logged_events(db) == 300; }));
  Endpoint endpoint(daemon);
  REQUIRE(eventually([&] { return endpoint.state("user_log") == "idle"; }));
  const auto described = endpoint.handler("user_log");
  const std::string entry_id(described.at("entry_id").as_string());
  CHECK(entry_id == redis.cli({"XREVRANGE", kStream, "+", "-", "COUNT", "1"}).substr(0, entry_id.size()));
  CHECK(described.at("head_entry_id") == described.at("entry_id"));
  CHECK(described.at("lag_positions") == 0);

  redis.stop();
  REQUIRE(eventually([&] { return daemon.log().find("event=error") != std::string::npos; }));
  redis.start();
  add_entries(redis, 301, 200);
  // Read-your-writes with the id XADD answered.
  const std::string newest = redis.cli({"XADD", kStream, "*", "type", "users.events:UserRegistered", "stream_id",
                                        "user-501", "data", "{}"});
  const auto waited = endpoint.get("/wait/user_log?entry_id=" + newest + "&timeout_ms=20000", 25s);
  CHECK(waited.status == 200);
  CHECK(logged_events(db) == 501);
  CHECK(endpoint.get("/wait/user_log?entry_id=soon").status == 400);
  CHECK(distinct_logged(db) == 501);
  REQUIRE(eventually([&] { return pending(redis) == 0; }));
  CHECK(endpoint.handler("user_log").at("reconnects").as_int64() >= 1);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("a daemon killed with entries pending: a second daemon's consumer claims them, the model ends exact",
          "[redis]") {
  TestDatabase db;
  RedisServer redis;
  const auto env = redis_env_for(db, redis);
  const std::string first_config = write_file("redis-first.toml", stream_config("first"));
  const std::string second_config = write_file("redis-second.toml", stream_config("second"));
  REQUIRE(projectord::testing::run_command({kBinary, "--config", first_config, "migrate"}, env).exit_code == 0);
  add_entries(redis, 1, 20000);
  {
    DaemonProcess first({kBinary, "--config", first_config, "run"}, env);
    REQUIRE(eventually([&] { return logged_events(db) > 0; }));
    first.signal(SIGKILL);
    REQUIRE(first.wait_exit(10s).has_value());
  }
  const std::int64_t left_pending = pending(redis);
  DaemonProcess second({kBinary, "--config", second_config, "run"}, env);
  REQUIRE(eventually([&] { return logged_events(db) == 20000; }, 60s));
  CHECK(distinct_logged(db) == 20000);
  REQUIRE(eventually([&] { return pending(redis) == 0; }));
  if (left_pending > 0) CHECK(second.log().find("event=claimed") != std::string::npos);
  CHECK(exit_code_after(second, SIGTERM) == 0);
}

TEST_CASE("a stream-fed daemon killed with -9 and started again resumes at once, long before claim_idle",
          "[redis]") {
  TestDatabase db;
  RedisServer redis;
  const auto env = redis_env_for(db, redis);
  // A new consumer name, as HOSTNAME-PID gives every start; claim_idle as long as its default.
  const std::string first_config = write_file("redis-killed.toml", stream_config("first", "1min"));
  const std::string second_config = write_file("redis-restarted.toml", stream_config("second", "1min"));
  REQUIRE(projectord::testing::run_command({kBinary, "--config", first_config, "migrate"}, env).exit_code == 0);
  add_entries(redis, 1, 100);
  {
    DaemonProcess first({kBinary, "--config", first_config, "run"}, env);
    Endpoint endpoint(first);
    REQUIRE(eventually([&] { return logged_events(db) == 100 && endpoint.state("user_log") == "idle"; }));
    // The daemon reads the next entries but cannot commit (nor so acknowledge) them while a session holds
    // their table: they are pending on its consumer when it is killed.
    const auto holder = db.connect();
    pqxx::work holding(*holder);
    holding.exec("LOCK TABLE user_event_log IN ACCESS EXCLUSIVE MODE");
    add_entries(redis, 101, 2000);
    REQUIRE(eventually([&] { return pending(redis) > 0; }));
    first.signal(SIGKILL);
    REQUIRE(first.wait_exit(10s).has_value());
  }
  REQUIRE(pending(redis) > 0);
  DaemonProcess second({kBinary, "--config", second_config, "run"}, env);
  // Well under claim_idle: waiting it out could not pass.
  REQUIRE(eventually([&] { return logged_events(db) == 2100; }, 30s));
  CHECK(distinct_logged(db) == 2100);  // nothing applied twice
  CHECK(db.query_int("SELECT count(DISTINCT user_id) FROM user_event_log") == 2100);
  REQUIRE(eventually([&] { return pending(redis) == 0; }));
  CHECK(second.log().find("reason=\"previous owner\"") != std::string::npos);
  CHECK(second.log().find("waiting_for_consumer") == std::string::npos);
  CHECK(exit_code_after(second, SIGTERM) == 0);
}

TEST_CASE("a stream-fed read model rebuilds from the stream, and a trimmed stream makes the rebuild refuse",
          "[redis]") {
  TestDatabase db;
  RedisServer redis;
  const auto env = redis_env_for(db, redis);
  const std::string config = write_file("redis-rebuild.toml", with_admin_token(stream_config()));
  REQUIRE(projectord::testing::run_command({kBinary, "--config", config, "migrate"}, env).exit_code == 0);
  add_entries(redis, 1, 400);
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env);
  REQUIRE(eventually([&] { return logged_events(db) == 400; }));
  Endpoint endpoint(daemon, kAdminToken);  // the token: admin calls, and /status shows the errors' text

  REQUIRE(endpoint.post("/admin/rebuild/user_log").status == 202);
  REQUIRE(eventually([&] { return daemon.log().find("event=rebuild_ended swapped=true") != std::string::npos; }));
  CHECK(logged_events(db) == 400);
  CHECK(distinct_logged(db) == 400);

  redis.cli({"XTRIM", kStream, "MAXLEN", "100"});
  REQUIRE(endpoint.post("/admin/rebuild/user_log").status == 202);
  REQUIRE(eventually([&] {
    const auto entry = endpoint.handler("user_log");
    return !entry.empty() && entry.at("rebuild").is_object() && entry.at("rebuild").at("phase") == "failed";
  }));
  const std::string error(endpoint.handler("user_log").at("rebuild").at("last_error").as_string());
  CHECK_THAT(error, Catch::Contains("trimmed") && Catch::Contains("partial read model"));
  CHECK(db.query_int("SELECT count(*) FROM projectord.rebuilds") == 0);  // the shadow is gone
  add_entries(redis, 401, 10);  // the live read model goes on
  REQUIRE(eventually([&] { return logged_events(db) == 410; }));
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("a celery handler queues one welcome-email task per UserRegistered of the PostgreSQL store", "[redis]") {
  TestDatabase db;
  const auto broker = projectord::testing::test_redis_url();
  const std::string queue = projectord::testing::unique_redis_name("welcome");
  const std::string broker_url = "redis://" + broker.endpoint() + "/" + std::to_string(broker.db);
  std::string config_text = demo_config();
  config_text += "\n[handlers.welcome]\nkind = \"celery\"\nurl = \"" + broker_url +
                 "\"\ntask = \"users.tasks.send_welcome_email\"\nqueue = \"" + queue +
                 "\"\ntypes = [\"UserRegistered\"]\nargs = [\"stream_id\", \"data.email\"]\n";
  write_events(db, 600);  // creates the store, which migrate puts its trigger on
  const std::string config = migrated(db, "celery.toml", config_text);
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  const std::int64_t registered =
      db.query_int("SELECT count(*) FROM stored_events WHERE topic LIKE '%:UserRegistered'");
  REQUIRE(registered > 0);
  const auto checkpoint = [&] {
    return db.query_int("SELECT coalesce(max(position), 0) FROM projectord.checkpoints WHERE handler = 'welcome'");
  };
  REQUIRE(eventually([&] { return checkpoint() == head(db); }, 60s));
  const auto broker_cli = [&](std::vector<std::string> command) {
    std::vector<std::string> args{
        "redis-cli", "-h", broker.host, "-p", std::to_string(broker.port), "-n", std::to_string(broker.db)};
    args.insert(args.end(), command.begin(), command.end());
    return projectord::testing::run_command(args).output;
  };
  // One message a line, as JSON whose headers name the task and show its arguments.
  std::int64_t messages = 0;
  std::set<std::string> users;
  std::istringstream lines(broker_cli({"LRANGE", queue, "0", "-1"}));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    ++messages;
    const boost::json::value headers = boost::json::parse(line).at("headers");
    CHECK(headers.at("task") == "users.tasks.send_welcome_email");
    const boost::json::value args = boost::json::parse(headers.at("argsrepr").as_string());
    users.insert(std::string(args.at(0).as_string()));
  }
  CHECK(messages == registered);  // once each, and no other type
  CHECK(static_cast<std::int64_t>(users.size()) == registered);
  broker_cli({"DEL", queue});
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}
