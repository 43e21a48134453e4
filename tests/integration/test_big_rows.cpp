// Payloads over a source's max_event_bytes against a real PostgreSQL: the reader measures them without
// fetching them, a read stops at its byte budget, the rows decode to poison events naming position, size and
// limit, and a lane dead-letters them and goes on.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "sources/postgres/reader.hpp"
#include "sources/postgres/row_decoder.hpp"
#include "daemon/lane.hpp"
#include "tests/support/generic_store.hpp"
#include "tests/support/running_lane.hpp"
#include "tests/support/test_database.hpp"

using namespace std::chrono_literals;
using projectord::sources::PostgresReader;
using projectord::testing::create_store;
using projectord::testing::eventually;
using projectord::testing::generic_source;
using projectord::testing::RunningLane;
using projectord::testing::TestDatabase;
namespace config = projectord::config;

namespace {

constexpr std::size_t kMaxBytes = 1024;

// A store whose payloads are bytea, as pyeventsourcing's and eventsourcing_django's are.
config::PostgresSource bytea_source(const TestDatabase& db) {
  db.exec("CREATE TABLE blobs (id bigserial PRIMARY KEY, type text NOT NULL, state bytea NOT NULL)");
  config::PostgresSource source;
  source.name = "blobs";
  source.url = db.url();
  source.table = "blobs";
  source.position_column = "id";
  source.type_column = "type";
  source.payload_column = "state";
  source.max_event_bytes = kMaxBytes;
  return source;
}

// A JSON object of exactly `bytes` bytes, built by the server.
std::string json_of_size(std::size_t bytes) {
  return "'{\"b\":\"' || repeat('x', " + std::to_string(bytes - 8) + ") || '\"}'";
}

void insert_blob(const TestDatabase& db, std::size_t bytes) {
  db.exec("INSERT INTO blobs (type, state) VALUES ('Blob', convert_to(" + json_of_size(bytes) + ", 'UTF8'))");
}

projectord::sources::ReadCycle read_after(const TestDatabase& db, PostgresReader& reader, projectord::Position after) {
  pqxx::connection connection(db.url());
  reader.prepare(connection, projectord::postgres::Pooling::session);
  return reader.read(connection, after, 100, 0);
}

}  // namespace

TEST_CASE("a bytea payload over max_event_bytes is measured, not fetched, and decodes to an error naming position, size and limit") {
  TestDatabase db;
  const config::PostgresSource source = bytea_source(db);
  insert_blob(db, kMaxBytes);
  insert_blob(db, kMaxBytes + 1);
  PostgresReader reader(source);
  const auto cycle = read_after(db, reader, 0);
  REQUIRE(cycle.rows.size() == 2);
  CHECK(cycle.rows[0].payload_size == kMaxBytes);
  CHECK(cycle.rows[0].payload.size() == 2 + 2 * kMaxBytes);  // hex text
  CHECK(projectord::sources::decode_row(source, cycle.rows[0]).has_value());
  CHECK(cycle.rows[1].payload_size == kMaxBytes + 1);
  CHECK(cycle.rows[1].payload.empty());
  const auto decoded = projectord::sources::decode_row(source, cycle.rows[1]);
  REQUIRE_FALSE(decoded.has_value());
  CHECK(decoded.error() == "source blobs position 2: payload of 1025 bytes is over max_event_bytes (1KiB), not read");
}

TEST_CASE("a hole re-read does not fetch a payload over max_event_bytes either") {
  TestDatabase db;
  const config::PostgresSource source = bytea_source(db);
  insert_blob(db, 4 * kMaxBytes);
  PostgresReader reader(source);
  pqxx::connection connection(db.url());
  reader.prepare(connection, projectord::postgres::Pooling::session);
  const auto check = reader.check_holes(connection, {1});
  REQUIRE(check.rows.size() == 1);
  CHECK(check.rows[0].payload.empty());
  CHECK(check.rows[0].payload_size == 4 * kMaxBytes);
}

