// Eventuali's `events` table (UUID ids, no global position) made tailable by `projectord migrate
// --add-position`, interrupted by kill -9 and resumed while a writer goes on inserting as Eventuali does (its
// INSERT names its columns), then projected by the eventuali preset, `protobuf` rows as poison events.
#include <catch2/catch.hpp>
#include <csignal>
#include <pqxx/pqxx>
#include <stop_token>
#include <string>
#include <thread>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/store_schemas.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/test_database.hpp"

using namespace std::chrono_literals;
using namespace projectord::testing::blackbox;
using projectord::testing::DaemonProcess;
using projectord::testing::eventually;
using projectord::testing::kEventualiEventsDdl;
using projectord::testing::run_command;
using projectord::testing::TestDatabase;

namespace {

constexpr int kStreams = 40;
constexpr int kVersions = 25;

// Eventuali's INSERT, as its PostgreSQL store writes one event: every column named, the position not.
std::string insert_sql(const std::string& stream, int version, const std::string& timestamp,
                       const std::string& data_type = "json") {
  return "INSERT INTO events (id, aggregate_id, aggregate_type, event_type, event_version, aggregate_version,"
         " event_data, event_data_type, metadata, timestamp) VALUES (gen_random_uuid(), '" + stream +
         "', 'User', 'UserRenamed', 1, " + std::to_string(version) + ", '{\"name\": \"v" + std::to_string(version) +
         "\"}', '" + data_type + "', '{\"causation_id\": null, \"headers\": {}}', " + timestamp + ")";
}

// History whose client clocks disagree with the versions: a stream's later versions were stamped earlier.
void write_eventuali_history(const TestDatabase& db) {
  std::string sql;
  for (int stream = 0; stream < kStreams; ++stream) {
    for (int version = 1; version <= kVersions; ++version) {
      const int skew = (stream % 3 == 0) ? (kVersions - version) : version;
      sql += insert_sql("user-" + std::to_string(stream), version,
                        "'2026-01-01'::timestamptz + interval '" + std::to_string(skew * 60 + stream) + " seconds'") +
             ";";
    }
  }
  db.exec(sql);
}

const std::string kEventualiConfig = R"toml([database]
url = "${TEST_DATABASE_URL}"

[http]
listen = "127.0.0.1:0"

[sources.users]
preset = "eventuali"
poll_interval = "50ms"
hole_grace = "50ms"

[handlers.log]
kind = "event_log"
source = "users"
table = "user_event_log"
on_error = "dead_letter"
)toml";

}  // namespace

TEST_CASE("migrate --add-position numbers Eventuali's events without stopping its writer, resumes after kill -9,"
          " and the eventuali preset projects them") {
  TestDatabase db;
  db.exec(kEventualiEventsDdl);
  write_eventuali_history(db);
  const std::string config = write_file("eventuali.toml", kEventualiConfig);
  const std::map<std::string, std::string> env{{"TEST_DATABASE_URL", db.url()}};

  // An Eventuali writer all along: new versions of streams beyond the history's.
  std::jthread writer([&](std::stop_token stop) {
    pqxx::connection connection(db.url());
    for (int version = 1; !stop.stop_requested(); ++version) {
      pqxx::work txn(connection);
      txn.exec(insert_sql("live-user", version, "now()"));
      txn.commit();
    }
  });

  {
    DaemonProcess migrate({kBinary, "--config", config, "migrate", "--add-position", "users", "--batch-rows", "20"},
                          env);
    const bool interrupted_midway =
        eventually([&] { return migrate.log().find("backfilled 100 of") != std::string::npos; }, 60s);
    INFO(migrate.log());
    REQUIRE(interrupted_midway);
    migrate.signal(SIGKILL);
    REQUIRE(migrate.wait_exit(20s).has_value());
  }
  const auto resumed = run_command({kBinary, "--config", config, "migrate", "--add-position", "users"}, env);
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  CHECK(resumed.output.find("resuming the backfill after position ") != std::string::npos);
  CHECK(resumed.output.find("is an identity column with a unique index") != std::string::npos);
  writer.request_stop();
  writer.join();

  // What Eventuali's INSERT gets from now on, and what a second run says.
  db.exec(insert_sql("late-user", 1, "now()") + ";" + insert_sql("late-user", 2, "now()", "protobuf"));
  CHECK(db.query_value("SELECT attidentity FROM pg_attribute WHERE attrelid = 'events'::regclass AND"
                       " attname = 'global_position'") == "a");
  CHECK(db.query_int("SELECT count(*) FROM events WHERE global_position IS NULL") == 0);
  CHECK(db.query_int("SELECT count(*) FROM pg_index WHERE indrelid = 'events'::regclass AND indisunique AND"
                     " indisvalid AND indkey::text = (SELECT attnum::text FROM pg_attribute WHERE attrelid ="
                     " 'events'::regclass AND attname = 'global_position')") == 1);
  CHECK(db.query_value("SELECT to_regclass('events_global_position_plan')::text || to_regclass("
                       "'events_global_position_seq')::text") == "");
  // Each stream's positions follow its versions, though its clock said otherwise.
  CHECK(db.query_int("SELECT count(*) FROM (SELECT aggregate_version, lag(aggregate_version) OVER (PARTITION BY"
                     " aggregate_id ORDER BY global_position) AS previous FROM events) ordered"
                     " WHERE previous >= aggregate_version") == 0);
  // The history's rows come first, in time order where one stream does not say otherwise.
  CHECK(db.query_int("SELECT max(global_position) FROM events WHERE aggregate_id LIKE 'user-%'") ==
        kStreams * kVersions);
  CHECK(run_command({kBinary, "--config", config, "migrate", "--add-position", "users"}, env).output.find(
            "already an identity column") != std::string::npos);

  REQUIRE(run_command({kBinary, "--config", config, "migrate"}, env).exit_code == 0);
  const auto caught_up = run_command({kBinary, "--config", config, "run", "--exit-when-caught-up"}, env);
  INFO(caught_up.output);
  REQUIRE(caught_up.exit_code == 0);
  CHECK(db.query_int("SELECT count(*) FROM user_event_log") ==
        db.query_int("SELECT count(*) FROM events WHERE event_data_type = 'json'"));
  CHECK(db.query_int("SELECT count(*) FROM events e JOIN user_event_log l ON l.global_position = e.global_position"
                     " AND l.user_id = e.aggregate_id AND l.event_version = e.aggregate_version") ==
        db.query_int("SELECT count(*) FROM user_event_log"));
  const auto protobuf = db.query_int("SELECT global_position FROM events WHERE event_data_type = 'protobuf'");
  CHECK(db.query_value("SELECT error FROM projectord.dead_letters WHERE handler = 'log'") ==
        "source users position " + std::to_string(protobuf) +
            ": payload format 'protobuf' in event_data_type is not decoded: only json payloads are");
}
