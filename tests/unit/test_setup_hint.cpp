// What the daemon says about a missing privilege or object (base/postgres/errors.hpp): the server's message
// and the statement the owner runs to mend it, taken from the message's words.
#include <catch2/catch.hpp>

#include <pqxx/except>
#include <stdexcept>

#include "base/postgres/errors.hpp"

using projectord::postgres::is_setup_problem;
using projectord::postgres::setup_hint;

namespace {

std::string hint(const std::string& message, const std::string& sqlstate = "42501", const std::string& role = "pd") {
  return setup_hint(pqxx::sql_error("ERROR:  " + message + "\n", "SELECT 1", sqlstate.c_str()), role);
}

}  // namespace

TEST_CASE("missing privileges and missing objects are setup problems, other errors are not") {
  CHECK(is_setup_problem(pqxx::sql_error("permission denied for table users", "", "42501")));
  CHECK(is_setup_problem(pqxx::sql_error("relation \"users\" does not exist", "", "42P01")));
  CHECK(is_setup_problem(pqxx::sql_error("schema \"projectord\" does not exist", "", "3F000")));
  CHECK_FALSE(is_setup_problem(pqxx::sql_error("duplicate key value", "", "23505")));
  // As libpqxx 6.4 throws it: the type says it, the SQLSTATE is left empty.
  const pqxx::insufficient_privilege denied("ERROR:  permission denied for table users\n", "INSERT");
  CHECK(is_setup_problem(denied));
  CHECK_THAT(setup_hint(denied, "pd"), Catch::Contains("GRANT SELECT, INSERT, UPDATE, DELETE ON users TO pd"));
  CHECK_FALSE(is_setup_problem(pqxx::broken_connection("server closed the connection")));
  CHECK_FALSE(is_setup_problem(std::runtime_error("permission denied for table users")));
}

TEST_CASE("a table the role may not write gets the GRANT of the read model's privileges") {
  CHECK(hint("permission denied for table users") ==
        "permission denied for table users: run as the owner: GRANT SELECT, INSERT, UPDATE, DELETE ON users TO pd"
        " (`projectord migrate --print-grants pd` lists every grant the daemon needs)");
}

TEST_CASE("each kind of object the server names gets its own grant") {
  CHECK_THAT(hint("permission denied for schema projectord"), Catch::Contains("GRANT USAGE ON SCHEMA projectord TO pd"));
  CHECK_THAT(hint("permission denied for sequence users_id_seq"),
             Catch::Contains("GRANT USAGE ON SEQUENCE users_id_seq TO pd"));
  CHECK_THAT(hint("permission denied for database shop"), Catch::Contains("GRANT CREATE ON DATABASE shop TO pd"));
  CHECK_THAT(hint("permission denied to create temporary tables in database \"shop\""),
             Catch::Contains("GRANT TEMPORARY ON DATABASE shop TO pd"));
  CHECK_THAT(hint("must be owner of table user_projection"),
             Catch::Contains("ALTER TABLE user_projection OWNER TO pd"));
}

TEST_CASE("names that are not plain lower-case identifiers are quoted in the grant") {
  CHECK_THAT(hint("permission denied for table Users", "42501", "Daemon"),
             Catch::Contains("ON \"Users\" TO \"Daemon\""));
}

TEST_CASE("a missing object sends the owner to migrate, a message of another shape to the printed grants") {
  CHECK(hint("relation \"user_projection\" does not exist", "42P01") ==
        "relation \"user_projection\" does not exist: run `projectord migrate` as the owner (it creates what is"
        " missing), then the grants `projectord migrate --print-grants pd` lists");
  CHECK(hint("permission denied to set parameter \"x\"") ==
        "permission denied to set parameter \"x\": run as the owner the grants"
        " `projectord migrate --print-grants pd` lists");
}
