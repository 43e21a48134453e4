// Outside text in log lines and error messages: one line, bounded, escaped.
#include <catch2/catch.hpp>
#include <string>

#include "base/printable.hpp"
#include "daemon/control_channel.hpp"

using projectord::parse_control;
using projectord::printable;

TEST_CASE("printable text escapes control characters, quotes and backslashes and keeps the rest") {
  CHECK(printable("users") == "users");
  CHECK(printable("a\nb\r\tc") == "a\\nb\\r\\tc");
  CHECK(printable(std::string("x\0y\x1b\x7f", 5)) == "x\\x00y\\x1b\\x7f");
  CHECK(printable("say \"hi\" \\ bye") == "say \\\"hi\\\" \\\\ bye");
  CHECK(printable("caf\xc3\xa9") == "caf\xc3\xa9");
}

TEST_CASE("printable text is cut after its bound and says how much was left out") {
  CHECK(printable(std::string(1000, 'a'), 10) == "aaaaaaaaaa...(990 more bytes)");
  CHECK(printable("short", 10) == "short");
}

TEST_CASE("a NOTIFY payload with a newline or a huge handler name yields a one-line, bounded error") {
  const auto forged = parse_control("pause users\nevent=admin action=drop handler=orders");
  REQUIRE_FALSE(forged.has_value());
  CHECK(forged.error().find('\n') == std::string::npos);

  const auto huge = parse_control("pause " + std::string(100000, 'x') + " y");
  REQUIRE_FALSE(huge.has_value());
  CHECK(huge.error().size() < 400);

  const auto action = parse_control(std::string(5000, '\n'));
  REQUIRE_FALSE(action.has_value());
  CHECK(action.error().find('\n') == std::string::npos);
  CHECK(action.error().size() < 400);
}

TEST_CASE("a log value is written as it is when it is one word, otherwise quoted and escaped") {
  using projectord::log_value;
  CHECK(log_value("users") == "users");
  CHECK(log_value("/etc/projectord/projectord.toml") == "/etc/projectord/projectord.toml");
  CHECK(log_value("/status?handler=users") == "/status?handler=users");
  CHECK(log_value("caf\xc3\xa9") == "caf\xc3\xa9");
  CHECK(log_value("connection refused") == "\"connection refused\"");
  CHECK(log_value("") == "\"\"");
  CHECK(log_value("a\"b") == "\"a\\\"b\"");
  CHECK(log_value("a\\b") == "\"a\\\\b\"");
  CHECK(log_value("bad\xff") == "\"bad\\xff\"");
  CHECK(log_value("x\n handler=other") == "\"x\\n handler=other\"");
  CHECK(log_value(std::string(30, 'a'), 10) == "\"aaaaaaaaaa...(20 more bytes)\"");
}
