// The swap of a blue/green rebuild (checkpoints/rebuilds.hpp) against a real PostgreSQL: what moves where, which
// checkpoint the live handler ends with, and what is left of the rebuild.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "checkpoints/schema.hpp"
#include "checkpoints/rebuilds.hpp"
#include "tests/support/test_database.hpp"

using projectord::testing::TestDatabase;
namespace rebuild = projectord::rebuild;

namespace {

void install(const TestDatabase& db) {
  auto connection = db.connect();
  pqxx::work txn(*connection);
  for (const std::string& sql : projectord::checkpoints::install_schema_sql()) txn.exec(sql);
  txn.commit();
}

// A live model (`model`, checkpoint 10) and a rebuild of it in progress whose shadow reached 20 and also
// created a table the live model does not have yet (`extra`).
void live_and_shadow(const TestDatabase& db) {
  install(db);
  db.exec(
      "CREATE TABLE model (id int PRIMARY KEY, origin text);"
      "INSERT INTO model VALUES (1, 'live');"
      "INSERT INTO projectord.checkpoints (handler, source, position, events_applied, holes)"
      " VALUES ('users', 'shop', 10, 10, '{}')");
  auto connection = db.connect();
  {
    pqxx::work txn(*connection);
    rebuild::begin(txn, "users", "test", 1);
    txn.commit();
  }
  projectord::postgres::SessionSettings session(projectord::postgres::Pooling::session);
  rebuild::enter_shadow(*connection, "users", session);
  db.exec("CREATE TABLE projectord_r_users.model (id int PRIMARY KEY, origin text);"
          "CREATE INDEX model_origin ON projectord_r_users.model (origin);"
          "INSERT INTO projectord_r_users.model VALUES (1, 'shadow'), (2, 'shadow');"
          "CREATE TABLE projectord_r_users.extra (n int);"
          "INSERT INTO projectord.checkpoints (handler, source, position, events_applied, holes)"
          " VALUES ('users:rebuild', 'shop', 20, 19, '{\"21\": 1}')");
}

}  // namespace

TEST_CASE("a rebuild swap gives the shadow's tables the live names and the live checkpoint the shadow's") {
  TestDatabase db;
  live_and_shadow(db);
  REQUIRE(db.query_int("SELECT count(*) FROM projectord.rebuilds WHERE handler = 'users'") == 1);

  auto connection = db.connect();
  projectord::postgres::SessionSettings session(projectord::postgres::Pooling::session);
  rebuild::enter_shadow(*connection, "users", session);  // as the rebuild lane's connection is
  pqxx::work txn(*connection);
  const auto swapped = rebuild::swap(txn, "users", 1);
  REQUIRE(swapped.has_value());
  txn.commit();
  CHECK(*swapped == std::vector<std::string>{"extra", "model"});

  CHECK(db.query_value("SELECT string_agg(origin, ',' ORDER BY id) FROM public.model") == "shadow,shadow");
  CHECK(db.query_int("SELECT count(*) FROM public.extra") == 0);  // new tables land where the live path looks
  CHECK(db.query_int("SELECT count(*) FROM pg_indexes WHERE indexname = 'model_origin' AND schemaname = 'public'") ==
        1);
  CHECK(db.query_int("SELECT position FROM projectord.checkpoints WHERE handler = 'users'") == 20);
  CHECK(db.query_int("SELECT events_applied FROM projectord.checkpoints WHERE handler = 'users'") == 19);
  CHECK(db.query_value("SELECT holes::text FROM projectord.checkpoints WHERE handler = 'users'") == "{\"21\": 1}");
  CHECK(db.query_int("SELECT count(*) FROM projectord.checkpoints WHERE handler = 'users:rebuild'") == 0);
  CHECK(db.query_int("SELECT count(*) FROM projectord.rebuilds") == 0);
  CHECK(db.query_int("SELECT count(*) FROM pg_namespace WHERE nspname IN ('projectord_r_users', 'projectord_o_users')") ==
        0);
}

TEST_CASE("a rebuild swap of an empty shadow is an error and changes nothing, and abandon clears the rebuild") {
  TestDatabase db;
  install(db);
  db.exec("CREATE TABLE model (id int)");
  auto connection = db.connect();
  {
    pqxx::work txn(*connection);
    rebuild::begin(txn, "users", "test", 1);
    txn.commit();
  }
  projectord::postgres::SessionSettings session(projectord::postgres::Pooling::session);
  rebuild::enter_shadow(*connection, "users", session);
  {
    pqxx::work txn(*connection);
    const auto swapped = rebuild::swap(txn, "users", 1);
    REQUIRE_FALSE(swapped.has_value());
    CHECK_THAT(swapped.error(), Catch::Contains("holds no table"));
  }
  CHECK(db.query_int("SELECT count(*) FROM projectord.rebuilds") == 1);
  {
    pqxx::work txn(*connection);
    rebuild::abandon(txn, "users");
    txn.commit();
  }
  CHECK(db.query_int("SELECT count(*) FROM projectord.rebuilds") == 0);
  CHECK(db.query_int("SELECT count(*) FROM pg_namespace WHERE nspname = 'projectord_r_users'") == 0);
  CHECK(db.query_int("SELECT count(*) FROM public.model") == 0);  // the live model was never touched
}

TEST_CASE(
    "a fresh rebuild begin drops what an earlier rebuild left, and a handler writing a qualified table is refused") {
  TestDatabase db;
  live_and_shadow(db);
  auto connection = db.connect();
  {
    pqxx::work txn(*connection);
    rebuild::begin(txn, "users", "again", 1);
    txn.commit();
  }
  CHECK(db.query_int("SELECT count(*) FROM pg_tables WHERE schemaname = 'projectord_r_users'") == 0);
  CHECK(db.query_int("SELECT count(*) FROM projectord.checkpoints WHERE handler = 'users:rebuild'") == 0);
  CHECK(db.query_value("SELECT requested_by FROM projectord.rebuilds WHERE handler = 'users'") == "again");

  projectord::config::Handler handler;
  handler.name = "users";
  handler.table = "reporting.user_projection";
  REQUIRE(rebuild::refusal(handler).has_value());
  handler.table = "user_projection";
  CHECK_FALSE(rebuild::refusal(handler).has_value());
}
