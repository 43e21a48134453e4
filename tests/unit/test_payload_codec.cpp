#include <zlib.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>

#include "sources/payload_codec.hpp"

namespace json = boost::json;
using projectord::config::Codec;
using projectord::sources::decode_payload;
using projectord::sources::unescape_bytea;

namespace {

// What Python's zlib.compress(data) writes: default level, zlib header and adler32 trailer.
std::string zlib_compress(std::string_view plain) {
  uLongf size = compressBound(plain.size());
  std::string out(size, '\0');
  const int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(plain.data()),
                           plain.size(), Z_DEFAULT_COMPRESSION);
  REQUIRE(rc == Z_OK);
  out.resize(size);
  return out;
}

// The default of a source's max_event_bytes.
constexpr std::size_t kMaxBytes = std::size_t{16} << 20;

json::value decoded(Codec codec, std::string_view bytes, std::size_t max_bytes = kMaxBytes) {
  auto result = decode_payload(codec, bytes, max_bytes);
  INFO((result ? std::string() : result.error()));
  REQUIRE(result.has_value());
  return *result;
}

std::string error_of(Codec codec, std::string_view bytes, std::size_t max_bytes = kMaxBytes) {
  auto result = decode_payload(codec, bytes, max_bytes);
  REQUIRE_FALSE(result.has_value());
  return result.error();
}

std::string unescaped(std::string_view text) {
  auto result = unescape_bytea(text);
  INFO((result ? std::string() : result.error()));
  REQUIRE(result.has_value());
  return *result;
}

constexpr std::string_view kCreatedState =
    R"({"timestamp":{"_type_":"datetime_iso","_data_":"2024-02-07T15:32:51.123456+00:00"},)"
    R"("originator_topic":"myapp.domain:World"})";

}  // namespace

TEST_CASE("the json codec decodes a JSON object payload") {
  const json::value v = decoded(Codec::json, R"({"email":"ann@example.com","age":41,"tags":["a","b"]})");
  CHECK(v.at("email") == "ann@example.com");
  CHECK(v.at("age") == 41);
  CHECK(v.at("tags") == json::array{"a", "b"});
}

TEST_CASE("the json codec leaves transcoder markers alone") {
  const json::value v = decoded(Codec::json, kCreatedState);
  CHECK(v.at("timestamp").at("_type_") == "datetime_iso");
}

TEST_CASE("the json codec rejects a payload that is not a JSON object") {
  for (const std::string_view bytes : {"[1,2]", "42", "\"text\"", "null", "true"}) {
    INFO(bytes);
    CHECK(error_of(Codec::json, bytes) == "payload is not a JSON object");
  }
}

TEST_CASE("the json codec reports invalid JSON with the offset of the bad byte") {
  CHECK(error_of(Codec::json, R"({"a":1,})").starts_with("invalid JSON at offset 7: "));
  CHECK(error_of(Codec::json, R"({"a":1} x)").starts_with("invalid JSON at offset 8: "));
  CHECK(error_of(Codec::json, R"({"a":)").starts_with("invalid JSON at offset 5: "));
  CHECK(error_of(Codec::json, "").starts_with("invalid JSON at offset 0: "));
}

TEST_CASE("the json codec decodes a good payload right after a bad one") {
  CHECK_FALSE(decode_payload(Codec::json, R"({"a":)", kMaxBytes).has_value());
  CHECK(decoded(Codec::json, R"({"a":2})").at("a") == 2);
}

TEST_CASE("the json_zlib codec inflates real zlib output before parsing it") {
  const std::string compressed = zlib_compress(R"({"user_id":"u1","email":"ann@example.com"})");
  REQUIRE(compressed.size() > 2);
  CHECK(static_cast<unsigned char>(compressed[0]) == 0x78);
  CHECK(static_cast<unsigned char>(compressed[1]) == 0x9C);
  const json::value v = decoded(Codec::json_zlib, compressed);
  CHECK(v == json::parse(R"({"user_id":"u1","email":"ann@example.com"})"));
}

TEST_CASE("the json_zlib codec inflates a payload larger than one inflate chunk") {
  std::string plain = R"({"blob":")";
  plain.append(100000, 'x');
  plain += R"("})";
  const json::value v = decoded(Codec::json_zlib, zlib_compress(plain));
  CHECK(v.at("blob").as_string().size() == 100000);
}