TEST_CASE("a read stops once its rows' payloads reach the byte budget, and says more is ready") {
  TestDatabase db;
  const config::PostgresSource source = bytea_source(db);
  for (int i = 0; i < 10; ++i) insert_blob(db, 1000);
  PostgresReader reader(source);
  REQUIRE(reader.byte_budget() == 4 * kMaxBytes);
  // 4000 bytes before the fifth row are under 4096: it is read; the sixth is not.
  const auto first = read_after(db, reader, 0);
  CHECK(first.rows.size() == 5);
  CHECK(first.over_budget);
  CHECK(first.contiguous_end == 5);
  const auto rest = read_after(db, reader, 5);
  CHECK(rest.rows.size() == 5);
  CHECK(rest.rows.back().position == 10);
  CHECK_FALSE(read_after(db, reader, 10).over_budget);
}

TEST_CASE("payloads too big to fetch cost a read nothing of its byte budget") {
  TestDatabase db;
  const config::PostgresSource source = bytea_source(db);
  for (int i = 0; i < 10; ++i) insert_blob(db, 8 * kMaxBytes);
  insert_blob(db, 100);
  PostgresReader reader(source);
  const auto cycle = read_after(db, reader, 0);
  CHECK(cycle.rows.size() == 11);
  CHECK_FALSE(cycle.over_budget);
  CHECK(cycle.rows.back().payload_size == 100);
}

TEST_CASE("a jsonb payload over max_event_bytes is measured as its text and not fetched") {
  TestDatabase db;
  create_store(db);
  config::PostgresSource source = generic_source(db);
  source.max_event_bytes = kMaxBytes;
  db.exec("INSERT INTO events (stream_id, type, data) VALUES ('s', 'Counted', (" + json_of_size(2 * kMaxBytes) +
          ")::jsonb)");
  PostgresReader reader(source);
  const auto cycle = read_after(db, reader, 0);
  REQUIRE(cycle.rows.size() == 1);
  CHECK(cycle.rows[0].payload.empty());
  CHECK(cycle.rows[0].payload_size == 2 * kMaxBytes + 1);  // jsonb's text puts a blank after the colon
}

TEST_CASE("a lane dead-letters a row over max_event_bytes with the error and goes on to the rows after it") {
  TestDatabase db;
  create_store(db);
  config::PostgresSource source = generic_source(db);
  source.max_event_bytes = kMaxBytes;
  db.exec(projectord::testing::insert_event(1));
  db.exec("INSERT INTO events (stream_id, type, data) VALUES ('s', 'Counted', (" + json_of_size(2 * kMaxBytes) +
          ")::jsonb)");
  db.exec(projectord::testing::insert_event(3));
  config::Handler handler;
  handler.name = "applied_log";
  handler.kind = "sql";
  handler.source = "store";
  handler.on_error = config::OnError::dead_letter;
  handler.max_attempts = 1;
  handler.setup = "CREATE TABLE IF NOT EXISTS applied_log (position bigint PRIMARY KEY)";
  handler.statements.push_back(
      {.on = "Counted", .sql = "INSERT INTO applied_log (position) VALUES ($1)", .params = {"position"}, .line = 1});
  RunningLane lane(db, source, handler);

  REQUIRE(eventually([&] {
    return db.query_value("SELECT position FROM projectord.checkpoints WHERE handler = 'applied_log'") == "3";
  }));
  CHECK(db.query_int("SELECT count(*) FROM applied_log") == 2);
  CHECK(db.query_int("SELECT position FROM projectord.dead_letters") == 2);
  CHECK(db.query_value("SELECT error FROM projectord.dead_letters") ==
        "source store position 2: payload of 2049 bytes is over max_event_bytes (1KiB), not read");
}

TEST_CASE("while a handler waits to retry an event, its status shows the head of the read that returned it") {
  TestDatabase db;
  create_store(db);
  projectord::testing::insert_events(db, 1, 3);
  config::Handler handler;
  handler.name = "failing_log";
  handler.kind = "sql";
  handler.source = "store";
  handler.max_attempts = 3;
  handler.retry_backoff = 10min;  // the lane stays retrying for the test's length
  handler.retry_backoff_max = 10min;
  handler.statements.push_back(
      {.on = "Counted", .sql = "SELECT 1 / ($1::integer - $1::integer)", .params = {"data.n"}, .line = 1});
  RunningLane lane(db, generic_source(db), handler);

  REQUIRE(eventually([&] { return lane.status().state == projectord::LaneState::retrying; }));
  const projectord::LaneStatus status = lane.status();
  CHECK(status.head == 3);
  CHECK(status.position == 0);
}
