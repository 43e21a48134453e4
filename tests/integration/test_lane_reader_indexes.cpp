// A lane's build of its handler's reader indexes (daemon/lane/reader_indexes.hpp) against a real PostgreSQL:
// one index a unit of work, then none due for the rest of the session.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "daemon/lane/reader_indexes.hpp"
#include "tests/support/test_database.hpp"

using namespace projectord;
using projectord::testing::TestDatabase;

TEST_CASE("a lane builds its reader indexes one unit of work each, and none is due again in the session") {
  TestDatabase db;
  db.exec("CREATE TABLE readings (id bigint PRIMARY KEY, meter text, taken_at timestamptz)");
  ReaderIndexes indexes("readings", {{"readings", "readings_meter_reader", {"meter"}},
                                     {"readings", "readings_taken_at_reader", {"taken_at", "meter"}}});
  REQUIRE_FALSE(indexes.start_session(0));
  REQUIRE(indexes.due_once_caught_up());

  const auto target = db.connect();
  const SteadyClock clock;
  int units = 0;
  indexes.build(*target, 42, clock, [&] { ++units; });

  CHECK(units == 2);
  CHECK(db.query_int("SELECT count(*) FROM pg_indexes WHERE tablename = 'readings' AND indexname LIKE '%_reader'") ==
        2);
  CHECK_FALSE(indexes.due_once_caught_up());
}
