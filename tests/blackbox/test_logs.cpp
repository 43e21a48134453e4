// The daemon's log as an operator's tools read it: JSON lines that all parse and carry the message's fields,
// and text lines that an event's data cannot split or add fields to.
#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <csignal>
#include <sstream>
#include <string>
#include <vector>

#include "daemon/logging/log_fields.hpp"
#include "tests/blackbox/daemon_fixture.hpp"

using namespace std::chrono_literals;
using namespace projectord::testing::blackbox;
using projectord::logging::parse_log_fields;
using projectord::testing::DaemonProcess;
using projectord::testing::eventually;
using projectord::testing::TestDatabase;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// A username that, written raw into a log line, would end the record and start a forged one: "x", a newline
// and this.
const std::string kForgedRecord = "2026-01-01T00:00:00.000 error handler=forged event=forged\" position=\"1";
const std::string kForgingUsernameAsJson =
    R"(x\n2026-01-01T00:00:00.000 error handler=forged event=forged\" position=\"1)";

// A sql handler that casts the username to an integer: PostgreSQL's error quotes the value it could not cast.
const std::string kNumbersHandler =
    "\n[handlers.numbers]\nkind = \"sql\"\non_error = \"dead_letter\"\nmax_attempts = 1\n"
    "setup = \"CREATE TABLE IF NOT EXISTS log_numbers (n integer)\"\n\n"
    "[[handlers.numbers.statements]]\non = \"UserRegistered\"\n"
    "sql = \"INSERT INTO log_numbers (n) VALUES ($1::integer)\"\nparams = [\"data.username\"]\n";

void insert_forging_event(const TestDatabase& db) {
  db.exec(
      "INSERT INTO stored_events (application_name, originator_id, originator_version, topic, state)"
      " VALUES ('Shop', gen_random_uuid(), 1, 'users.events:UserRegistered', convert_to($json${\"username\": \"" +
      kForgingUsernameAsJson + "\", \"email\": \"e@example.com\"}$json$, 'UTF8'))");
}

}  // namespace

TEST_CASE("with log_format = json every line the daemon writes is a JSON object with the message's fields") {
  TestDatabase db;
  write_events(db, 30);
  const std::string config = migrated(db, "json-log.toml", "[daemon]\nlog_format = \"json\"\n\n" + demo_config());
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  REQUIRE(eventually([&] { return logged_events(db) == 30; }));
  REQUIRE(exit_code_after(daemon, SIGTERM) == 0);

  const std::vector<std::string> lines = lines_of(daemon.log());
  REQUIRE_FALSE(lines.empty());
  std::vector<std::string> connected;
  for (const std::string& line : lines) {
    INFO(line);
    boost::json::object record;
    REQUIRE_NOTHROW(record = boost::json::parse(line).as_object());
    CHECK(record.contains("ts"));
    CHECK(record.contains("level"));
    CHECK(record.contains("msg"));
    CHECK(record.contains("event"));
    if (record.contains("event") && record.at("event") == "connected") {
      CHECK(record.at("source") == "shop");
      connected.emplace_back(record.at("handler").as_string());
    }
  }
  std::sort(connected.begin(), connected.end());
  CHECK(connected == std::vector<std::string>{"user_log", "users"});
}

TEST_CASE("an event whose data holds a newline and quotes cannot split a text log line or add a field to it") {
  TestDatabase db;
  write_events(db, 0);  // the demo store's table, empty
  const std::string config =
      migrated(db, "forging-log.toml", demo_config("", "", "eventsourcing_json") + kNumbersHandler);
  insert_forging_event(db);
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  REQUIRE(eventually([&] {
    return db.query_int("SELECT count(*) FROM projectord.dead_letters WHERE handler = 'numbers'") == 1;
  }));
  REQUIRE(exit_code_after(daemon, SIGTERM) == 0);

  const std::string log = daemon.log();
  INFO(log);
  CHECK(log.find("\n2026-01-01T00:00:00.000") == std::string::npos);
  int dead_letters = 0;
  for (const std::string& line : lines_of(log)) {
    // TIME LEVEL MESSAGE: the message starts after the second space.
    const std::string message = line.substr(line.find(' ', line.find(' ') + 1) + 1);
    const auto fields = parse_log_fields(message);
    INFO(line);
    REQUIRE(fields.has_value());
    for (const auto& field : *fields) CHECK(field.value != "forged");
    if (message.find("event=dead_letter ") == std::string::npos) continue;
    ++dead_letters;
    CHECK((*fields)[0].key == "handler");
    CHECK((*fields)[0].value == "numbers");
    CHECK(fields->back().key == "error");
    // PostgreSQL's error quotes the username; its newline may have become a space, its quotes are intact.
    CHECK(fields->back().value.find(kForgedRecord) != std::string::npos);
  }
  CHECK(dead_letters == 1);
}

TEST_CASE("a reload that sets log_format = json makes the daemon's next lines JSON objects") {
  TestDatabase db;
  write_events(db, 10);
  const std::string config = migrated(db, "reload-log.toml", demo_config());
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env_for(db));
  REQUIRE(eventually([&] { return logged_events(db) == 10; }));
  write_file("reload-log.toml", "[daemon]\nlog_format = \"json\"\n\n" + demo_config());
  daemon.signal(SIGHUP);
  REQUIRE(eventually([&] { return daemon.log().find("\"event\":\"reloaded\"") != std::string::npos; }));
  REQUIRE(exit_code_after(daemon, SIGTERM) == 0);

  const std::vector<std::string> lines = lines_of(daemon.log());
  const auto reloaded = std::find_if(lines.begin(), lines.end(), [](const std::string& line) {
    return line.find("\"event\":\"reloaded\"") != std::string::npos;
  });
  REQUIRE(reloaded != lines.end());
  CHECK(lines.front().front() != '{');  // text until the reload
  for (auto line = reloaded; line != lines.end(); ++line) {
    INFO(*line);
    CHECK_NOTHROW(boost::json::parse(*line).as_object().at("event"));
  }
}
