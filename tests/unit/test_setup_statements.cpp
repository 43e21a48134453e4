// Which relation each built-in handler's setup statements create (handlers/projection_handler.hpp
// SetupStatement): a lane runs a statement only where that relation is missing.
#include <catch2/catch.hpp>

#include "config/config.hpp"
#include "handlers/registry.hpp"

using projectord::config::Handler;
using projectord::handlers::make_projection;
using projectord::handlers::SetupStatement;

namespace {

std::vector<SetupStatement> setup_of(Handler handler) {
  handler.name = "h";
  if (handler.kind == "sql") handler.statements.push_back({.on = "X", .sql = "SELECT 1", .params = {}, .line = 1});
  auto projection = make_projection(handler);
  REQUIRE(projection.has_value());
  return (*projection)->setup_sql();
}

std::string sql_setup_creates(const std::string& setup) {
  Handler handler;
  handler.kind = "sql";
  handler.setup = setup;
  const auto statements = setup_of(handler);
  REQUIRE(statements.size() == 1);
  CHECK(statements[0].sql == setup);
  return statements[0].creates;
}

}  // namespace

TEST_CASE("the users and event_log handlers' setup names the configured table, quoted") {
  for (const char* kind : {"users", "event_log"}) {
    Handler handler;
    handler.kind = kind;
    handler.table = "read.model";
    handler.options["fold_memory"] = std::int64_t{1} << 20;  // a users key
    const auto statements = setup_of(handler);
    REQUIRE(statements.size() == 1);
    CHECK(statements[0].creates == "\"read\".\"model\"");
  }
}

TEST_CASE("a sql handler's setup creates the table its leading CREATE TABLE names, as written") {
  CHECK(sql_setup_creates("CREATE TABLE IF NOT EXISTS totals (n bigint)") == "totals");
  CHECK(sql_setup_creates("  create unlogged table Shop.\"Daily Totals\"(n bigint); CREATE INDEX ON x (n)") ==
        "Shop.\"Daily Totals\"");
}

TEST_CASE("a sql handler's setup of another shape names no table: it runs in every session") {
  CHECK(sql_setup_creates("CREATE INDEX IF NOT EXISTS totals_n ON totals (n)").empty());
  CHECK(sql_setup_creates("DO $$ BEGIN CREATE TABLE t (n int); END $$").empty());
}

TEST_CASE("a handler with no setup has no statements") {
  Handler handler;
  handler.kind = "sql";
  CHECK(setup_of(handler).empty());
}
