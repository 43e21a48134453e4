#include <catch2/catch.hpp>

#include "config/byte_size.hpp"
#include "config/loader.hpp"
#include "handlers/registry.hpp"

using projectord::config::format_byte_size;
using projectord::config::load_config_text;
using projectord::config::parse_byte_size;

namespace {

std::int64_t parsed(std::string_view text) {
  const auto result = parse_byte_size(text);
  INFO(text << ": " << (result ? std::string() : result.error()));
  REQUIRE(result);
  return *result;
}

std::string error_of(std::string_view text) {
  const auto result = parse_byte_size(text);
  REQUIRE_FALSE(result);
  return result.error();
}

projectord::config::LoadResult load_source(const std::string& lines) {
  return load_config_text("[database]\nurl = \"postgres://localhost/app\"\n[sources.shop]\npreset = \"eventsourcing\"\n" +
                              lines,
                          "test.toml", projectord::handlers::option_table());
}

}  // namespace

TEST_CASE("byte sizes are parsed in B, KiB, MiB and GiB") {
  CHECK(parsed("512B") == 512);
  CHECK(parsed("64KiB") == 64 * 1024);
  CHECK(parsed("16MiB") == 16 * 1024 * 1024);
  CHECK(parsed("1GiB") == std::int64_t{1} << 30);
}

TEST_CASE("a byte size without a known unit, negative or too large is refused with a message saying so") {
  CHECK(error_of("16") == "byte size \"16\" has no unit: write e.g. \"16MiB\"");
  CHECK(error_of("16MB") == "byte size \"16MB\" has unknown unit \"MB\": use B, KiB, MiB or GiB");
  CHECK(error_of("-1MiB") == "byte size \"-1MiB\" is negative");
  CHECK(error_of("MiB").starts_with("invalid byte size \"MiB\""));
  CHECK(error_of("99999999999GiB") == "byte size \"99999999999GiB\" is too large");
}

TEST_CASE("a byte size is written in the largest unit that divides it") {
  CHECK(format_byte_size(16 * 1024 * 1024) == "16MiB");
  CHECK(format_byte_size(1536) == "1536B");
  CHECK(format_byte_size(2048) == "2KiB");
}

TEST_CASE("a source's max_event_bytes is 16MiB unless set, and is bounded") {
  const auto defaulted = load_source("");
  REQUIRE(defaulted.errors.empty());
  CHECK(defaulted.config.postgres_sources.at("shop").max_event_bytes == std::size_t{16} << 20);
  const auto set = load_source("max_event_bytes = \"64MiB\"\n");
  REQUIRE(set.errors.empty());
  CHECK(set.config.postgres_sources.at("shop").max_event_bytes == std::size_t{64} << 20);
  const auto too_big = load_source("max_event_bytes = \"1GiB\"\n");
  REQUIRE(too_big.errors.size() == 1);
  CHECK(too_big.errors.front() ==
        "test.toml:5: sources.shop.max_event_bytes: must be between 1KiB and 256MiB, got \"1GiB\"");
}