TEST_CASE("the json_zlib codec rejects a truncated zlib stream") {
  const std::string compressed = zlib_compress(kCreatedState);
  SECTION("cut in the middle of the data") {
    CHECK(error_of(Codec::json_zlib, compressed.substr(0, compressed.size() / 2)) == "zlib: truncated stream");
  }
  SECTION("cut before the checksum, after all the JSON") {
    CHECK(error_of(Codec::json_zlib, compressed.substr(0, compressed.size() - 4)) == "zlib: truncated stream");
  }
  SECTION("empty") { CHECK(error_of(Codec::json_zlib, "") == "zlib: truncated stream"); }
}

TEST_CASE("the json_zlib codec rejects bytes that are not a zlib stream") {
  CHECK(error_of(Codec::json_zlib, R"({"a":1})").starts_with("zlib: corrupt stream: "));
  CHECK(error_of(Codec::json_zlib, std::string("\x78\x9c\xff\xff\xff\xff\xff\xff", 8))
            .starts_with("zlib: corrupt stream: "));
}

TEST_CASE("the json_zlib codec rejects bytes after the end of the zlib stream") {
  CHECK(error_of(Codec::json_zlib, zlib_compress(R"({"a":1})") + "junk") ==
        "zlib: unexpected bytes after the end of the stream");
}

TEST_CASE("the json_zlib codec rejects a zlib stream that inflates to something other than an object") {
  CHECK(error_of(Codec::json_zlib, zlib_compress("[1,2,3]")) == "payload is not a JSON object");
  CHECK(error_of(Codec::json_zlib, zlib_compress("{oops}")).starts_with("invalid JSON at offset 1: "));
}

TEST_CASE("the json_zlib codec refuses a zlib bomb once it inflates beyond max_event_bytes") {
  // Whitespace is valid JSON between tokens, so only the size bound can stop this one.
  std::string plain = "{";
  plain.append(kMaxBytes + 1, ' ');
  plain += "}";
  const std::string bomb = zlib_compress(plain);
  REQUIRE(bomb.size() < (std::size_t{1} << 20));
  CHECK(error_of(Codec::json_zlib, bomb) == "zlib: payload inflates beyond max_event_bytes (16MiB)");
}

TEST_CASE("the json_zlib codec inflates a payload to exactly max_event_bytes") {
  std::string plain = "{";
  plain.append(1022, ' ');
  plain += "}";
  CHECK(decoded(Codec::json_zlib, zlib_compress(plain), 1024).as_object().empty());
  CHECK(error_of(Codec::json_zlib, zlib_compress(plain + " "), 1024) ==
        "zlib: payload inflates beyond max_event_bytes (1KiB)");
}

TEST_CASE("a payload over max_event_bytes is refused before it is parsed, naming its size and the limit") {
  std::string payload = R"({"blob":")";
  payload.append(2048, 'x');
  payload += R"("})";
  for (const Codec codec : {Codec::json, Codec::json_zlib, Codec::eventsourcing_json}) {
    CHECK(error_of(codec, payload, 2048) == "payload of 2059 bytes is over max_event_bytes (2KiB)");
  }
  CHECK(decoded(Codec::json, payload, payload.size()).at("blob").as_string().size() == 2048);
}

TEST_CASE("JSON nested deeper than the depth cap is refused where it goes too deep") {
  const std::string deep(1'000'000, '[');
  const std::string expected = "JSON nested deeper than 1000 levels at offset 1000";
  CHECK(error_of(Codec::json, deep) == expected);
  CHECK(error_of(Codec::json_zlib, zlib_compress(deep)) == expected);
  // The object is the first level: its 1,000th array is one too many.
  CHECK(error_of(Codec::json, "{\"a\":" + deep) == "JSON nested deeper than 1000 levels at offset 1004");
}

