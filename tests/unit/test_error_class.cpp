// How errors are told apart without their text (daemon/error_class.hpp), and what of a PostgreSQL error a
// log line keeps (base/postgres/errors.hpp).
#include <catch2/catch.hpp>

#include <pqxx/except>
#include <stdexcept>

#include "base/postgres/errors.hpp"
#include "daemon/error_class.hpp"

using projectord::error_class;
using projectord::postgres::error_text;
using projectord::postgres::one_line;

namespace {

const std::string kDuplicate =
    "ERROR:  duplicate key value violates unique constraint \"signups_email_key\"\n"
    "DETAIL:  Key (email)=(alice@example.com) already exists.\n";

}  // namespace

TEST_CASE("a server error keeps its primary message and SQLSTATE and loses the DETAIL that quotes the row") {
  const std::string text = error_text(pqxx::unique_violation(kDuplicate, "INSERT INTO signups ...", "23505"));
  CHECK(text == "ERROR:  duplicate key value violates unique constraint \"signups_email_key\" (SQLSTATE 23505)");
  CHECK(text.find("alice@example.com") == std::string::npos);
  CHECK(one_line("ERROR:  boom\nDETAIL:  Failing row contains (7, secret).\nHINT:  look\n") == "ERROR:  boom HINT:  look");
}

TEST_CASE("an error that is not the server's keeps its message as one line, without a SQLSTATE") {
  CHECK(error_text(std::runtime_error("zlib: truncated stream\n")) == "zlib: truncated stream");
  CHECK(error_text(pqxx::broken_connection("server closed the connection unexpectedly\n")) ==
        "server closed the connection unexpectedly");
}

TEST_CASE("a server error is classed by its SQLSTATE") {
  const auto classed = [](const char* sqlstate) {
    return std::string(error_class(error_text(pqxx::sql_error("ERROR:  something", "SELECT", sqlstate))));
  };
  CHECK(classed("23505") == "unique_violation");
  CHECK(classed("23503") == "foreign_key_violation");
  CHECK(classed("23502") == "not_null_violation");
  CHECK(classed("23514") == "check_violation");
  CHECK(classed("23P01") == "constraint_violation");
  CHECK(classed("22P02") == "data_exception");
  CHECK(classed("42P01") == "syntax_or_access");
  CHECK(classed("42501") == "insufficient_privilege");
  CHECK(classed("40001") == "conflict");
  CHECK(classed("40P01") == "conflict");
  CHECK(classed("53100") == "resources");
  CHECK(classed("08006") == "connection");
  CHECK(classed("57P01") == "connection");
  CHECK(classed("57014") == "timeout");
  CHECK(classed("55P03") == "timeout");
  CHECK(classed("XX000") == "database");
}

TEST_CASE("a SQLSTATE inside a dead-letter message still decides its class") {
  CHECK(error_class("handler signups failed on source shop position 7 (UserRegistered) after 3 attempt(s): ERROR:  "
                    "duplicate key value violates unique constraint \"signups_email_key\" (SQLSTATE 23505)") ==
        "unique_violation");
  CHECK(error_class("ERROR:  something (SQLSTATE 2350)") == "handler");  // not a SQLSTATE
}

TEST_CASE("the daemon's own messages are classed by their shape") {
  CHECK(error_class("hook: shop:7: https://hooks.example/... answered 503 Service Unavailable") == "http_5xx");
  CHECK(error_class("hook: shop:7: https://hooks.example/... answered 404 Not Found") == "http_4xx");
  CHECK(error_class("hook: shop:7: https://hooks.example/... answered 302 Found (redirects are not followed)") ==
        "http_3xx");
  CHECK(error_class("hook: shop:7: https://hooks.example/...: timed out") == "timeout");
  CHECK(error_class("source shop position 7: zlib: truncated stream") == "decode");
  CHECK(error_class("handler log failed on source shop position 7 (UserRegistered) after 1 attempt(s): source shop "
                    "position 7: payload is not a JSON object") == "decode");
  CHECK(error_class("source orders entry 1700000000000-0: field 'data' is missing") == "decode");
  CHECK(error_class("standing by: another process runs handler users") == "standby");
  CHECK(error_class("handler users: lost its lease (epoch 3) to another projectord process") == "lease_lost");
  CHECK(error_class("connection to server at \"127.0.0.1\", port 1 failed: Connection refused") == "connection");
  CHECK(error_class("source orders: redis at 127.0.0.1:1: Connection refused") == "connection");
  CHECK(error_class("cannot authenticate to 127.0.0.1:6379: WRONGPASS invalid username-password pair") ==
        "connection");
  CHECK(error_class("no user with id 7") == "handler");
}

TEST_CASE("no error has no class") { CHECK(error_class("").empty()); }
