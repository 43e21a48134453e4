// A session's part of a read model's setup (handlers/setup.hpp) against a real PostgreSQL: a table that
// exists gets no DDL, so a role without CREATE in its schema gets through; a rebuild's shadow schema, first on
// the search_path, still gets its own table while the live one exists.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "handlers/setup.hpp"
#include "tests/support/test_database.hpp"

using projectord::handlers::create_missing;
using projectord::handlers::SetupStatement;
using projectord::testing::TestDatabase;

namespace {

const std::vector<SetupStatement> kSetup = {
    {"totals", "CREATE TABLE IF NOT EXISTS totals (n bigint)"},
    {"\"Shop\".\"Daily\"", "CREATE TABLE IF NOT EXISTS \"Shop\".\"Daily\" (n bigint)"},
};

std::size_t run_setup(pqxx::connection& connection, const std::vector<SetupStatement>& setup) {
  pqxx::work txn(connection);
  const std::size_t ran = create_missing(txn, setup);
  txn.commit();
  return ran;
}

}  // namespace

TEST_CASE("setup creates missing tables and runs nothing for tables that exist") {
  TestDatabase db;
  db.exec("CREATE SCHEMA \"Shop\"");
  const auto connection = db.connect();
  CHECK(run_setup(*connection, kSetup) == 2);
  CHECK(db.query_int("SELECT count(*) FROM pg_class WHERE relname IN ('totals', 'Daily')") == 2);
  CHECK(run_setup(*connection, kSetup) == 0);
}

TEST_CASE("a role that may not create in the tables' schema gets through the setup of tables that exist") {
  TestDatabase db;
  db.exec("CREATE SCHEMA \"Shop\"; REVOKE CREATE ON SCHEMA public FROM PUBLIC");
  run_setup(*db.connect(), kSetup);
  const auto connection = db.connect();
  pqxx::nontransaction(*connection).exec("SET ROLE pg_read_all_data");  // may read, may create nothing
  CHECK(run_setup(*connection, kSetup) == 0);
}

TEST_CASE("an unqualified table is looked for in the first schema of the search_path, as CREATE would put it") {
  TestDatabase db;
  db.exec("CREATE TABLE totals (n bigint); CREATE SCHEMA shadow");
  const auto connection = db.connect();
  pqxx::nontransaction(*connection).exec("SET search_path TO shadow, public");
  CHECK(run_setup(*connection, {kSetup[0]}) == 1);
  CHECK(db.query_int("SELECT count(*) FROM pg_tables WHERE tablename = 'totals'") == 2);
  CHECK(db.query_int("SELECT count(*) FROM pg_tables WHERE schemaname = 'shadow' AND tablename = 'totals'") == 1);
}

TEST_CASE("a statement that names no relation runs in every session") {
  TestDatabase db;
  const auto connection = db.connect();
  const std::vector<SetupStatement> unnamed = {{"", "CREATE TABLE IF NOT EXISTS totals (n bigint)"}};
  CHECK(run_setup(*connection, unnamed) == 1);
  CHECK(run_setup(*connection, unnamed) == 1);
}
