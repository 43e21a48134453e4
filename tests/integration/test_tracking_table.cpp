// A handler that keeps a pyeventsourcing tracking table (checkpoints/tracking_table.hpp) against a real
// PostgreSQL, in both of the library's layouts, created and written here as the library does: a Python
// projection hands its place to projectord and takes it back, and no event is applied twice or skipped.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "checkpoints/rebuilds.hpp"
#include "checkpoints/tracking_table.hpp"
#include "daemon/lane/rebuild_mode.hpp"
#include "tests/support/generic_store.hpp"
#include "tests/support/running_lane.hpp"
#include "tests/support/test_database.hpp"

using namespace std::chrono_literals;
using projectord::testing::create_store;
using projectord::testing::eventually;
using projectord::testing::generic_source;
using projectord::testing::insert_events;
using projectord::testing::RunningLane;
using projectord::testing::TestDatabase;
namespace config = projectord::config;

namespace {

constexpr const char* kTracking = "\"public\".\"projections_tracking\"";

// pyeventsourcing's tracking recorder DDL: one row per application (SINGLE_ROW_TRACKING, with the marker row
// its migration leaves), or one row per processed notification.
void create_tracking_table(const TestDatabase& db, const std::string& layout) {
  if (layout == "single_row") {
    db.exec(std::string("CREATE TABLE IF NOT EXISTS ") + kTracking +
            " (application_name text, notification_id bigint, PRIMARY KEY (application_name));"
            "INSERT INTO " + kTracking + " VALUES ('__migration__', 1) ON CONFLICT DO NOTHING");
  } else {
    db.exec(std::string("CREATE TABLE IF NOT EXISTS ") + kTracking +
            " (application_name text, notification_id bigint, PRIMARY KEY (application_name, notification_id))");
  }
}

// The Python projection: each notification's read-model write and tracking row in one transaction.
void python_projects(const TestDatabase& db, const std::string& layout, int first, int last) {
  for (int id = first; id <= last; ++id) {
    const std::string tracking =
        layout == "single_row"
            ? std::string("INSERT INTO ") + kTracking + " AS t VALUES ('Shop', " + std::to_string(id) +
                  ") ON CONFLICT (application_name) DO UPDATE SET notification_id = EXCLUDED.notification_id"
                  " WHERE t.notification_id < EXCLUDED.notification_id"
            : std::string("INSERT INTO ") + kTracking + " VALUES ('Shop', " + std::to_string(id) + ")";
    db.exec("INSERT INTO applied_log (position, n) VALUES (" + std::to_string(id) + ", " + std::to_string(id) +
            ");" + tracking);
  }
}

// Where a Python follower of upstream application Shop resumes: its max_tracking_id.
std::int64_t python_resumes_after(const TestDatabase& db) {
  return db.query_int(std::string("SELECT coalesce(max(notification_id), 0) FROM ") + kTracking +
                      " WHERE application_name = 'Shop'");
}

std::int64_t applied_log_checkpoint(const TestDatabase& db) {
  const std::string value = db.query_value("SELECT position FROM projectord.checkpoints WHERE handler = 'applied_log'");
  return value.empty() ? -1 : std::stoll(value);
}

// Each event's position into a table whose primary key makes a second application an error.
config::Handler tracked_handler() {
  config::Handler handler;
  handler.name = "applied_log";
  handler.kind = "sql";
  handler.source = "store";
  handler.max_attempts = 1;
  handler.retry_backoff = 1ms;
  handler.retry_backoff_max = 2ms;
  handler.setup = "CREATE TABLE IF NOT EXISTS applied_log (position bigint PRIMARY KEY, n integer)";
  handler.statements.push_back({.on = "Counted",
                                .sql = "INSERT INTO applied_log (position, n) VALUES ($1, $2::integer)",
                                .params = {"position", "data.n"},
                                .line = 1});
  handler.tracking_table = "public.projections_tracking";
  handler.tracking_application = "Shop";
  return handler;
}

}  // namespace

