// The aes codecs against payloads pyeventsourcing's AESCipher wrote (tests/vectors/cipher_vectors.json, made by
// tests/vectors/make_cipher_vectors.py with PyCryptodome) and against what a wrong key or a damaged payload
// makes of them: each a poison error that says why and never shows the key.
#include <zlib.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "config/cipher_key.hpp"
#include "sources/payload_codec.hpp"
#include "tests/support/aescipher.hpp"

namespace json = boost::json;
using projectord::config::CipherKey;
using projectord::config::Codec;
using projectord::sources::decode_payload;
using projectord::testing::aescipher_encrypt;
using projectord::testing::base64;

namespace {

constexpr std::size_t kMaxEventBytes = std::size_t{16} << 20;

// Printable, so that a leak of the raw key into a message would be found by a plain search.
const std::string kKey = "aes-codec-test-key-0123456789abc";  // 32 bytes
const std::string kOtherKey = "another-test-key-0123456789abcde";

CipherKey key_of(const std::string& raw) {
  auto key = CipherKey::from_base64(base64(raw));
  REQUIRE(key.has_value());
  return *key;
}

std::string hex_decoded(std::string_view hex) {
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return bytes;
}

std::string zlib_compressed(std::string_view plain) {
  uLongf size = compressBound(plain.size());
  std::string out(size, '\0');
  REQUIRE(compress2(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(plain.data()),
                    plain.size(), Z_DEFAULT_COMPRESSION) == Z_OK);
  out.resize(size);
  return out;
}

// The error of decoding `bytes` under kKey, checked to show neither the key nor its base64.
std::string keyed_error_of(Codec codec, std::string_view bytes, std::size_t max_bytes = kMaxEventBytes) {
  const auto result = decode_payload(codec, bytes, max_bytes, key_of(kKey));
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().find(kKey) == std::string::npos);
  CHECK(result.error().find(base64(kKey)) == std::string::npos);
  return result.error();
}

constexpr std::string_view kState = R"({"user_id":{"_type_":"uuid_hex","_data_":"6c1f9a528b1e4f0a9d330e2f5a7b4c19"},)"
                                    R"("email":"ann@example.com"})";

}  // namespace

TEST_CASE("every AESCipher vector decodes to its event data, for both aes codecs and every key size") {
  std::ifstream file(std::string(PROJECTORD_SOURCE_DIR) + "/tests/vectors/cipher_vectors.json");
  REQUIRE(file);
  std::stringstream text;
  text << file.rdbuf();
  const json::value vectors = json::parse(text.str());
  std::set<std::pair<std::string, std::size_t>> covered;
  for (const json::value& vector : vectors.at("vectors").as_array()) {
    const std::string codec_name(vector.at("codec").as_string());
    const Codec codec =
        codec_name == "eventsourcing_json_aes" ? Codec::eventsourcing_json_aes : Codec::eventsourcing_json_zlib_aes;
    auto key = CipherKey::from_base64(vector.at("key").as_string());
    REQUIRE(key.has_value());
    INFO(codec_name << " with a " << key->bytes().size() << "-byte key");
    const auto decoded = decode_payload(codec, hex_decoded(vector.at("payload").as_string()), kMaxEventBytes, *key);
    INFO((decoded ? std::string() : decoded.error()));
    REQUIRE(decoded.has_value());
    CHECK(*decoded == vector.at("expected"));
    covered.emplace(codec_name, key->bytes().size());
  }
  CHECK(covered == std::set<std::pair<std::string, std::size_t>>{{"eventsourcing_json_aes", 16},
                                                                 {"eventsourcing_json_aes", 24},
                                                                 {"eventsourcing_json_aes", 32},
                                                                 {"eventsourcing_json_zlib_aes", 16},
                                                                 {"eventsourcing_json_zlib_aes", 24},
                                                                 {"eventsourcing_json_zlib_aes", 32}});
}

TEST_CASE("the aes codecs decode what is encrypted at run time, transcoder markers and zlib included") {
  const std::string payload = aescipher_encrypt(kKey, kState);
  const auto plain = decode_payload(Codec::eventsourcing_json_aes, payload, kMaxEventBytes, key_of(kKey));
  REQUIRE(plain.has_value());
  CHECK(plain->at("user_id") == "6c1f9a52-8b1e-4f0a-9d33-0e2f5a7b4c19");
  const std::string compressed = aescipher_encrypt(kKey, zlib_compressed(kState));
  const auto inflated = decode_payload(Codec::eventsourcing_json_zlib_aes, compressed, kMaxEventBytes, key_of(kKey));
  REQUIRE(inflated.has_value());
  CHECK(*inflated == *plain);
}

TEST_CASE("a payload encrypted under another key fails authentication") {
  const std::string payload = aescipher_encrypt(kOtherKey, kState);
  CHECK(keyed_error_of(Codec::eventsourcing_json_aes, payload) ==
        "AES-GCM authentication failed: wrong key or tampered payload");
}

