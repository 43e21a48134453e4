// A handler's partition count against a real PostgreSQL (checkpoints/partitionings.hpp): recorded with the
// first checkpoints, a side effect's checkpoints carried to a new count from the least of them, a
// projection's refused.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "checkpoints/partitionings.hpp"
#include "tests/support/generic_store.hpp"
#include "tests/support/test_database.hpp"

using projectord::checkpoints::adopt_partitioning;
using projectord::testing::install_projectord_schema;
using projectord::testing::TestDatabase;
namespace config = projectord::config;

namespace {

// The config of lane `index` of `handler` with `count` partitions; count 1: the handler whole.
config::Handler lane(const std::string& handler, std::int64_t index, std::int64_t count, bool side_effect) {
  config::Handler lane;
  lane.name = count == 1 ? handler : handler + "/" + std::to_string(index);
  lane.is_side_effect = side_effect;
  lane.partitions = count;
  if (count > 1) lane.partition = config::Partition{handler, index, count};
  return lane;
}

projectord::Result<void> adopt(const TestDatabase& db, const config::Handler& lane) {
  pqxx::connection connection(db.url());
  pqxx::work txn(connection);
  auto adopted = adopt_partitioning(txn, lane);
  txn.commit();
  return adopted;
}

void checkpoint(const TestDatabase& db, const std::string& name, int position) {
  db.exec("INSERT INTO projectord.checkpoints (handler, source, position, holes) VALUES ('" + name + "', 'shop', " +
          std::to_string(position) + ", '{\"" + std::to_string(position + 2) + "\": 1}')");
}

std::string checkpoints_of(const TestDatabase& db, const std::string& handler) {
  return db.query_value(
      "SELECT string_agg(handler || '@' || position || ' ' || holes::text, ', ' ORDER BY handler)"
      " FROM projectord.checkpoints WHERE handler = '" + handler + "' OR handler LIKE '" + handler + "/%'");
}

}  // namespace

TEST_CASE("a handler's partition count is recorded with its first checkpoints and kept while it stays") {
  TestDatabase db;
  install_projectord_schema(db);
  for (std::int64_t index = 0; index < 3; ++index) CHECK(adopt(db, lane("hook", index, 3, true)));
  CHECK(db.query_int("SELECT partitions FROM projectord.partitionings WHERE handler = 'hook'") == 3);
  checkpoint(db, "hook/0", 40);
  CHECK(adopt(db, lane("hook", 0, 3, true)));
  CHECK(checkpoints_of(db, "hook") == "hook/0@40 {\"42\": 1}");
  // A handler run whole records nothing: its one checkpoint is under its own name.
  CHECK(adopt(db, lane("users", 0, 1, false)));
  CHECK(db.query_int("SELECT count(*) FROM projectord.partitionings") == 1);
}

TEST_CASE("a side effect's new partitions all resume at the least of its old checkpoints") {
  TestDatabase db;
  install_projectord_schema(db);
  checkpoint(db, "hook", 70);  // run whole so far
  db.exec("INSERT INTO projectord.attempts VALUES ('hook', 71, 72, 2)");
  CHECK(adopt(db, lane("hook", 1, 2, true)));
  CHECK(checkpoints_of(db, "hook") == "hook/0@70 {\"72\": 1}, hook/1@70 {\"72\": 1}");
  CHECK(db.query_int("SELECT count(*) FROM projectord.attempts") == 0);  // counted under the old names
  CHECK(adopt(db, lane("hook", 0, 2, true)));  // its sibling finds the count it starts with
  CHECK(checkpoints_of(db, "hook") == "hook/0@70 {\"72\": 1}, hook/1@70 {\"72\": 1}");

  db.exec("UPDATE projectord.checkpoints SET position = 90, holes = '{}' WHERE handler = 'hook/0'");
  CHECK(adopt(db, lane("hook", 2, 3, true)));
  CHECK(checkpoints_of(db, "hook") == "hook/0@70 {\"72\": 1}, hook/1@70 {\"72\": 1}, hook/2@70 {\"72\": 1}");
  CHECK(adopt(db, lane("hook", 0, 1, true)));  // back to whole
  CHECK(checkpoints_of(db, "hook") == "hook@70 {\"72\": 1}");
  CHECK(db.query_int("SELECT count(*) FROM projectord.partitionings") == 0);
}

TEST_CASE("a projection whose partition count changed is refused, its checkpoints untouched") {
  TestDatabase db;
  install_projectord_schema(db);
  checkpoint(db, "users/0", 10);
  checkpoint(db, "users/1", 20);
  db.exec("INSERT INTO projectord.partitionings (handler, partitions) VALUES ('users', 2)");
  const auto refused = adopt(db, lane("users", 0, 3, false));
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error(), Catch::StartsWith("handler users has its checkpoints in 2 partition(s) and is configured"
                                                " with 3: its read model holds each partition's events"));
  CHECK_FALSE(adopt(db, lane("users", 0, 1, false)));
  CHECK(checkpoints_of(db, "users") == "users/0@10 {\"12\": 1}, users/1@20 {\"22\": 1}");
  CHECK(adopt(db, lane("users", 1, 2, false)));
  // Its checkpoints deleted (its read model emptied too), it starts over under any count.
  db.exec("DELETE FROM projectord.checkpoints WHERE handler LIKE 'users/%'");
  CHECK(adopt(db, lane("users", 0, 3, false)));
  CHECK(db.query_int("SELECT partitions FROM projectord.partitionings WHERE handler = 'users'") == 3);
}
