#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "sources/redis/stream_entry_decoder.hpp"

namespace json = boost::json;
using projectord::Event;
using projectord::config::RedisSource;
using projectord::sources::decode_entry;
using projectord::sources::StreamEntry;
using projectord::sources::StreamEntryId;

namespace {

RedisSource orders() {
  RedisSource source;
  source.name = "orders";
  source.stream = "orders-stream";
  return source;
}

constexpr StreamEntryId kId{1700000000000, 3};

// An entry of every default field, with `changes` applied: a pair with an empty value removes the field.
StreamEntry entry_with(std::vector<std::pair<std::string, std::string>> changes = {}) {
  StreamEntry entry{kId,
                    {{"type", "OrderPlaced"},
                     {"stream_id", "order-17"},
                     {"version", "4"},
                     {"data", R"({"total":12.5,"items":["a","b"]})"},
                     {"metadata", R"({"user_id":"u-1"})"},
                     {"recorded_at", "2026-11-23T22:45:39Z"}}};
  for (auto& [name, value] : changes) {
    // Captured by an init-capture: clang 14 (the sanitized trees) cannot capture a structured binding.
    std::erase_if(entry.fields, [&name = name](const auto& field) { return field.first == name; });
    if (!value.empty()) entry.fields.emplace_back(name, std::move(value));
  }
  return entry;
}

Event decoded(const StreamEntry& entry, const RedisSource& source = orders()) {
  auto event = decode_entry(source, entry);
  INFO((event ? std::string() : event.error()));
  REQUIRE(event.has_value());
  return std::move(*event);
}

// The error for an entry that must be refused; it always names the source and the entry.
std::string refused(const StreamEntry& entry, const RedisSource& source = orders()) {
  const auto event = decode_entry(source, entry);
  REQUIRE_FALSE(event.has_value());
  CHECK_THAT(event.error(), Catch::StartsWith("source " + source.name + " entry " + entry.id.text() + ": "));
  return event.error();
}

}  // namespace

TEST_CASE("the stream entry decoder maps every field to the event and the id to its position") {
  const auto event = decoded(entry_with());
  CHECK(event.source == "orders");
  CHECK(event.entry_id == "1700000000000-3");
  CHECK(event.position == *kId.position());
  CHECK(event.type == "OrderPlaced");
  CHECK(event.stream_id == "order-17");
  CHECK(event.version == 4);
  CHECK(event.data == json::parse(R"({"items":["a","b"],"total":12.5})"));
  CHECK(event.metadata == json::parse(R"({"user_id":"u-1"})"));
  CHECK(event.recorded_at == "2026-11-23T22:45:39Z");
}

TEST_CASE("optional fields missing from a stream entry take their defaults") {
  const auto event = decoded(StreamEntry{kId, {{"type", "OrderPlaced"}, {"data", "{}"}}});
  CHECK(event.type == "OrderPlaced");
  CHECK(event.stream_id.empty());
  CHECK(event.version == 0);
  CHECK(event.data == json::object());
  REQUIRE(event.metadata.is_object());
  CHECK(event.metadata.as_object().empty());
  CHECK(event.recorded_at.empty());
}

TEST_CASE("the stream entry decoder reads the source's field names and ignores other fields") {
  auto source = orders();
  source.type_field = "t";
  source.stream_id_field = "aggregate";
  source.version_field = "seq";
  source.data_field = "payload";
  source.metadata_field = "meta";
  source.recorded_at_field = "at";
  const StreamEntry entry{kId,
                          {{"type", "Ignored"},
                           {"t", "OrderShipped"},
                           {"aggregate", "order-9"},
                           {"seq", "-2"},
                           {"payload", R"({"carrier":"dhl"})"},
                           {"meta", R"({"trace":"t-1"})"},
                           {"at", "2026-01-01T00:00:00Z"},
                           {"data", "not json at all"}}};
  const auto event = decoded(entry, source);
  CHECK(event.type == "OrderShipped");
  CHECK(event.stream_id == "order-9");
  CHECK(event.version == -2);
  CHECK(event.data == json::parse(R"({"carrier":"dhl"})"));
  CHECK(event.metadata == json::parse(R"({"trace":"t-1"})"));
  CHECK(event.recorded_at == "2026-01-01T00:00:00Z");
}

TEST_CASE("a field given twice in a stream entry counts the first time") {
  auto entry = entry_with();
  entry.fields.emplace_back("type", "Other");
  CHECK(decoded(entry).type == "OrderPlaced");
}