TEST_CASE("a handler with a tracking table takes over from a Python projection and hands the place back") {
  const std::string layout = GENERATE(as<std::string>{}, "single_row", "multi_row");
  CAPTURE(layout);
  TestDatabase db;
  create_store(db);
  create_tracking_table(db, layout);
  db.exec("CREATE TABLE applied_log (position bigint PRIMARY KEY, n integer)");
  insert_events(db, 1, 30);
  python_projects(db, layout, 1, 20);

  {
    RunningLane lane(db, generic_source(db), tracked_handler());
    REQUIRE(eventually([&] { return applied_log_checkpoint(db) == 30; }));
    CHECK(db.query_int("SELECT count(*) FROM applied_log") == 30);
    CHECK(db.query_int("SELECT events_applied FROM projectord.checkpoints WHERE handler = 'applied_log'") == 10);
    CHECK(python_resumes_after(db) == 30);

    insert_events(db, 31, 40);
    lane.wake();
    REQUIRE(eventually([&] { return applied_log_checkpoint(db) == 40 && python_resumes_after(db) == 40; }));
    CHECK(lane.status().last_error.empty());
  }

  // Back to Python, which resumes where projectord stopped, and then projectord again.
  CHECK(python_resumes_after(db) == 40);
  insert_events(db, 41, 50);
  python_projects(db, layout, 41, 45);
  RunningLane lane(db, generic_source(db), tracked_handler());
  REQUIRE(eventually([&] { return applied_log_checkpoint(db) == 50; }));
  CHECK(db.query_int("SELECT count(*) FROM applied_log") == 50);
  // 21..40 in the first run, 46..50 in this one.
  CHECK(db.query_int("SELECT events_applied FROM projectord.checkpoints WHERE handler = 'applied_log'") == 25);
  CHECK(python_resumes_after(db) == 50);
  if (layout == "single_row") {
    CHECK(db.query_int(std::string("SELECT notification_id FROM ") + kTracking +
                       " WHERE application_name = '__migration__'") == 1);
  }
}

TEST_CASE("a tracking table whose primary key is neither layout's keeps the handler from starting") {
  TestDatabase db;
  create_store(db);
  db.exec(std::string("CREATE TABLE ") + kTracking + " (application_name text, notification_id bigint)");
  insert_events(db, 1, 3);
  RunningLane lane(db, generic_source(db), tracked_handler());
  REQUIRE(eventually([&] { return lane.status().last_error.find("neither pyeventsourcing layout") != std::string::npos; }));
  CHECK(applied_log_checkpoint(db) <= 0);
}

TEST_CASE("a rebuild's swap sets the tracking table to the position swapped in") {
  const std::string layout = GENERATE(as<std::string>{}, "single_row", "multi_row");
  CAPTURE(layout);
  TestDatabase db;
  projectord::testing::install_projectord_schema(db);
  create_tracking_table(db, layout);
  db.exec("CREATE TABLE applied_log (position bigint PRIMARY KEY, n integer)");
  python_projects(db, layout, 1, 10);
  db.exec("INSERT INTO projectord.checkpoints (handler, source, position) VALUES ('applied_log', 'store', 10)");
  auto connection = db.connect();
  {
    pqxx::work txn(*connection);
    projectord::rebuild::begin(txn, "applied_log", "test", 1);
    txn.commit();
  }
  db.exec("CREATE SCHEMA IF NOT EXISTS projectord_r_applied_log;"
          "CREATE TABLE projectord_r_applied_log.applied_log (position bigint PRIMARY KEY, n integer);"
          "INSERT INTO projectord.checkpoints (handler, source, position) VALUES ('applied_log:rebuild', 'store', 14)");

  projectord::RebuildCohort cohort(1);
  projectord::RebuildMode mode(
      "applied_log", "applied_log",
      {false, "test", 0, projectord::checkpoints::tracking_table_of(tracked_handler()), &cohort, 0, 1});
  REQUIRE(python_resumes_after(db) == 10);
  const auto swapped = mode.swap_in([&]() -> pqxx::connection& { return *connection; }, 14, {});
  REQUIRE(swapped.has_value());
  REQUIRE(swapped->has_value());
  CHECK(applied_log_checkpoint(db) == 14);
  CHECK(python_resumes_after(db) == 14);
}
