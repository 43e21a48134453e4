// Secrets and event data never leave the daemon through what anyone may read: distinct secrets planted in
// the config (a database password with a '%', a webhook's path token and query secret, Redis passwords, the
// admin token) and in an event (an e-mail address a unique index rejects, which PostgreSQL quotes in the
// error's DETAIL), the daemon driven through the errors that would echo them, and then the whole log,
// /status, /readyz, /metrics and `projectord status` searched for each.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <csignal>
#include <string>
#include <vector>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/webhook_receiver.hpp"

using namespace std::chrono_literals;
using namespace projectord::testing::blackbox;
using projectord::testing::DaemonProcess;
using projectord::testing::eventually;
using projectord::testing::http_request;
using projectord::testing::ReceivedRequest;
using projectord::testing::run_command;
using projectord::testing::ScriptedResponse;
using projectord::testing::TestDatabase;
using projectord::testing::WebhookReceiver;

namespace {

const std::string kDatabasePassword = "Pg%Secret-7f3a";
const std::string kPathToken = "T0kenInPath-91c2";
const std::string kQuerySecret = "QuerySecret-55de";
const std::string kRedisPassword = "RedisSecret-3b8e";
const std::string kPlantedAdminToken = "AdminToken-c0ffee";
const std::string kEmail = "alice.secret-4471@example.com";

const std::vector<std::string> kSecrets = {kDatabasePassword, "Secret-7f3a", kPathToken, kQuerySecret,
                                           kRedisPassword,    kPlantedAdminToken,   kEmail,     "alice.secret"};

// Every planted secret found in `text`, by name of where it was read.
std::vector<std::string> leaks(const std::string& where, const std::string& text) {
  std::vector<std::string> found;
  for (const std::string& secret : kSecrets) {
    if (text.find(secret) != std::string::npos) found.push_back(where + " shows " + secret);
  }
  return found;
}

// A sql handler whose table already holds the planted address: the planted event's insert is a duplicate.
std::string signups(const std::string& name, const std::string& on_error) {
  return "[handlers." + name + "]\nkind = \"sql\"\nsource = \"shop\"\non_error = \"" + on_error +
         "\"\nmax_attempts = 1\nsetup = \"CREATE TABLE IF NOT EXISTS " + name +
         " (email text PRIMARY KEY)\"\n[[handlers." + name +
         ".statements]]\non = \"UserRegistered\"\nsql = \"INSERT INTO " + name +
         " (email) VALUES ($1)\"\nparams = [\"data.email\"]\n\n";
}

std::string error_class_of(const boost::json::object& handler) {
  const auto& named = handler.at("error_class");
  return named.is_string() ? std::string(named.as_string()) : std::string();
}

}  // namespace

