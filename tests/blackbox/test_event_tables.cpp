// The 2017 Django talk's layout: one model, so one table, per event type (an abstract `Event` base with
// `created = DateTimeField(auto_now_add=True)`), no global position. `projectord migrate --add-position`
// numbers the history across the tables and gives them one shared sequence; the django_event_tables preset
// then reads them as one source while several writers commit out of position order.
#include <catch2/catch.hpp>
#include <csignal>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/store_schemas.hpp"
#include "tests/support/test_database.hpp"

using namespace std::chrono_literals;
using namespace projectord::testing::blackbox;
using projectord::testing::DaemonProcess;
using projectord::testing::eventually;
using projectord::testing::kLibraryEventTablesDdl;
using projectord::testing::run_command;
using projectord::testing::TestDatabase;

namespace {

const std::vector<std::string> kTableNames{"library_bookborrowed", "library_bookreturned", "library_bookbought"};

constexpr int kHistoryPerTable = 40;
constexpr int kWriters = 3;
constexpr int kRoundsPerWriter = 20;

// Django's INSERT of one event: `created` set by the model at save time, the position not named.
std::string insert_sql(std::size_t table, int n, const std::string& created) {
  const std::string book = std::to_string(n % 5 + 1);
  switch (table) {
    case 0:
      return "INSERT INTO library_bookborrowed (created, borrowed_by, book_id) VALUES (" + created + ", 'reader " +
             std::to_string(n) + "', " + book + ")";
    case 1:
      return "INSERT INTO library_bookreturned (created, book_id) VALUES (" + created + ", " + book + ")";
    default:
      return "INSERT INTO library_bookbought (created, price) VALUES (" + created + ", " + std::to_string(n) + ".50)";
  }
}

// History whose times tie across the tables and within one: every fourth second holds rows of all three,
// written in reverse table order, and each table has pairs of rows of one second.
void write_tables_history(const TestDatabase& db) {
  std::string sql;
  for (int n = 0; n < kHistoryPerTable; ++n) {
    for (std::size_t table = kTableNames.size(); table-- > 0;) {
      const int second = n % 4 == 0 ? n : n / 2 * 2 + static_cast<int>(table) * 1000;
      sql +=
          insert_sql(table, n, "'2017-05-01'::timestamptz + interval '" + std::to_string(second) + " seconds'") + ";";
    }
  }
  db.exec(sql);
}

const std::string kEventTablesConfig = R"toml([database]
url = "${TEST_DATABASE_URL}"

[http]
listen = "127.0.0.1:0"

[sources.library]
preset = "django_event_tables"
tables = ["library_bookborrowed", "library_bookreturned", "library_bookbought"]
type_names = { library_bookborrowed = "BookBorrowed", library_bookreturned = "BookReturned" }
stream_id_column = "book_id"
poll_interval = "50ms"
hole_grace = "250ms"

[handlers.log]
kind = "event_log"
source = "library"
table = "library_event_log"
)toml";

// The positions of every table's rows as (position, table's place, id, created), one relation.
std::string all_rows() {
  std::string sql;
  for (std::size_t i = 0; i < kTableNames.size(); ++i) {
    sql += std::string(i > 0 ? " UNION ALL " : "") + "SELECT projectord_position AS position, " + std::to_string(i) +
           " AS place, id, created FROM " + kTableNames[i];
  }
  return "(" + sql + ") all_rows";
}

// One writer's round: a transaction draws a position in one table and holds it open while another commits a
// row of another table above it; then it commits. Every round commits out of position order.
void write_out_of_order(const std::string& url, int writer) {
  pqxx::connection first(url);
  pqxx::connection second(url);
  for (int round = 0; round < kRoundsPerWriter; ++round) {
    const std::size_t table = static_cast<std::size_t>(writer + round) % kTableNames.size();
    pqxx::work held(first);
    held.exec(insert_sql(table, round, "now()"));
    {
      pqxx::work overtaking(second);
      overtaking.exec(insert_sql((table + 1) % kTableNames.size(), round, "now()"));
      overtaking.commit();
    }
    held.commit();
  }
}

}  // namespace