TEST_CASE("JSON nested as deep as the depth cap decodes") {
  const std::size_t arrays = projectord::sources::kMaxJsonDepth - 1;  // inside the payload's object
  const std::string payload = "{\"a\":" + std::string(arrays, '[') + std::string(arrays, ']') + "}";
  const json::value v = decoded(Codec::eventsourcing_json, payload);
  const json::value* inner = &v.at("a");
  std::size_t depth = 1;
  while (!inner->as_array().empty()) {
    inner = &inner->as_array().front();
    ++depth;
  }
  CHECK(depth == arrays);
}

TEST_CASE("the eventsourcing_json codec decodes pyeventsourcing's Created event state") {
  const json::value v = decoded(Codec::eventsourcing_json, kCreatedState);
  CHECK(v ==
        json::parse(R"({"timestamp":"2024-02-07T15:32:51.123456+00:00","originator_topic":"myapp.domain:World"})"));
}

TEST_CASE("the eventsourcing_json codec turns uuid_hex markers into dashed lower-case UUIDs") {
  const json::value v = decoded(Codec::eventsourcing_json,
                                R"({"id":{"_type_":"uuid_hex","_data_":"0b6b0d3c9a6e4c2f8d7e1f2a3b4c5d6e"},)"
                                R"("upper":{"_type_":"uuid_hex","_data_":"0B6B0D3C9A6E4C2F8D7E1F2A3B4C5D6E"}})");
  CHECK(v.at("id") == "0b6b0d3c-9a6e-4c2f-8d7e-1f2a3b4c5d6e");
  CHECK(v.at("upper") == "0b6b0d3c-9a6e-4c2f-8d7e-1f2a3b4c5d6e");
}

TEST_CASE("the eventsourcing_json codec keeps a decimal_str marker's string as it is") {
  const json::value v = decoded(Codec::eventsourcing_json, R"({"amount":{"_type_":"decimal_str","_data_":"12.50"}})");
  CHECK(v.at("amount") == "12.50");
}

TEST_CASE("the eventsourcing_json codec decodes markers nested in arrays and objects") {
  const json::value v =
      decoded(Codec::eventsourcing_json, R"({"order":{"lines":[{"price":{"_type_":"decimal_str","_data_":"1.10"}},)"
                                         R"([{"_type_":"uuid_hex","_data_":"00000000000000000000000000000001"}]],)"
                                         R"("at":{"_type_":"datetime_iso","_data_":"2024-02-07T15:32:51+00:00"}}})");
  CHECK(v == json::parse(R"({"order":{"lines":[{"price":"1.10"},["00000000-0000-0000-0000-000000000001"]],)"
                         R"("at":"2024-02-07T15:32:51+00:00"}})"));
}

TEST_CASE("the eventsourcing_json codec passes a marker with an unknown name through unchanged") {
  constexpr std::string_view kPayload = R"({"colour":{"_type_":"myapp_colour","_data_":{"r":1,"g":2,"b":3}}})";
  CHECK(decoded(Codec::eventsourcing_json, kPayload) == json::parse(kPayload));
}

TEST_CASE("the eventsourcing_json codec decodes known markers inside an unknown marker's data") {
  const json::value v = decoded(
      Codec::eventsourcing_json,
      R"({"x":{"_type_":"myapp_point","_data_":{"at":{"_type_":"datetime_iso","_data_":"2024-01-01T00:00:00"}}}})");
  CHECK(v.at("x").at("_type_") == "myapp_point");
  CHECK(v.at("x").at("_data_").at("at") == "2024-01-01T00:00:00");
}

TEST_CASE("the eventsourcing_json codec treats only objects of exactly _type_ and _data_ as markers") {
  constexpr std::string_view kPayload =
      R"({"a":{"_type_":"uuid_hex","_data_":"not hex","extra":1},"b":{"_type_":"uuid_hex"},)"
      R"("c":{"_type_":7,"_data_":"x"}})";
  CHECK(decoded(Codec::eventsourcing_json, kPayload) == json::parse(kPayload));
}

