#include <catch2/catch.hpp>

#include "config/duration.hpp"

using projectord::config::Duration;
using projectord::config::format_duration;
using projectord::config::parse_duration;

namespace {

// The parsed value; fails the test, showing the message, when `text` is rejected.
Duration parsed_duration(std::string_view text) {
  const auto result = parse_duration(text);
  INFO(text << ": " << (result ? std::string() : result.error()));
  REQUIRE(result);
  return *result;
}

}  // namespace

TEST_CASE("durations are parsed in ms, s, min and h") {
  CHECK(parsed_duration("250ms") == Duration{250});
  CHECK(parsed_duration("1s") == Duration{1'000});
  CHECK(parsed_duration("10min") == Duration{600'000});
  CHECK(parsed_duration("2h") == Duration{7'200'000});
  CHECK(parsed_duration("0ms") == Duration{0});
}

TEST_CASE("a bare 0 is the only duration without a unit") {
  CHECK(parsed_duration("0") == Duration{0});
  const auto bare = parse_duration("10");
  REQUIRE_FALSE(bare);
  CHECK_THAT(bare.error(), Catch::Contains("has no unit"));
}

TEST_CASE("malformed durations are rejected with a message saying why") {
  const auto check = [](std::string_view text, const std::string& why) {
    INFO(text);
    const auto result = parse_duration(text);
    REQUIRE_FALSE(result);
    CHECK_THAT(result.error(), Catch::Contains(why));
  };
  check("-1s", "negative");
  check("-0", "negative");
  check("5m", "unknown unit \"m\"");
  check("1d", "unknown unit");
  check("1 s", "unknown unit");
  check("1S", "unknown unit");
  check("1.5s", "unknown unit \".5s\"");
  check("", "expected an integer and a unit");
  check("s", "expected an integer and a unit");
  check(" 1s", "expected an integer and a unit");
  check("+1s", "expected an integer and a unit");
}

TEST_CASE("durations that do not fit in 64-bit milliseconds are rejected") {
  const auto digits = parse_duration("99999999999999999999ms");
  REQUIRE_FALSE(digits);
  CHECK_THAT(digits.error(), Catch::Contains("too large"));
  const auto scaled = parse_duration("9223372036854775807h");
  REQUIRE_FALSE(scaled);
  CHECK_THAT(scaled.error(), Catch::Contains("too large"));
  CHECK(parsed_duration("9223372036854775807ms") == Duration{INT64_MAX});
}

TEST_CASE("durations are formatted in the largest unit that is exact") {
  CHECK(format_duration(Duration{0}) == "0");
  CHECK(format_duration(Duration{500}) == "500ms");
  CHECK(format_duration(Duration{1'500}) == "1500ms");
  CHECK(format_duration(Duration{1'000}) == "1s");
  CHECK(format_duration(Duration{90'000}) == "90s");
  CHECK(format_duration(Duration{600'000}) == "10min");
  CHECK(format_duration(Duration{7'200'000}) == "2h");
  CHECK(format_duration(Duration{-2'000}) == "-2s");
}

TEST_CASE("formatting then parsing a duration gives it back") {
  for (const std::int64_t millis : {1LL, 999LL, 1'000LL, 61'000LL, 3'600'000LL, 86'400'000LL, 123'456'789LL}) {
    INFO(millis);
    CHECK(parsed_duration(format_duration(Duration{millis})) == Duration{millis});
  }
}
