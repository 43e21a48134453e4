// A log message's key=value fields read back for the JSON lines and the journal, whatever its values hold.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "base/printable.hpp"
#include "daemon/logging/log_fields.hpp"

using projectord::log_value;
using projectord::logging::LogField;
using projectord::logging::parse_log_fields;

TEST_CASE("a message of key=value fields reads back as those fields in their order") {
  const auto fields = parse_log_fields("handler=users source=shop event=connected checkpoint=0 position=42");
  REQUIRE(fields.has_value());
  CHECK(*fields == std::vector<LogField>{{"handler", "users"},
                                         {"source", "shop"},
                                         {"event", "connected"},
                                         {"checkpoint", "0"},
                                         {"position", "42"}});
}

TEST_CASE("a quoted field value reads back unquoted and unescaped") {
  const auto fields = parse_log_fields(R"(event=reload_rejected error="say \"hi\" \\ a\nb \xff" retry_in_ms=5)");
  REQUIRE(fields.has_value());
  REQUIRE(fields->size() == 3);
  CHECK((*fields)[1] == LogField{"error", "say \"hi\" \\ a\nb \xff"});
  CHECK((*fields)[2] == LogField{"retry_in_ms", "5"});
}

TEST_CASE("every value written with log_value reads back as the one field it was") {
  const std::vector<std::string> hostile{
      "x\n2026-01-01T00:00:00.000 error handler=other event=forged",
      "x\" handler=\"other",
      "trailing backslash \\",
      "\"",
      "",
      std::string("nul\0byte \x1b[31m red", 18),
      "bad \xff\xfe utf-8",
      "caf\xc3\xa9 ok",
  };
  for (const std::string& value : hostile) {
    const auto fields = parse_log_fields("handler=users event=dead_letter error=" + log_value(value) + " position=7");
    INFO(value);
    REQUIRE(fields.has_value());
    REQUIRE(fields->size() == 4);
    CHECK((*fields)[2] == LogField{"error", value});
    CHECK((*fields)[3] == LogField{"position", "7"});
  }
}

TEST_CASE("a message that is not made of fields alone has none") {
  CHECK_FALSE(parse_log_fields("").has_value());
  CHECK_FALSE(parse_log_fields("plain words").has_value());
  CHECK_FALSE(parse_log_fields("handler=users (allow_plain_http = true)").has_value());
  CHECK_FALSE(parse_log_fields("handler=users error=\"never closed").has_value());
  CHECK_FALSE(parse_log_fields("handler=users error=\"closed\"glued").has_value());
  CHECK_FALSE(parse_log_fields("Handler=users").has_value());
  CHECK_FALSE(parse_log_fields("=users").has_value());
  CHECK_FALSE(parse_log_fields("handler=us\"ers").has_value());
}