TEST_CASE("the eventsourcing_json codec rejects a known marker whose _data_ has the wrong type") {
  CHECK(error_of(Codec::eventsourcing_json, R"({"id":{"_type_":"uuid_hex","_data_":42}})") ==
        "transcoder marker uuid_hex: _data_ is not 32 hex digits");
  CHECK(error_of(Codec::eventsourcing_json,
                 R"({"id":{"_type_":"uuid_hex","_data_":"0b6b0d3c9a6e4c2f8d7e1f2a3b4c5d6"}})") ==
        "transcoder marker uuid_hex: _data_ is not 32 hex digits");
  CHECK(error_of(Codec::eventsourcing_json,
                 R"({"id":{"_type_":"uuid_hex","_data_":"0b6b0d3c9a6e4c2f8d7e1f2a3b4c5d6g"}})") ==
        "transcoder marker uuid_hex: _data_ is not 32 hex digits");
  CHECK(error_of(Codec::eventsourcing_json, R"({"at":[{"_type_":"datetime_iso","_data_":1707319971}]})") ==
        "transcoder marker datetime_iso: _data_ is not a string");
  CHECK(error_of(Codec::eventsourcing_json, R"({"n":{"_type_":"decimal_str","_data_":12.5}})") ==
        "transcoder marker decimal_str: _data_ is not a string");
}

TEST_CASE("the eventsourcing_json_zlib codec inflates and then decodes markers") {
  const std::string compressed = zlib_compress(kCreatedState);
  CHECK(static_cast<unsigned char>(compressed[0]) == 0x78);
  const json::value v = decoded(Codec::eventsourcing_json_zlib, compressed);
  CHECK(v.at("timestamp") == "2024-02-07T15:32:51.123456+00:00");
  CHECK(v.at("originator_topic") == "myapp.domain:World");
}

TEST_CASE("unescape_bytea decodes PostgreSQL's hex bytea text") {
  CHECK(unescaped(R"(\x7b2261223a317d)") == R"({"a":1})");
  CHECK(unescaped(R"(\x789CFF00)") == std::string("\x78\x9c\xff\x00", 4));
  CHECK(unescaped(R"(\x)").empty());
}

TEST_CASE("unescape_bytea returns text that is not hex bytea unchanged") {
  CHECK(unescaped(R"({"a":1})") == R"({"a":1})");
  CHECK(unescaped("").empty());
}

TEST_CASE("unescape_bytea rejects an odd number of hex digits or a bad digit") {
  const auto odd = unescape_bytea(R"(\x7b2)");
  REQUIRE_FALSE(odd.has_value());
  CHECK(odd.error() == "bytea: odd number of hex digits");
  const auto bad = unescape_bytea(R"(\x7bz2)");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error() == "bytea: bad hex digit at offset 4");
}

TEST_CASE("a bytea column of zlib'd eventsourcing JSON decodes end to end") {
  const std::string compressed = zlib_compress(kCreatedState);
  std::string hex = "\\x";
  for (const unsigned char c : compressed) {
    constexpr std::string_view kDigits = "0123456789abcdef";
    hex += kDigits[c >> 4];
    hex += kDigits[c & 15];
  }
  CHECK(decoded(Codec::eventsourcing_json_zlib, unescaped(hex)).at("timestamp") == "2024-02-07T15:32:51.123456+00:00");
}

TEST_CASE(
    "a number beyond a double's range is refused, one beyond 64 bits becomes a double, a duplicate key's last "
    "value counts") {
  for (const Codec codec : {Codec::json, Codec::eventsourcing_json}) {
    CHECK(error_of(codec, R"({"n":1e400})") == "payload holds a number beyond the range of a double (1.8e308)");
    CHECK(error_of(codec, R"({"a":[{"n":-1e999}]})") ==
          "payload holds a number beyond the range of a double (1.8e308)");
  }
  CHECK(decoded(Codec::json, R"({"n":123456789012345678901234567890})").at("n").as_double() == 1.2345678901234568e29);
  CHECK(decoded(Codec::json, R"({"n":1e-400})").at("n").as_double() == 0.0);
  CHECK(decoded(Codec::json, R"({"k":1,"k":2})").at("k") == 2);
}

TEST_CASE("NaN and infinity spellings are not JSON") {
  for (const std::string spelling : {"NaN", "Infinity", "-Infinity", "nan"}) {
    const std::string error = error_of(Codec::json, R"({"n":)" + spelling + "}");
    CHECK_THAT(error, Catch::StartsWith("invalid JSON at offset ") && Catch::EndsWith("syntax error"));
  }
}
