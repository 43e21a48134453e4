// [daemon] log_format = "json": one JSON object per record, valid whatever the message holds.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "base/printable.hpp"
#include "daemon/logging/json_line.hpp"

using projectord::log_value;
using projectord::logging::json_log_line;

namespace {

const auto kTime = std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000123));

boost::json::object parsed(const std::string& line) {
  CHECK(line.find('\n') == std::string::npos);
  return boost::json::parse(line).as_object();
}

}  // namespace

TEST_CASE("a JSON log line carries the time, the level, the message and the message's fields") {
  const std::string message = "handler=users source=shop event=connected position=42";
  const auto line = parsed(json_log_line(kTime, spdlog::level::info, message));
  CHECK(line.at("ts").as_string() == "2023-11-14T22:13:20.123Z");
  CHECK(line.at("level").as_string() == "info");
  CHECK(line.at("msg").as_string() == message);
  CHECK(line.at("handler").as_string() == "users");
  CHECK(line.at("source").as_string() == "shop");
  CHECK(line.at("event").as_string() == "connected");
  CHECK(line.at("position").as_string() == "42");
}

TEST_CASE("a JSON log line of a message that is not made of fields has its text only") {
  const auto line = parsed(json_log_line(kTime, spdlog::level::warn, "url=http://x (allow_plain_http = true)"));
  CHECK(line.size() == 3);
  CHECK(line.at("level").as_string() == "warning");
  CHECK(line.at("msg").as_string() == "url=http://x (allow_plain_http = true)");
}

TEST_CASE("a JSON log line stays valid JSON and one record whatever an escaped value holds") {
  const std::string hostile =
      std::string("line\nbreak \"quoted\" \\ tab\t nul\0 esc\x1b bad\xff\xc3 cafe\xcc\x81", 49) + "\" handler=other";
  const std::string message = "handler=users event=dead_letter position=7 error=" + log_value(hostile);
  const auto line = parsed(json_log_line(kTime, spdlog::level::err, message));
  CHECK(line.at("handler").as_string() == "users");
  CHECK(line.at("event").as_string() == "dead_letter");
  CHECK(line.at("position").as_string() == "7");
  // The malformed bytes are spelled \xHH: JSON strings hold UTF-8 only.
  const std::string error(line.at("error").as_string());
  CHECK(error.find("line\nbreak \"quoted\"") == 0);
  CHECK(error.find("bad\\xff\\xc3 cafe\xcc\x81\" handler=other") != std::string::npos);
}

TEST_CASE("a JSON log line stays valid when the message itself holds raw control bytes and malformed UTF-8") {
  const std::string message = std::string("raw\nsecond line \"\x01\xff", 19);
  const auto line = parsed(json_log_line(kTime, spdlog::level::critical, message));
  CHECK(line.at("level").as_string() == "critical");
  CHECK(line.at("msg").as_string() == "raw\nsecond line \"\x01\\xff");
}

TEST_CASE("a message field named like a JSON line's own member or twice stays in the message only") {
  const auto line = parsed(json_log_line(kTime, spdlog::level::info, "level=forged msg=forged ts=1 event=a event=b"));
  CHECK(line.at("level").as_string() == "info");
  CHECK(line.at("ts").as_string() == "2023-11-14T22:13:20.123Z");
  CHECK(line.at("msg").as_string() == "level=forged msg=forged ts=1 event=a event=b");
  CHECK(line.at("event").as_string() == "a");
}
