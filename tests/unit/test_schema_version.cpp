// Where a decoded event's schema version comes from (column, path, Redis field), and that the decoders run
// the source's upcasts, turning one that cannot apply into an error naming the event's position.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>

#include "sources/postgres/row_decoder.hpp"
#include "sources/redis/stream_entry_decoder.hpp"

namespace json = boost::json;
using projectord::config::PostgresSource;
using projectord::config::RedisSource;
using projectord::config::Upcast;
using projectord::sources::decode_entry;
using projectord::sources::decode_row;
using projectord::sources::RawRow;
using projectord::sources::StreamEntry;
using projectord::sources::StreamEntryId;

namespace {

PostgresSource journal() {
  PostgresSource source;
  source.name = "journal";
  source.codec = projectord::config::Codec::json;
  return source;
}

RawRow row_of(std::string payload, std::optional<std::int64_t> event_version = std::nullopt) {
  RawRow row;
  row.position = 9;
  row.type = "UserRegistered";
  row.payload = std::move(payload);
  row.payload_size = static_cast<std::int64_t>(row.payload.size());
  row.event_version = event_version;
  return row;
}

Upcast mail_to_email() {
  Upcast step;
  step.type = "UserRegistered";
  step.rename = {{"mail", "email"}};
  step.line = 12;
  return step;
}

}  // namespace

TEST_CASE("a row's schema version is its event_version column's, and 1 when the column is NULL or unmapped") {
  PostgresSource source = journal();
  source.event_version_column = "event_version";
  CHECK(decode_row(source, row_of(R"({"a":1})", 4))->schema_version == 4);
  CHECK(decode_row(source, row_of(R"({"a":1})"))->schema_version == 1);
  CHECK(decode_row(journal(), row_of(R"({"a":1})"))->schema_version == 1);
  CHECK(decode_row(source, row_of(R"({"a":1})", 0)).error() == "source journal position 9: schema version 0 is below 1");
}

TEST_CASE("a schema version kept in the data, as pyeventsourcing's class_version, is 1 when absent") {
  PostgresSource source = journal();
  source.event_version_path = "data.class_version";
  CHECK(decode_row(source, row_of(R"({"class_version":2,"a":1})"))->schema_version == 2);
  CHECK(decode_row(source, row_of(R"({"class_version":2})"))->data == json::parse(R"({"class_version":2})"));
  CHECK(decode_row(source, row_of(R"({"a":1})"))->schema_version == 1);
  CHECK(decode_row(source, row_of(R"({"class_version":"2"})")).error() ==
        R"(source journal position 9: data.class_version: schema version \"2\" is not an integer)");

  source.event_version_path = "metadata.schema.version";
  RawRow row = row_of(R"({"a":1})");
  row.metadata = R"({"schema":{"version":3}})";
  CHECK(decode_row(source, row)->schema_version == 3);
}

TEST_CASE("a row decoder runs the source's upcasts, and one that cannot apply makes a poison event at its position") {
  PostgresSource source = journal();
  source.upcasts = {mail_to_email()};
  const auto upcast = decode_row(source, row_of(R"({"mail":"ada@example.org"})"));
  REQUIRE(upcast.has_value());
  CHECK(upcast->schema_version == 2);
  CHECK(upcast->data == json::parse(R"({"email":"ada@example.org"})"));

  CHECK(decode_row(source, row_of(R"({"mail":"a@example.org","email":"b@example.org"})")).error() ==
        "source journal position 9: upcast of line 12 (UserRegistered from version 1) cannot apply: rename mail: "
        "'email' is already set");
}

TEST_CASE("a Redis entry's schema version is its event_version field's, 1 when missing, and upcasts run") {
  RedisSource source;
  source.name = "users";
  source.upcasts = {mail_to_email()};
  const StreamEntryId id{1700000000000, 1};
  const auto v1 = decode_entry(source, {id, {{"type", "UserRegistered"}, {"data", R"({"mail":"a@example.org"})"}}});
  REQUIRE(v1.has_value());
  CHECK(v1->schema_version == 2);
  CHECK(v1->data == json::parse(R"({"email":"a@example.org"})"));

  const auto v5 = decode_entry(
      source, {id, {{"type", "UserRegistered"}, {"event_version", "5"}, {"data", R"({"mail":"a@example.org"})"}}});
  REQUIRE(v5.has_value());
  CHECK(v5->schema_version == 5);
  CHECK(v5->data == json::parse(R"({"mail":"a@example.org"})"));

  CHECK(decode_entry(source, {id, {{"type", "T"}, {"event_version", "two"}, {"data", "{}"}}}).error() ==
        "source users entry 1700000000000-1: field 'event_version' is not a 64-bit integer: 'two'");
  CHECK(decode_entry(source, {id, {{"type", "T"}, {"event_version", "0"}, {"data", "{}"}}}).error() ==
        "source users entry 1700000000000-1: field 'event_version' schema version 0 is below 1");
}