TEST_CASE("the stream entry decoder decodes the largest version and keeps nested data whole") {
  const auto event = decoded(entry_with({{"version", "9223372036854775807"}, {"data", R"({"a":{"b":{"c":[1,{}]}}})"}}));
  CHECK(event.version == 9223372036854775807);
  CHECK(event.data.at("a").at("b").at("c").at(0) == 1);
}

TEST_CASE("a stream entry missing type or data is refused naming the field") {
  CHECK_THAT(refused(entry_with({{"type", ""}})), Catch::Contains("field 'type' is missing"));
  CHECK_THAT(refused(entry_with({{"data", ""}})), Catch::Contains("field 'data' is missing"));
  auto source = orders();
  source.data_field = "payload";
  CHECK_THAT(refused(entry_with(), source), Catch::Contains("field 'payload' is missing"));
}

TEST_CASE("stream entry data that is not a JSON object is refused naming the field and the problem") {
  const auto truncated = refused(entry_with({{"data", R"({"total":)"}}));
  CHECK_THAT(truncated, Catch::Contains("field 'data'") && Catch::Contains("invalid JSON"));
  const auto trailing = refused(entry_with({{"data", R"({"a":1} x)"}}));
  CHECK_THAT(trailing, Catch::Contains("field 'data'") && Catch::Contains("invalid JSON at offset 8"));
  for (const std::string not_object : {"[1,2]", "\"text\"", "12", "null"}) {
    INFO(not_object);
    CHECK_THAT(refused(entry_with({{"data", not_object}})),
               Catch::Contains("field 'data'") && Catch::Contains("not a JSON object"));
  }
}

TEST_CASE("stream entry metadata that is not a JSON object is refused naming the field") {
  CHECK_THAT(refused(entry_with({{"metadata", "{oops}"}})),
             Catch::Contains("field 'metadata'") && Catch::Contains("invalid JSON"));
  CHECK_THAT(refused(entry_with({{"metadata", R"(["user"])"}})),
             Catch::Contains("field 'metadata'") && Catch::Contains("not a JSON object"));
}

TEST_CASE("a stream entry version that is not a 64-bit integer is refused showing it") {
  for (const std::string version : {"1.5", "12x", " 3", "0x10", "+1", "9223372036854775808", "four"}) {
    INFO(version);
    CHECK_THAT(refused(entry_with({{"version", version}})),
               Catch::Contains("field 'version' is not a 64-bit integer: '" + version + "'"));
  }
  // An empty value is a value, not a missing field.
  auto entry = entry_with();
  std::erase_if(entry.fields, [](const auto& field) { return field.first == "version"; });
  entry.fields.emplace_back("version", "");
  CHECK_THAT(refused(entry), Catch::Contains("field 'version' is not a 64-bit integer: ''"));
  // Shown on one line and bounded: a forged log line or a megabyte field stays out of the log.
  const std::string forged = refused(entry_with({{"version", "1\nhandler=users event=admin " + std::string(5000, 'x')}}));
  CHECK(forged.find('\n') == std::string::npos);
  CHECK_THAT(forged, Catch::Contains("'1\\nhandler=users event=admin x"));
  CHECK(forged.size() < 600);
}

TEST_CASE("a stream entry whose id is beyond the positions is refused") {
  auto entry = entry_with();
  entry.id = StreamEntryId{std::uint64_t{1} << 42, 0};
  CHECK_THAT(refused(entry), Catch::Contains("beyond the positions"));
  entry.id = StreamEntryId{1, std::uint64_t{1} << 21};
  CHECK_THAT(refused(entry), Catch::Contains("beyond the positions"));
}

TEST_CASE("a stream entry deleted while pending (no fields) is refused as deleted") {
  CHECK_THAT(refused(StreamEntry{kId, {}}), Catch::Contains("deleted"));
}

TEST_CASE("a stream entry's type, stream id or time that is not UTF-8 text without NUL bytes is refused, escaped") {
  for (const std::string name : {"type", "stream_id", "recorded_at"}) {
    INFO(name);
    const auto invalid = decode_entry(orders(), entry_with({{name, "a\xff\xfe"}}));
    REQUIRE_FALSE(invalid.has_value());
    CHECK(invalid.error() == "source orders entry 1700000000000-3: field '" + name +
                                 "' is not UTF-8 text without NUL bytes: 'a\\xff\\xfe'");
    const auto nul = decode_entry(orders(), entry_with({{name, std::string("a\0b", 3)}}));
    REQUIRE_FALSE(nul.has_value());
    CHECK_THAT(nul.error(), Catch::EndsWith("is not UTF-8 text without NUL bytes: 'a\\x00b'"));
  }
  CHECK(decode_entry(orders(), entry_with({{"stream_id", "caf\xc3\xa9 \xf0\x9f\x98\x80"}})).has_value());
}
