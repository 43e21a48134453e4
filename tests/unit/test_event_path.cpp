#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "handlers/event_path.hpp"

namespace json = boost::json;
using projectord::Event;
using projectord::handlers::EventPath;

namespace {

Event sample_event() {
  Event e;
  e.source = "shop";
  e.position = 9000000001;
  e.stream_id = "0b6b0d3c-9a6e-4c2f-8d7e-1f2a3b4c5d6e";
  e.version = 3;
  e.type = "users.events:UserRegistered";
  e.recorded_at = "2024-02-07T15:32:51.123456+00:00";
  e.data = json::parse(R"({"email":"ann@example.com","age":41,"score":2.5,"active":true,"nothing":null,)"
                       R"("address":{"city":"Oslo","zip":{"code":"0150"}},"items":[{"sku":"A1"},{"sku":"B2"}],)"
                       R"("big":18446744073709551615,"neg":-7,"0":"zero"})");
  e.metadata = json::parse(R"({"user_id":"u1","headers":{"ip":"10.0.0.1"}})");
  return e;
}

EventPath path(std::string_view text) {
  auto parsed = EventPath::parse(text);
  INFO((parsed ? std::string() : parsed.error()));
  REQUIRE(parsed.has_value());
  return *parsed;
}

std::optional<std::string> eval(std::string_view text, const Event& e = sample_event()) {
  return path(text).evaluate(e);
}

std::string parse_error(std::string_view text) {
  auto parsed = EventPath::parse(text);
  REQUIRE_FALSE(parsed.has_value());
  return parsed.error();
}

}  // namespace

TEST_CASE("every scalar root evaluates to the event's field as text") {
  CHECK(eval("position") == "9000000001");
  CHECK(eval("stream_id") == "0b6b0d3c-9a6e-4c2f-8d7e-1f2a3b4c5d6e");
  CHECK(eval("version") == "3");
  CHECK(eval("type") == "users.events:UserRegistered");
  CHECK(eval("recorded_at") == "2024-02-07T15:32:51.123456+00:00");
  CHECK(eval("source") == "shop");
}

TEST_CASE("data and metadata alone evaluate to the whole value as compact JSON") {
  Event e = sample_event();
  e.data = json::parse(R"({ "a" : [1, 2], "b" : {"c" : "d"} })");
  CHECK(eval("data", e) == R"({"a":[1,2],"b":{"c":"d"}})");
  CHECK(eval("metadata", e) == R"({"user_id":"u1","headers":{"ip":"10.0.0.1"}})");
}

TEST_CASE("a data path yields strings without quotes") {
  CHECK(eval("data.email") == "ann@example.com");
  CHECK(eval("metadata.user_id") == "u1");
}

TEST_CASE("a data path descends through nested objects") {
  CHECK(eval("data.address.city") == "Oslo");
  CHECK(eval("data.address.zip.code") == "0150");
  CHECK(eval("metadata.headers.ip") == "10.0.0.1");
}

TEST_CASE("a decimal segment indexes into an array") {
  CHECK(eval("data.items.0.sku") == "A1");
  CHECK(eval("data.items.1.sku") == "B2");
  CHECK(eval("data.items.1") == R"({"sku":"B2"})");
}

TEST_CASE("a decimal segment on an object is an ordinary key") { CHECK(eval("data.0") == "zero"); }

TEST_CASE("numbers and booleans evaluate to their JSON spelling") {
  CHECK(eval("data.age") == "41");
  CHECK(eval("data.neg") == "-7");
  CHECK(eval("data.big") == "18446744073709551615");
  CHECK(eval("data.active") == "true");
  Event e = sample_event();
  e.data.as_object()["active"] = false;
  CHECK(eval("data.active", e) == "false");
  const auto score = eval("data.score");
  REQUIRE(score.has_value());
  CHECK(json::parse(*score).as_double() == 2.5);
  CHECK(*score == json::serialize(json::value(2.5)));
}