TEST_CASE("no secret of the config or of an event shows in the log, the endpoints or projectord status") {
  TestDatabase db;
  REQUIRE(run_command({kWriter, "--url", db.url(), "--events", "5"}).exit_code == 0);  // plain JSON payloads
  WebhookReceiver receiver([](std::size_t, const ReceivedRequest&) { return ScriptedResponse{500}; });
  const std::string config_text =
      "[database]\nurl = \"${TEST_DATABASE_URL}\"\n\n"
      "[http]\nlisten = \"127.0.0.1:0\"\nadmin_token = \"" + kPlantedAdminToken + "\"\n\n"
      "[sources.shop]\npreset = \"eventsourcing_django\"\napplication_name = \"Shop\"\n"
      "codec = \"eventsourcing_json\"\n\n"
      "[sources.orders]\nkind = \"redis\"\nurl = \"redis://:" + kRedisPassword + "@127.0.0.1:1\"\n"
      "stream = \"orders\"\n\n" +
      signups("signups_kept", "dead_letter") + signups("signups_halted", "stop") +
      "[handlers.hook]\nkind = \"webhook\"\nsource = \"shop\"\non_error = \"dead_letter\"\nmax_attempts = 1\n"
      "url = \"http://127.0.0.1:" + std::to_string(receiver.port()) + "/hooks/" + kPathToken + "?token=" +
      kQuerySecret + "\"\n\n"
      "[handlers.publish]\nkind = \"redis_publish\"\nsource = \"shop\"\non_error = \"dead_letter\"\n"
      "max_attempts = 1\nurl = \"redis://:" + kRedisPassword + "@127.0.0.1:1\"\nstream = \"out\"\n\n"
      "[handlers.orders_log]\nkind = \"event_log\"\nsource = \"orders\"\ntable = \"orders_log\"\n";
  // The server trusts the test's connections: the password is sent nowhere, only carried around.
  auto env = env_for(db);
  env["TEST_DATABASE_URL"] = db.url() + " password='" + kDatabasePassword + "'";
  const std::string config = write_file("secrets.toml", config_text);
  const auto migrate = run_command({kBinary, "--config", config, "migrate"}, env);
  INFO(migrate.output);
  REQUIRE(migrate.exit_code == 0);
  db.exec("INSERT INTO signups_kept VALUES ('" + kEmail + "'); INSERT INTO signups_halted VALUES ('" + kEmail + "');"
          "INSERT INTO stored_events (application_name, originator_id, originator_version, topic, state)"
          " VALUES ('Shop', gen_random_uuid(), 1, 'users.events:UserRegistered', convert_to('{\"email\": \"" +
          kEmail + "\"}', 'UTF8'))");

  DaemonProcess daemon({kBinary, "--config", config, "run"}, env);
  const Endpoint http(daemon);
  const auto letters = [&](const std::string& handler) {
    return db.query_int("SELECT count(*) FROM projectord.dead_letters WHERE handler = '" + handler + "'");
  };
  REQUIRE(eventually([&] {
    return http.state("signups_halted") == "halted" && letters("signups_kept") == 1 && letters("hook") > 0 &&
           letters("publish") > 0 && http.handler("orders_log").at("reconnects").as_int64() > 0;
  }));

  // Without the token: each error by its class, never its text.
  const auto status = boost::json::parse(http.get("/status").body);
  for (const auto& entry : status.at("handlers").as_array()) CHECK_FALSE(entry.as_object().contains("last_error"));
  CHECK(error_class_of(http.handler("signups_halted")) == "unique_violation");
  CHECK(error_class_of(http.handler("orders_log")) == "connection");
  const auto readiness = http.get("/readyz");
  CHECK(readiness.status == 503);
  CHECK_THAT(readiness.body, Catch::Contains("\"error_class\":\"unique_violation\""));
  CHECK(readiness.body.find("duplicate key") == std::string::npos);

  // With it: the text as well, which keeps the server's message and drops the DETAIL quoting the row.
  const auto shown = http_request("127.0.0.1", http_port(daemon), "GET", "/status", 5s,
                                  {{"Authorization", "Bearer " + kPlantedAdminToken}});
  const auto halted = [&] {
    const boost::json::value parsed = boost::json::parse(shown.body);
    for (const auto& entry : parsed.at("handlers").as_array()) {
      if (entry.at("name").as_string() == "signups_halted") return std::string(entry.at("last_error").as_string());
    }
    return std::string();
  }();
  CHECK_THAT(halted, Catch::Contains("duplicate key value violates unique constraint") &&
                         Catch::Contains("SQLSTATE 23505"));

  const auto cli = run_command({kBinary, "--config", config, "status"}, env);
  CHECK_THAT(cli.output, Catch::Contains("error_class=unique_violation") && Catch::Contains("error_class=http_5xx"));
  CHECK(cli.output.find("error=\"") == std::string::npos);
  const auto cli_shown = run_command({kBinary, "--config", config, "status", "--show-errors"}, env);
  CHECK_THAT(cli_shown.output, Catch::Contains("answered 500"));

  std::vector<std::string> found;
  for (const auto& [where, text] : std::vector<std::pair<std::string, std::string>>{
           {"/status", http.get("/status").body},
           {"/status with the token", shown.body},
           {"/readyz", readiness.body},
           {"/metrics", http.get("/metrics").body},
           {"projectord status", cli.output},
           {"projectord status --show-errors", cli_shown.output},
           {"projectord migrate", migrate.output}}) {
    for (std::string& leak : leaks(where, text)) found.push_back(std::move(leak));
  }
  CHECK(exit_code_after(daemon, SIGTERM) == 0);
  for (std::string& leak : leaks("the log", daemon.log())) found.push_back(std::move(leak));
  INFO(daemon.log());
  CHECK(found == std::vector<std::string>{});
}

TEST_CASE("a database URL libpq cannot parse is refused at load by file, line and key, without its password") {
  const std::string config =
      write_file("bad-url.toml", "[database]\nurl = \"postgresql://app:" + kDatabasePassword +
                                     "@127.0.0.1/shop\"\n\n[sources.shop]\npreset = \"eventsourcing_django\"\n"
                                     "application_name = \"Shop\"\n\n[handlers.users]\nkind = \"users\"\n");
  for (const char* command : {"check-config", "run", "status"}) {
    const auto result = run_command({kBinary, "--config", config, command});
    INFO(command << ": " << result.output);
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.output, Catch::Contains(config + ":2: database.url: not a valid PostgreSQL URI"));
    CHECK(leaks(command, result.output) == std::vector<std::string>{});
  }
}
