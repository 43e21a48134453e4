#include <catch2/catch.hpp>

#include "base/redis/url.hpp"

using projectord::redis::parse_redis_url;
using projectord::redis::RedisUrl;

namespace {

// The parsed URL; fails the test, showing the message, when `text` is rejected.
RedisUrl parsed_url(std::string_view text) {
  const auto result = parse_redis_url(text);
  INFO(text << ": " << (result ? std::string() : result.error()));
  REQUIRE(result.has_value());
  return *result;
}

// The error for `text`, which must be rejected.
std::string rejected(std::string_view text) {
  const auto result = parse_redis_url(text);
  INFO(text);
  REQUIRE_FALSE(result.has_value());
  return result.error();
}

}  // namespace

TEST_CASE("a redis URL with a host alone takes port 6379 and database 0 with no credentials") {
  const auto url = parsed_url("redis://cache.internal");
  CHECK(url.host == "cache.internal");
  CHECK(url.port == 6379);
  CHECK(url.unix_path.empty());
  CHECK(url.user.empty());
  CHECK(url.password.empty());
  CHECK(url.db == 0);
  CHECK(url.endpoint() == "cache.internal:6379");
}

TEST_CASE("a redis URL's port, database and percent-decoded user and password are read") {
  const auto url = parsed_url("redis://app:p%40ss%3Aword@10.0.0.5:6380/3");
  CHECK(url.host == "10.0.0.5");
  CHECK(url.port == 6380);
  CHECK(url.user == "app");
  CHECK(url.password == "p@ss:word");
  CHECK(url.db == 3);
  CHECK(url.endpoint() == "10.0.0.5:6380");
}

TEST_CASE("a redis URL with a password without a user authenticates as the default user") {
  const auto url = parsed_url("redis://:secret@localhost/");
  CHECK(url.user.empty());
  CHECK(url.password == "secret");
  CHECK(url.db == 0);
}

TEST_CASE("a redis URL's IPv6 host loses its brackets and the endpoint puts them back") {
  const auto url = parsed_url("redis://[::1]:7000");
  CHECK(url.host == "::1");
  CHECK(url.port == 7000);
  CHECK(url.endpoint() == "[::1]:7000");
}

TEST_CASE("a unix:// redis URL names a socket path and may choose the database") {
  const auto url = parsed_url("unix:///run/redis/redis.sock?db=2");
  CHECK(url.unix_path == "/run/redis/redis.sock");
  CHECK(url.host.empty());
  CHECK(url.db == 2);
  CHECK(url.endpoint() == "/run/redis/redis.sock");
  CHECK(parsed_url("unix:///tmp/r.sock").db == 0);
}

TEST_CASE("a rediss:// redis URL is refused because TLS is not supported") {
  CHECK_THAT(rejected("rediss://:secret@host:6380"), Catch::Contains("TLS") && Catch::Contains("not supported"));
}

TEST_CASE("malformed redis URLs are rejected with a message naming the part that is wrong") {
  CHECK_THAT(rejected("http://host"), Catch::Contains("unknown scheme 'http'"));
  CHECK_THAT(rejected("redis://host:0"), Catch::Contains("port"));
  CHECK_THAT(rejected("redis://host:65536"), Catch::Contains("port"));
  CHECK_THAT(rejected("redis://host:12ab"), Catch::Contains("port"));
  CHECK_THAT(rejected("redis://host/x"), Catch::Contains("database"));
  CHECK_THAT(rejected("redis://host/-1"), Catch::Contains("database"));
  CHECK_THAT(rejected("redis://host/1/2"), Catch::Contains("database"));
  CHECK_THAT(rejected("redis://host?db=1"), Catch::Contains("query"));
  CHECK_THAT(rejected("redis:///0"), Catch::Contains("host"));
  CHECK_THAT(rejected("unix://host/tmp/r.sock"), Catch::Contains("no host"));
  CHECK_THAT(rejected("unix:///tmp/r.sock?db=x"), Catch::Contains("database"));
  CHECK_THAT(rejected("unix:///tmp/r.sock?timeout=1"), Catch::Contains("unknown parameter 'timeout'"));
  CHECK_THAT(rejected("not a url"), Catch::Contains("not a valid URL"));
}

TEST_CASE("no redis URL error message contains the password") {
  for (const char* text : {"redis://user:hunter2@host:99999", "redis://:hunter2@host/abc", "redis://hunter2@host",
                           "rediss://:hunter2@host", "redis://:hunter2@host?x=1", "redis://:hunter2@host#frag",
                           "redis://:hunter2@ho st", "ftp://:hunter2@host"}) {
    const auto error = rejected(text);
    INFO(text << " -> " << error);
    CHECK(error.find("hunter2") == std::string::npos);
  }
}