TEST_CASE("objects and arrays below data evaluate to compact JSON") {
  CHECK(eval("data.address") == R"({"city":"Oslo","zip":{"code":"0150"}})");
  CHECK(eval("data.items") == R"([{"sku":"A1"},{"sku":"B2"}])");
}

TEST_CASE("a missing key, JSON null or a step into a scalar evaluates to SQL NULL") {
  CHECK(eval("data.missing") == std::nullopt);
  CHECK(eval("data.nothing") == std::nullopt);
  CHECK(eval("data.address.country") == std::nullopt);
  CHECK(eval("data.email.domain") == std::nullopt);
  CHECK(eval("data.items.2") == std::nullopt);
  CHECK(eval("data.items.x") == std::nullopt);
  CHECK(eval("data.items.-1") == std::nullopt);
  CHECK(eval("data.items.1x") == std::nullopt);
  CHECK(eval("metadata.correlation_id") == std::nullopt);
}

TEST_CASE("an event without metadata evaluates metadata paths to SQL NULL and metadata to {}") {
  Event e = sample_event();
  e.metadata = json::object();
  CHECK(eval("metadata.user_id", e) == std::nullopt);
  CHECK(eval("metadata", e) == "{}");
}

TEST_CASE("an empty recorded_at is SQL NULL but an empty stream_id is the empty string") {
  Event e = sample_event();
  e.recorded_at.clear();
  e.stream_id.clear();
  CHECK(eval("recorded_at", e) == std::nullopt);
  const auto stream_id = eval("stream_id", e);
  REQUIRE(stream_id.has_value());
  CHECK(stream_id->empty());
}

TEST_CASE("a parsed path keeps its text") { CHECK(path("data.items.0").text() == "data.items.0"); }

TEST_CASE("parsing rejects an unknown root and names the path") {
  CHECK(parse_error("payload.email").starts_with(R"(event path "payload.email": unknown root "payload")"));
  CHECK(parse_error("").starts_with(R"(event path "": unknown root "")"));
  CHECK(parse_error(".data").starts_with(R"(event path ".data": unknown root "")"));
  CHECK(parse_error("Data").starts_with(R"(event path "Data": unknown root "Data")"));
}

TEST_CASE("parsing rejects an empty segment and names the path") {
  CHECK(parse_error("data..x") == R"(event path "data..x": empty segment)");
  CHECK(parse_error("data.") == R"(event path "data.": empty segment)");
  CHECK(parse_error("metadata.a.") == R"(event path "metadata.a.": empty segment)");
}

TEST_CASE("parsing rejects fields below a scalar root") {
  CHECK(parse_error("position.x") == R"(event path "position.x": position has no fields)");
  CHECK(parse_error("stream_id.id") == R"(event path "stream_id.id": stream_id has no fields)");
}

TEST_CASE("entry_id is a Redis event's entry id, and SQL NULL for a PostgreSQL event") {
  CHECK_FALSE(eval("entry_id").has_value());
  Event redis = sample_event();
  redis.entry_id = "1700000000000-3";
  CHECK(eval("entry_id", redis) == "1700000000000-3");
}

TEST_CASE("evaluate_json keeps JSON types below data and metadata, numbers for position and version") {
  const Event e = sample_event();
  CHECK(path("data.age").evaluate_json(e) == json::value(41));
  CHECK(path("data.active").evaluate_json(e) == json::value(true));
  CHECK(path("data.email").evaluate_json(e) == json::value("ann@example.com"));
  CHECK(path("data.address").evaluate_json(e) == json::parse(R"({"city":"Oslo","zip":{"code":"0150"}})"));
  CHECK(path("data.missing").evaluate_json(e).is_null());
  CHECK(path("metadata.user_id").evaluate_json(e) == json::value("u1"));
  CHECK(path("position").evaluate_json(e) == json::value(9000000001));
  CHECK(path("version").evaluate_json(e) == json::value(3));
  CHECK(path("stream_id").evaluate_json(e) == json::value("0b6b0d3c-9a6e-4c2f-8d7e-1f2a3b4c5d6e"));
  CHECK(path("entry_id").evaluate_json(e).is_null());
}