TEST_CASE("a payload with a changed tag, nonce or ciphertext byte fails authentication") {
  const std::string payload = aescipher_encrypt(kKey, zlib_compressed(kState));
  for (const std::size_t at :
       {std::size_t{0}, std::size_t{11}, std::size_t{12}, std::size_t{27}, std::size_t{28}, payload.size() - 1}) {
    INFO("byte " << at << " flipped");
    std::string tampered = payload;
    tampered[at] = static_cast<char>(tampered[at] ^ 0x01);
    CHECK(keyed_error_of(Codec::eventsourcing_json_zlib_aes, tampered) ==
          "AES-GCM authentication failed: wrong key or tampered payload");
  }
}

TEST_CASE("a payload cut short fails authentication, and one shorter than nonce and tag is refused as such") {
  const std::string payload = aescipher_encrypt(kKey, kState);
  CHECK(keyed_error_of(Codec::eventsourcing_json_aes, payload.substr(0, payload.size() - 1)) ==
        "AES-GCM authentication failed: wrong key or tampered payload");
  CHECK(keyed_error_of(Codec::eventsourcing_json_aes, payload.substr(0, 28)) ==
        "AES-GCM authentication failed: wrong key or tampered payload");
  CHECK(keyed_error_of(Codec::eventsourcing_json_aes, payload.substr(0, 27)) ==
        "AES-GCM: payload of 27 bytes is shorter than its nonce and tag (28 bytes)");
  CHECK(keyed_error_of(Codec::eventsourcing_json_zlib_aes, "") ==
        "AES-GCM: payload of 0 bytes is shorter than its nonce and tag (28 bytes)");
}

TEST_CASE("the zlib aes codec refuses a payload that inflates beyond max_event_bytes once decrypted") {
  const std::string big = R"({"padding":")" + std::string(4096, 'x') + R"("})";
  const std::string payload = aescipher_encrypt(kKey, zlib_compressed(big));
  REQUIRE(payload.size() < 1024);
  CHECK(keyed_error_of(Codec::eventsourcing_json_zlib_aes, payload, 1024) ==
        "zlib: payload inflates beyond max_event_bytes (1KiB)");
  CHECK(decode_payload(Codec::eventsourcing_json_zlib_aes, payload, 8192, key_of(kKey)).has_value());
}

TEST_CASE("an aes codec decrypts a payload of exactly max_event_bytes and refuses one byte more") {
  const std::size_t limit = 1024;
  const std::string padding(limit - 28 - std::string_view(R"({"p":""})").size(), 'x');
  const std::string payload = aescipher_encrypt(kKey, R"({"p":")" + padding + R"("})");
  REQUIRE(payload.size() == limit);
  CHECK(decode_payload(Codec::eventsourcing_json_aes, payload, limit, key_of(kKey)).has_value());
  CHECK(keyed_error_of(Codec::eventsourcing_json_aes, payload + "x", limit) ==
        "payload of 1025 bytes is over max_event_bytes (1KiB)");
}

TEST_CASE("an aes codec without a key refuses every payload") {
  const std::string payload = aescipher_encrypt(kKey, kState);
  const auto result = decode_payload(Codec::eventsourcing_json_aes, payload, kMaxEventBytes);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error() == "AES-GCM: the source has no cipher key");
}

TEST_CASE("a cipher key is the base64 of 16, 24 or 32 bytes, and its errors never quote it") {
  for (const std::size_t size : {16, 24, 32}) {
    const auto key = CipherKey::from_base64(base64(std::string(size, 'k')));
    REQUIRE(key.has_value());
    CHECK(key->bytes().size() == size);
  }
  // Line breaks inside the text are skipped, as Python's b64decode skips them.
  const std::string encoded = base64(kKey);
  const auto wrapped = CipherKey::from_base64(encoded.substr(0, 20) + "\n" + encoded.substr(20) + "\n");
  REQUIRE(wrapped.has_value());
  CHECK(*wrapped == key_of(kKey));
  const std::string why = "is not the base64 of a 16, 24 or 32-byte AES key: ";
  CHECK(CipherKey::from_base64(base64(std::string(15, 'k'))).error() == why + "it decodes to 15 bytes");
  CHECK(CipherKey::from_base64(base64(std::string(33, 'k'))).error() == why + "it decodes to 33 bytes");
  CHECK(CipherKey::from_base64("").error() == why + "it is empty");
  CHECK(CipherKey::from_base64("not*base64*at*all").error() == why + "it is not valid base64");
  CHECK(CipherKey::from_base64(std::string(200, 'A')).error() == why + "it is longer than 128");
}

TEST_CASE("copies of a cipher key are equal to it and a different key is not") {
  const CipherKey key = key_of(kKey);
  const CipherKey copy = key;  // NOLINT(performance-unnecessary-copy-initialization): the copy is the point
  CHECK(copy == key);
  CHECK_FALSE(key_of(kOtherKey) == key);
  CHECK_FALSE(CipherKey() == key);
  CHECK(CipherKey().empty());
}
