#include <catch2/catch.hpp>

#include "config/byte_size.hpp"
#include "config/loader.hpp"
#include "handlers/registry.hpp"

using projectord::config::format_byte_size;
using projectord::config::load_config_text;
using projectord::config::parse_byte_size;

namespace {

std::int64_t parsed_size(std::string_view text) {
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
  CHECK(parsed_size("512B") == 512);
  CHECK(parsed_size("64KiB") == 64 * 1024);
  CHECK(parsed_size("16MiB") == 16 * 1024 * 1024);
  CHECK(parsed_size("1GiB") == std::int64_t{1} << 30);
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

TEST_CASE("a users handler's fold_memory is 256MiB unless set, is bounded, and belongs to the users kind alone") {
  const auto handler = [](const std::string& kind, const std::string& lines) {
    return load_source("[handlers.h]\nkind = \"" + kind + "\"\n" + lines);
  };
  const auto defaulted = handler("users", "");
  REQUIRE(defaulted.errors.empty());
  CHECK(defaulted.config.handlers.at("h").option<std::int64_t>("fold_memory") == std::int64_t{256} << 20);
  const auto set = handler("users", "fold_memory = \"1GiB\"\n");
  REQUIRE(set.errors.empty());
  CHECK(set.config.handlers.at("h").option<std::int64_t>("fold_memory") == std::int64_t{1} << 30);
  const auto too_small = handler("users", "fold_memory = \"1KiB\"\n");
  REQUIRE(too_small.errors.size() == 1);
  CHECK(too_small.errors.front() == "test.toml:7: handlers.h.fold_memory: must be between 64KiB and 64GiB, got \"1KiB\"");
  const auto elsewhere = handler("event_log", "fold_memory = \"1GiB\"\n");
  REQUIRE(elsewhere.errors.size() == 1);
  CHECK_THAT(elsewhere.errors.front(), Catch::Matchers::Contains("fold_memory"));
}
