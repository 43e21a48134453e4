// The NOTIFY control channel as a black box: off unless configured, and then obeying only the roles it names
// and never skip or drop. Notifications reach the daemon in commit order and it judges them one after
// another, so a later command that visibly takes effect proves that every earlier one was read.
#include <catch2/catch.hpp>
#include <csignal>
#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/login_role.hpp"

using namespace projectord::testing::blackbox;
using projectord::testing::DaemonProcess;
using projectord::testing::eventually;
using projectord::testing::LoginRole;
using projectord::testing::TestDatabase;

namespace {

// A session that stays connected while the daemon looks its sender up (a sender gone by then is refused).
class Sender {
 public:
  explicit Sender(const std::string& url) : connection_(url) {}
  void send(const std::string& payload) {
    pqxx::work transaction(connection_);
    transaction.exec("SELECT pg_notify('projectord_control', " + transaction.quote(payload) + ")");
    transaction.commit();
  }

 private:
  pqxx::connection connection_;
};

std::string control_section(bool notify, const std::string& role) {
  return std::string("\n[control]\n") + (notify ? "notify = true\n" : "") + "allowed_roles = [\"" + role + "\"]\n";
}

std::int64_t dead_letters(const TestDatabase& db) {
  return db.query_int("SELECT count(*) FROM projectord.dead_letters");
}

}  // namespace

TEST_CASE("over NOTIFY a role with only LOGIN changes nothing, an allowed one pauses but can neither skip nor drop") {
  TestDatabase db;
  write_events(db, 30);
  const std::int64_t poison = db.query_int("SELECT id FROM stored_events ORDER BY id OFFSET 20 LIMIT 1");
  db.exec("UPDATE stored_events SET state = '\\x00ff' WHERE id = " + std::to_string(poison));  // not zlib
  const std::string operator_role = db.query_value("SELECT current_user");
  const LoginRole intruder_role;
  const std::string config = migrated(db, "control.toml", demo_config() + control_section(true, operator_role));
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  const Endpoint http(daemon);
  // users halts on the poison event, user_log dead-letters it: something for skip and drop to lose.
  REQUIRE(eventually([&] { return http.state("users") == "halted"; }));
  REQUIRE(eventually([&] { return http.position("user_log") == head(db) && dead_letters(db) == 1; }));
  REQUIRE(eventually([&] { return daemon.log().find("channel=projectord_control event=listening") != std::string::npos; }));

  Sender intruder(intruder_role.url_for(db.url()));
  for (const std::string payload :
       {"pause user_log", "resume users", "skip users", "rebuild users", "retry user_log", "drop user_log", "junk"}) {
    intruder.send(payload);
  }
  Sender operator_session(db.url());
  operator_session.send("pause user_log");
  REQUIRE(eventually([&] { return http.state("user_log") == "paused"; }));
  const std::string after_intruder = daemon.log();
  CHECK(occurrences(after_intruder, "event=control_refused channel=projectord_control role=\"" +
                                        intruder_role.name() +
                                        "\" reason=\"the role is not in [control] allowed_roles\"") == 1);
  CHECK(occurrences(after_intruder, "event=control_refused") == 1);  // once for the role, not per message
  CHECK(after_intruder.find("control_not_accepted") == std::string::npos);  // its pause did not come first
  CHECK(after_intruder.find("handler=users event=rebuild") == std::string::npos);
  CHECK(http.state("users") == "halted");
  CHECK(dead_letters(db) == 1);
  CHECK(after_intruder.find("handler=user_log event=admin action=pause origin=notify:" + operator_role) !=
        std::string::npos);

  operator_session.send("skip users");
  operator_session.send("drop user_log");
  operator_session.send("resume user_log");
  REQUIRE(eventually([&] { return http.state("user_log") == "idle"; }));
  const std::string after_operator = daemon.log();
  CHECK(occurrences(after_operator, "role=\"" + operator_role +
                                        "\" reason=\"skip and drop lose information and are not accepted over NOTIFY") ==
        1);
  CHECK(http.state("users") == "halted");
  CHECK(http.handler("users").at("halted_at").as_int64() == poison);
  CHECK(dead_letters(db) == 1);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}

TEST_CASE("with [control] notify unset the daemon does not LISTEN, and an allowed superuser's NOTIFY does nothing") {
  TestDatabase db;
  write_events(db, 30);
  const std::string superuser = db.query_value("SELECT current_user");
  const std::string config = migrated(db, "control-off.toml", demo_config() + control_section(false, superuser));
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  const Endpoint http(daemon);
  REQUIRE(eventually([&] { return http.position("users") == head(db) && http.position("user_log") == head(db); }));
  // The source's listener and the control channel's start together; once the source's listens, a control
  // listener would have connected too.
  REQUIRE(eventually([&] {
    return db.query_int("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND application_name LIKE 'projectord:listen:%'") == 1;
  }));
  CHECK(db.query_int("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                     " AND application_name = 'projectord:listen:projectord_control'") == 0);

  Sender superuser_session(db.url());
  superuser_session.send("pause users");
  // Events written after the NOTIFY are applied: users was not paused.
  write_events(db, 9);
  REQUIRE(eventually([&] { return http.position("users") == head(db); }));
  CHECK(http.state("users") != "paused");
  const std::string log = daemon.log();
  CHECK(log.find("projectord_control") == std::string::npos);
  CHECK(log.find("event=admin") == std::string::npos);
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
}