TEST_CASE(
    "one table per event type: migrate --add-position numbers the history across the tables in created order,"
    " and every event written concurrently afterwards reaches the handler once, in position order") {
  TestDatabase db;
  db.exec(kLibraryEventTablesDdl);
  write_tables_history(db);
  const std::string config = write_file("event_tables.toml", kEventTablesConfig);
  const std::map<std::string, std::string> env{{"TEST_DATABASE_URL", db.url()}};
  const int history = kHistoryPerTable * static_cast<int>(kTableNames.size());

  const auto numbered =
      run_command({kBinary, "--config", config, "migrate", "--add-position", "library", "--batch-rows", "7"}, env);
  INFO(numbered.output);
  REQUIRE(numbered.exit_code == 0);
  CHECK(numbered.output.find("planned positions 1.." + std::to_string(history)) != std::string::npos);
  CHECK(numbered.output.find("the source can be tailed") != std::string::npos);
  const auto again = run_command({kBinary, "--config", config, "migrate", "--add-position", "library"}, env);
  CHECK(again.exit_code == 0);
  CHECK(again.output.find("is numbered already") != std::string::npos);

  // The history: positions 1..N in (created, table order, id) order, one sequence as every table's default.
  CHECK(db.query_int("SELECT count(*) FROM (SELECT position, row_number() OVER (ORDER BY created, place, id) AS"
                     " expected FROM " +
                     all_rows() + ") numbered WHERE position <> expected") == 0);
  CHECK(db.query_int("SELECT count(*) FROM " + all_rows()) == history);
  for (const std::string& table : kTableNames) {
    INFO(table);
    CHECK(db.query_value("SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef JOIN pg_attribute ON attrelid = adrelid"
                         " AND attnum = adnum WHERE adrelid = '" +
                         table +
                         "'::regclass AND attname ="
                         " 'projectord_position'") ==
          "nextval('library_bookborrowed_projectord_position_seq'::regclass)");
    CHECK(db.query_value("SELECT attnotnull::text FROM pg_attribute WHERE attrelid = '" + table +
                         "'::regclass AND attname = 'projectord_position'") == "true");
    CHECK(db.query_int("SELECT count(*) FROM pg_index WHERE indrelid = '" + table +
                       "'::regclass AND indisunique"
                       " AND indisvalid AND indkey::text = (SELECT attnum::text FROM pg_attribute WHERE attrelid = '" +
                       table + "'::regclass AND attname = 'projectord_position')") == 1);
  }
  CHECK(db.query_value("SELECT to_regclass('library_bookborrowed_projectord_position_plan')::text") == "");

  REQUIRE(run_command({kBinary, "--config", config, "migrate"}, env).exit_code == 0);
  DaemonProcess daemon({kBinary, "--config", config, "run"}, env);
  {
    std::vector<std::jthread> writers;
    for (int writer = 0; writer < kWriters; ++writer) writers.emplace_back(write_out_of_order, db.url(), writer);
  }
  const int total = history + kWriters * kRoundsPerWriter * 2;
  const bool all_logged =
      eventually([&] { return db.query_int("SELECT count(*) FROM library_event_log") >= total; }, 60s);
  INFO(daemon.log());
  REQUIRE(all_logged);
  REQUIRE(exit_code_after(daemon, SIGTERM) == 0);

  // Every event once, as the row it is, in position order.
  CHECK(db.query_int("SELECT count(*) FROM library_event_log") == total);
  CHECK(db.query_int("SELECT count(DISTINCT global_position) FROM library_event_log") == total);
  CHECK(db.query_int("SELECT count(*) FROM " + all_rows() +
                     " JOIN library_event_log l ON l.global_position = all_rows.position AND l.event_type = (ARRAY["
                     "'BookBorrowed', 'BookReturned', 'library_bookbought'])[place + 1] AND l.timestamp = created AND"
                     " (l.event_data->>'id')::int = all_rows.id") == total);
  CHECK(db.query_int("SELECT count(*) FROM (SELECT global_position, lag(global_position) OVER (ORDER BY id) AS"
                     " previous FROM library_event_log) applied WHERE previous >= global_position") == 0);
  // The payload is the row without its position; the stream id is book_id where the table has one.
  CHECK(db.query_int("SELECT count(*) FROM library_event_log WHERE event_data ? 'projectord_position'") == 0);
  CHECK(db.query_int("SELECT count(*) FROM library_event_log l JOIN library_bookborrowed b ON"
                     " b.projectord_position = l.global_position WHERE l.user_id = b.book_id::text AND"
                     " l.event_data->>'borrowed_by' = b.borrowed_by AND l.event_version = 0") ==
        db.query_int("SELECT count(*) FROM library_bookborrowed"));
  CHECK(db.query_int("SELECT count(*) FROM library_event_log WHERE event_type = 'library_bookbought' AND"
                     " user_id <> ''") == 0);
  // The history reached the handler in created order.
  CHECK(db.query_int("SELECT count(*) FROM (SELECT timestamp, lag(timestamp) OVER (ORDER BY global_position) AS"
                     " previous FROM library_event_log WHERE global_position <= " +
                     std::to_string(history) + ") applied WHERE previous > timestamp") == 0);
}
