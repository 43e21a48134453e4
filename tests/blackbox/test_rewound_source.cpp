// A store that goes backwards under the daemon's checkpoints (a test database flushed, a restore from an older
// backup or one with other contents, a Redis stream deleted and created anew) is noticed: the handlers show
// source_rewound, /readyz fails, nothing is applied until an operator resets the checkpoint (or rebuilds).
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <csignal>

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

std::string with_admin_token_file(const std::string& config, const std::string& token_file) {
  return with_http(config, "admin_token_file = \"" + token_file + "\"\n");
}

// The row the handler's checkpoint ended on, as stored; 0 while none is.
std::int64_t noted_row(const TestDatabase& db, const std::string& handler) {
  return db.query_int("SELECT coalesce(anchor_position, 0) FROM projectord.checkpoints WHERE handler = '" + handler +
                      "'");
}

std::string read_model(const TestDatabase& db) {
  return db.query_value("SELECT coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') FROM user_projection t");
}

std::string reason(const Endpoint& http, const std::string& handler) {
  return std::string(http.handler(handler).at("reason").as_string());
}

}  // namespace

TEST_CASE("a store emptied and written again under the checkpoint holds its handlers until the checkpoint is reset") {
  TestDatabase db;
  write_events(db, 50);
  REQUIRE(head(db) == 50);
  const std::string token_file = write_file("rewind.token", "rewind-token\n");
  const std::string config = migrated(db, "rewind.toml", with_admin_token_file(demo_config(), token_file));
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  const Endpoint http(daemon);
  REQUIRE(eventually([&] { return http.position("users") == 50 && http.state("users") == "idle"; }));
  REQUIRE(eventually([&] { return noted_row(db, "users") == 50; }));
  const std::string model = read_model(db);
  const std::int64_t applied = http.handler("users").at("events_applied").as_int64();

  db.exec("TRUNCATE stored_events RESTART IDENTITY");
  write_events(db, 10);
  REQUIRE(head(db) == 10);
  REQUIRE(eventually([&] { return http.state("users") == "source_rewound"; }));
  CHECK_THAT(reason(http, "users"), Catch::Contains("head 10") && Catch::Contains("checkpoint 50"));
  CHECK(http.position("users") == 50);
  CHECK(http.handler("users").at("head").as_int64() == 10);
  CHECK(http.get("/readyz").status == 503);
  CHECK(read_model(db) == model);
  CHECK(daemon.log().find("event=source_rewound") != std::string::npos);

  const std::string endpoint = "127.0.0.1:" + std::to_string(http_port(daemon));
  auto reset = [&](const std::string& to) {
    return run_command({kBinary, "--config", config, "reset-checkpoint", "users", "--to", to, "--http", endpoint},
                       env_for(db));
  };
  CHECK(run_command({kBinary, "--config", config, "reset-checkpoint", "users"}, env_for(db)).exit_code == 2);
  CHECK(http.post("/admin/reset-checkpoint/users?to=0").status == 401);
  CHECK(http.post("/admin/reset-checkpoint/users", "rewind-token").status == 400);
  const auto beyond = reset("11");
  CHECK(beyond.exit_code == 1);
  CHECK_THAT(beyond.output, Catch::Contains("409") && Catch::Contains("head 10"));
  const auto done = reset("0");
  CHECK(done.exit_code == 0);
  CHECK_THAT(done.output, Catch::Contains("users: resetting the checkpoint"));
  REQUIRE(eventually([&] { return http.position("users") == 10 && http.state("users") == "idle"; }));
  CHECK(http.handler("users").at("events_applied").as_int64() >= applied + 10);
  CHECK(read_model(db) != model);
  CHECK(daemon.log().find("event=checkpoint_reset to=0 head=10 origin=http") != std::string::npos);
  CHECK(http.state("user_log") == "source_rewound");  // the other handler waits for its own operator's call
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("a store restored with other contents at the checkpoint is noticed when the daemon starts") {
  TestDatabase db;
  write_events(db, 50);
  const std::string config = migrated(db, "restored.toml", demo_config());
  {
    DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
    const Endpoint http(daemon);
    REQUIRE(eventually([&] { return http.position("users") == 50 && http.state("users") == "idle"; }));
    REQUIRE(eventually([&] { return noted_row(db, "users") == 50; }));
    CHECK(exit_code_after(daemon, SIGTERM) == 0);
  }
  // Another history at the same positions: the head is 50 again, the row the checkpoint ended on is not the one
  // applied.
  db.exec("UPDATE stored_events SET originator_version = originator_version + 100 WHERE id = 50");
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  const Endpoint http(daemon);
  REQUIRE(eventually([&] { return http.state("users") == "source_rewound"; }));
  CHECK_THAT(reason(http, "users"), Catch::Contains("position 50") && Catch::Contains("checkpoint 50"));
  CHECK(http.get("/readyz").status == 503);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("a Redis stream deleted and created anew holds its handler in source_rewound until the checkpoint is reset",
          "[redis]") {
  TestDatabase db;
  RedisServer redis;
  auto env = env_for(db);
  env["TEST_REDIS_URL"] = redis.url();
  const std::string stream = "user-events";
  const std::string config = write_file(
      "rewound-stream.toml",
      "[database]\nurl = \"${TEST_DATABASE_URL}\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n\n"
      "[sources.users]\nkind = \"redis\"\nurl = \"${TEST_REDIS_URL}\"\nstream = \"" + stream + "\"\n"
      "consumer = \"a\"\nblock = \"200ms\"\nbatch_size = 100\n\n"
      "[handlers.user_log]\nkind = \"event_log\"\ntable = \"user_event_log\"\non_error = \"dead_letter\"\n");
  REQUIRE(run_command({kBinary, "--config", config, "migrate"}, env).exit_code == 0);
  auto add = [&](int from, int count) {
    for (int i = from; i < from + count; ++i) {
      redis.cli({"XADD", stream, "*", "type", "users.events:UserRegistered", "stream_id", "user-" + std::to_string(i),
                 "version", "1", "data", "{\"email\": \"user" + std::to_string(i) + "@example.com\"}"});
    }
  };
  add(1, 20);
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env);
  const Endpoint http(daemon);
  REQUIRE(eventually([&] { return logged_events(db) == 20 && http.state("user_log") == "idle"; }));
  REQUIRE(eventually([&] { return noted_row(db, "user_log") == http.position("user_log"); }));

  redis.cli({"DEL", stream});
  add(1, 5);
  REQUIRE(eventually([&] { return http.state("user_log") == "source_rewound"; }));
  CHECK_THAT(reason(http, "user_log"), Catch::Contains(std::to_string(http.position("user_log"))));
  CHECK(http.get("/readyz").status == 503);
  CHECK(logged_events(db) == 20);

  // Reset to the start: the consumer group delivers the new stream's entries again, whatever it delivered.
  const std::string endpoint = "127.0.0.1:" + std::to_string(http_port(daemon));
  const auto reset =
      run_command({kBinary, "--config", config, "reset-checkpoint", "user_log", "--to", "0", "--http", endpoint}, env);
  CHECK(reset.exit_code == 0);
  REQUIRE(eventually([&] { return logged_events(db) == 25 && http.state("user_log") == "idle"; }));
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("a rebuild takes a handler out of source_rewound: it replays the store as it is now and swaps in") {
  TestDatabase db;
  write_events(db, 50);
  const std::string config = migrated(db, "rewind-rebuild.toml", demo_config());
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  const Endpoint http(daemon);
  REQUIRE(eventually([&] { return http.position("users") == 50 && http.state("users") == "idle"; }));

  db.exec("TRUNCATE stored_events RESTART IDENTITY");
  write_events(db, 10);
  REQUIRE(eventually([&] { return http.state("users") == "source_rewound"; }));
  REQUIRE(http.post("/admin/rebuild/users").status == 202);
  // The rebuild's checkpoint never reaches the live one (50): at the head (10) it swaps in all the same.
  REQUIRE(eventually([&] { return http.position("users") == 10 && http.state("users") == "idle"; }, 60s));
  CHECK(db.query_int("SELECT count(*) FROM projectord.rebuilds") == 0);
  CHECK(daemon.log().find("event=rebuild_swapped position=10 ") != std::string::npos);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}
