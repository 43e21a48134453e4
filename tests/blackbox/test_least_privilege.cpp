// The daemon run by a role that holds exactly what `projectord migrate --print-grants` lists, the owner
// (here the superuser) having migrated: every feature works with those grants, and a missing one stops only
// the handler that needs it, saying which GRANT gives it.

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <pqxx/pqxx>
#include <sstream>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/login_role.hpp"
#include "tests/support/webhook_receiver.hpp"

using namespace std::chrono_literals;
using namespace projectord::testing::blackbox;
using projectord::testing::DaemonProcess;
using projectord::testing::eventually;
using projectord::testing::run_command;
using projectord::testing::LoginRole;
using projectord::testing::TestDatabase;

namespace {

std::int64_t letters(const TestDatabase& db, const std::string& handler) {
  return db.query_int("SELECT count(*) FROM projectord.dead_letters WHERE handler = '" + handler + "'");
}

std::int64_t registrations_written(const TestDatabase& db) {
  return db.query_int("SELECT count(*) FROM stored_events WHERE topic LIKE '%UserRegistered'");
}

// The demo's handlers, a never-rebuilt users model to compare a rebuild with, `registrations`, whose table
// refuses every row until its constraint goes (each registration becomes a dead letter), and a webhook `hook`
// to `receiver`, which records its attempts ahead.
std::string least_privilege_config(const projectord::testing::WebhookReceiver& receiver) {
  return demo_config() + "\n[handlers.hook]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:" +
         std::to_string(receiver.port()) + "/events\"\n" +
         "\n[handlers.users_check]\nkind = \"users\"\ntable = \"user_projection_check\"\n" +
         closed_registrations_handler();
}

bool at_head(const Endpoint& http, const TestDatabase& db, std::initializer_list<const char*> handlers) {
  for (const char* handler : handlers) {
    if (http.position(handler) != head(db)) return false;
  }
  return true;
}

}  // namespace

TEST_CASE(
    "a role with only the printed grants catches up, follows, rebuilds, retries dead letters and records a"
    " side effect's attempts") {
  const LoginRole role;  // before the database: dropped after it, with what it was granted there
  TestDatabase db;
  write_events(db, 300);
  const projectord::testing::WebhookReceiver receiver(
      [](std::size_t, const projectord::testing::ReceivedRequest&) { return projectord::testing::ScriptedResponse{}; });
  const std::string config = migrated(db, "least-privilege.toml", least_privilege_config(receiver));
  grant_printed(db, config, role);

  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_as(role, db));
  const Endpoint http(daemon);
  const std::int64_t registered = registrations_written(db);
  REQUIRE(registered > 2);
  REQUIRE(eventually([&] {
    return at_head(http, db, {"users", "user_log", "users_check", "registrations", "hook"}) &&
           letters(db, "registrations") == registered;
  }, 60s));
  CHECK(db.query_int("SELECT count(*) FROM projectord.attempts WHERE handler = 'hook'") > 0);
  CHECK(receiver.requests().size() >= static_cast<std::size_t>(head(db)));
  // The readers' indexes, built once caught up by the tables' owner the grants made it.
  REQUIRE(eventually([&] {
    return db.query_int("SELECT count(*) FROM pg_indexes WHERE tablename = 'user_projection'") == 9;
  }));

  write_events(db, 30);
  REQUIRE(eventually([&] { return at_head(http, db, {"users", "user_log", "users_check", "registrations"}); }));
  CHECK(logged_events(db) == head(db));

  REQUIRE(http.post("/admin/rebuild/users").status == 202);
  REQUIRE(eventually([&] { return daemon.log().find("event=rebuild_ended swapped=true") != std::string::npos; }, 60s));
  REQUIRE(eventually([&] { return at_head(http, db, {"users", "users_check"}); }));
  CHECK(users_differences(db, "user_projection", "user_projection_check") == 0);
  CHECK(db.query_int("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'projectord\\_%\\_users'") == 0);

  db.exec("ALTER TABLE registrations DROP CONSTRAINT closed");
  REQUIRE(http.post("/admin/retry/registrations").status == 202);
  REQUIRE(eventually([&] { return letters(db, "registrations") == 0; }));
  CHECK(db.query_int("SELECT count(*) FROM registrations") == registrations_written(db));

  CHECK(daemon.log().find("permission denied") == std::string::npos);
  CHECK(daemon.log().find("must be owner") == std::string::npos);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("a role lacking INSERT on one read model stops that handler with the GRANT to run, the others go on") {
  const LoginRole role;  // before the database: dropped after it, with what it was granted there
  TestDatabase db;
  write_events(db, 100);
  const std::string config = migrated(db, "least-privilege-revoked.toml", with_admin_token(demo_config()));
  grant_printed(db, config, role);
  db.exec("REVOKE INSERT ON user_event_log FROM " + role.name());

  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_as(role, db));
  const Endpoint http(daemon, kAdminToken);  // the token: /status shows the error's text
  const bool stopped = eventually([&] { return http.state("user_log") == "stopped"; });
  INFO(daemon.log());
  REQUIRE(stopped);
  const std::string grant = "GRANT SELECT, INSERT, UPDATE, DELETE ON user_event_log TO " + role.name();
  const auto entry = http.handler("user_log");
  const std::string last_error(entry.at("last_error").as_string());
  CHECK_THAT(last_error, Catch::Contains("permission denied for table user_event_log") && Catch::Contains(grant));
  CHECK_THAT(daemon.log(), Catch::Contains("handler=user_log") && Catch::Contains(grant));
  // Not the events' fault: none became a dead letter, the checkpoint did not move.
  CHECK(letters(db, "user_log") == 0);
  CHECK(http.position("user_log") == 0);

  REQUIRE(eventually([&] { return at_head(http, db, {"users"}); }));
  write_events(db, 30);
  REQUIRE(eventually([&] { return at_head(http, db, {"users"}); }));
  CHECK(http.state("user_log") == "stopped");
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}
