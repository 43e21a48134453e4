// The reader over a django_event_tables source: one table per event type, positions from one shared
// sequence, read as one relation whose branches each use their own position index.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <boost/json.hpp>

#include "sources/postgres/reader.hpp"
#include "sources/postgres/row_decoder.hpp"
#include "tests/support/test_database.hpp"

using projectord::sources::decode_row;
using projectord::sources::PostgresReader;
using projectord::testing::TestDatabase;
namespace config = projectord::config;

namespace {

// The tables as `projectord migrate --add-position` leaves them; the last one has no book_id.
void create_tables(const TestDatabase& db) {
  db.exec(
      "CREATE SEQUENCE shared_position;"
      "CREATE TABLE library_bookborrowed (id serial PRIMARY KEY, created timestamptz NOT NULL, borrowed_by text,"
      " book_id integer, projectord_position bigint NOT NULL DEFAULT nextval('shared_position') UNIQUE);"
      "CREATE TABLE library_bookreturned (id serial PRIMARY KEY, created timestamptz NOT NULL, book_id integer,"
      " projectord_position bigint NOT NULL DEFAULT nextval('shared_position') UNIQUE);"
      "CREATE TABLE \"Library\".\"bookBought\" (id serial PRIMARY KEY, created timestamptz NOT NULL,"
      " \"it's\" text, projectord_position bigint NOT NULL DEFAULT nextval('shared_position') UNIQUE)");
}

config::PostgresSource library(const TestDatabase& db) {
  config::PostgresSource source;
  source.name = "library";
  source.url = db.url();
  source.preset = "django_event_tables";
  source.tables = {"library_bookborrowed", "library_bookreturned", "Library.bookBought"};
  source.type_names = {{"library_bookborrowed", "Book'Borrowed"}};
  source.position_column = "projectord_position";
  source.stream_id_column = "book_id";
  source.recorded_at_column = "created";
  return source;
}

// `rounds` rows in each table, their positions interleaved.
void write_rows(const TestDatabase& db, int rounds) {
  db.exec(
      "INSERT INTO library_bookborrowed (created, borrowed_by, book_id) SELECT '2017-05-01'::timestamptz +"
      " n * interval '1 second', 'reader ' || n, n % 7 FROM generate_series(1, " +
      std::to_string(rounds) + ") n");
  db.exec("INSERT INTO library_bookreturned (created, book_id) SELECT now(), n % 7 FROM generate_series(1, " +
          std::to_string(rounds) + ") n");
  db.exec("INSERT INTO \"Library\".\"bookBought\" (created, \"it's\") SELECT now(), 'x' FROM generate_series(1, " +
          std::to_string(rounds) + ") n");
}

}  // namespace

TEST_CASE("a django_event_tables source reads its tables in position order, typed by table, the row as payload") {
  TestDatabase db;
  db.exec("CREATE SCHEMA \"Library\"");
  create_tables(db);
  db.exec("INSERT INTO library_bookreturned (created, book_id) VALUES ('2017-05-01 10:00+00', 3)");
  db.exec("INSERT INTO \"Library\".\"bookBought\" (created, \"it's\") VALUES ('2017-05-01 11:00+00', 'a''b')");
  db.exec("INSERT INTO library_bookborrowed (created, borrowed_by, book_id) VALUES ('2017-05-01 09:00+00', 'ann', 3)");
  PostgresReader reader(library(db));
  pqxx::connection connection(db.url());
  pqxx::nontransaction(connection).exec("SET TIME ZONE 'UTC'");
  reader.prepare(connection, projectord::postgres::Pooling::session);

  const auto cycle = reader.read(connection, 0, 10, 0);
  CHECK(cycle.snapshot.head == 3);
  CHECK(cycle.contiguous_end == 3);
  REQUIRE(cycle.rows.size() == 3);
  CHECK(cycle.rows[0].position == 1);
  CHECK(cycle.rows[0].type == "library_bookreturned");
  CHECK(cycle.rows[0].recorded_at == "2017-05-01 10:00:00+00");
  CHECK(cycle.rows[1].type == "Library.bookBought");
  CHECK(cycle.rows[2].type == "Book'Borrowed");
  // Decoded, each event's data is its row without the position, its stream id book_id where the table has it.
  const config::PostgresSource source = library(db);
  std::vector<projectord::Event> events;
  for (const auto& row : cycle.rows) {
    auto event = decode_row(source, row);
    REQUIRE(event.has_value());
    events.push_back(std::move(*event));
  }
  CHECK(events[0].stream_id == "3");
  CHECK(events[1].stream_id.empty());
  CHECK(events[1].data == boost::json::parse(R"({"id": 1, "it's": "a'b", "created": "2017-05-01T11:00:00+00:00"})"));
  CHECK(events[2].stream_id == "3");
  CHECK(events[2].data == boost::json::parse(
                              R"({"id": 1, "book_id": 3, "created": "2017-05-01T09:00:00+00:00", "borrowed_by": "ann"})"));
  CHECK(reader.head(connection) == 3);
  CHECK(reader.count_after(connection, 1) == 2);
  const auto holes = reader.check_holes(connection, {2, 9});
  CHECK(holes.existing == std::vector<projectord::Position>{2});
  REQUIRE(holes.rows.size() == 1);
  CHECK(holes.rows[0].type == "Library.bookBought");
}

TEST_CASE("a django_event_tables read merges each table's position index instead of scanning or sorting tables") {
  TestDatabase db;
  db.exec("CREATE SCHEMA \"Library\"");
  create_tables(db);
  write_rows(db, 20000);
  db.exec("ANALYZE library_bookborrowed; ANALYZE library_bookreturned; ANALYZE \"Library\".\"bookBought\"");
  PostgresReader reader(library(db));
  pqxx::connection connection(db.url());
  reader.prepare(connection, projectord::postgres::Pooling::session);
  reader.read(connection, 30000, 100, 0);  // libpqxx prepares a statement on its first use
  pqxx::nontransaction txn(connection);
  std::string plan;
  // The statement the reader prepared for its read cycle (its only one, named after its text), after position
  // 30000: the middle of every table.
  const std::string cycle = txn.exec1("SELECT name FROM pg_prepared_statements")[0].c_str();
  for (const pqxx::row& line : txn.exec("EXPLAIN EXECUTE " + cycle + "(30000, 100)")) {
    plan += std::string(line[0].c_str()) + "\n";
  }
  INFO(plan);
  CHECK(plan.find("Merge Append") != std::string::npos);
  CHECK(plan.find("Seq Scan") == std::string::npos);
  CHECK(plan.find("Sort  (") == std::string::npos);
  for (const char* index : {"library_bookborrowed_projectord_position_key",
                            "library_bookreturned_projectord_position_key", "bookBought_projectord_position_key"}) {
    CHECK(plan.find(index) != std::string::npos);
  }
}
