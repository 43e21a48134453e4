// A stored row's metadata is held to the payload's rules: a JSON object within the depth limit, finite numbers.
#include <catch2/catch.hpp>
#include <string>

#include "sources/postgres/row_decoder.hpp"

using projectord::config::PostgresSource;
using projectord::sources::decode_row;
using projectord::sources::RawRow;

namespace {

PostgresSource store() {
  PostgresSource source;
  source.name = "store";
  source.codec = projectord::config::Codec::json;
  return source;
}

RawRow row_with_metadata(std::string metadata) {
  RawRow row;
  row.position = 7;
  row.type = "Noted";
  row.payload = R"({"a":1})";
  row.payload_size = static_cast<std::int64_t>(row.payload.size());
  row.metadata = std::move(metadata);
  return row;
}

}  // namespace

TEST_CASE("row metadata decodes as a JSON object, nested below the depth limit") {
  const auto event = decode_row(store(), row_with_metadata(R"({"user":{"id":[1,[2,[3]]]}})"));
  REQUIRE(event.has_value());
  CHECK(event->metadata.at("user").at("id").at(0) == 1);
}

TEST_CASE("row metadata beyond a double's range, too deep or not an object is an error naming the position") {
  CHECK(decode_row(store(), row_with_metadata(R"({"n":1e400})")).error() ==
        "source store position 7: metadata: payload holds a number beyond the range of a double (1.8e308)");
  CHECK(decode_row(store(), row_with_metadata("{\"a\":" + std::string(2000, '[') + std::string(2000, ']') + "}"))
            .error()
            .starts_with("source store position 7: metadata: JSON nested deeper than 1000 levels"));
  CHECK(decode_row(store(), row_with_metadata("[1]")).error() ==
        "source store position 7: metadata: payload is not a JSON object");
  CHECK(decode_row(store(), row_with_metadata("{"))
            .error()
            .starts_with("source store position 7: metadata: invalid JSON"));
}

TEST_CASE("row metadata that is JSON null (djangoevents' text `null`) is no metadata, as SQL NULL is") {
  for (const std::string text : {"null", " null\n"}) {
    const auto event = decode_row(store(), row_with_metadata(text));
    REQUIRE(event.has_value());
    CHECK(event->metadata == boost::json::object());
  }
}
