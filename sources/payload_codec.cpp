#include "sources/payload_codec.hpp"

#include <openssl/evp.h>
#include <zlib.h>

#include <array>
#include <boost/json/stream_parser.hpp>
#include <climits>
#include <cmath>
#include <cstddef>
#include <memory>
#include <string>

#include "config/byte_size.hpp"

namespace projectord::sources {
namespace {

namespace json = boost::json;

// The value of a hex digit, or -1.
constexpr int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string size_text(std::size_t bytes) { return config::format_byte_size(static_cast<std::int64_t>(bytes)); }

bool is_codec_zlib(config::Codec codec) {
  return codec == config::Codec::json_zlib || codec == config::Codec::eventsourcing_json_zlib ||
         codec == config::Codec::eventsourcing_json_zlib_aes;
}

bool is_codec_eventsourcing(config::Codec codec) {
  return codec != config::Codec::json && codec != config::Codec::json_zlib;
}

// One payload's JSON text, fed whole or in inflated chunks. The parser's scratch starts in an inline buffer, so a
// typical event allocates nothing but its value, and a huge payload's scratch goes away with it.
class JsonText {
 public:
  JsonText() : parser_(json::storage_ptr(), options(), scratch_.data(), scratch_.size()) {}

  // `offset` is where `data` starts in the whole text, so errors point into the payload, not into a chunk.
  Result<void> source(const char* data, std::size_t size, std::size_t offset) {
    json::error_code ec;
    // On error the parser reports how far it got, i.e. where the bad byte is.
    const std::size_t consumed = parser_.write(data, size, ec);
    if (ec) return error(offset + consumed, ec);
    return {};
  }

  Result<json::value> finish(std::size_t size) {
    json::error_code ec;
    parser_.finish(ec);
    if (ec) return fail(error(size, ec));
    return parser_.release();
  }

 private:
  static json::parse_options options() {
    json::parse_options options;
    options.max_depth = kMaxJsonDepth;
    return options;
  }

  static std::string error(std::size_t offset, const json::error_code& ec) {
    if (ec == json::error::too_deep) {
      return "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels at offset " + std::to_string(offset);
    }
    return "invalid JSON at offset " + std::to_string(offset) + ": " + ec.message();
  }

  std::array<unsigned char, 4096> scratch_;  // before parser_, which uses it
  json::stream_parser parser_;
};

Result<json::value> parse_json(std::string_view bytes) {
  JsonText text;
  if (auto fed = text.source(bytes.data(), bytes.size(), 0); !fed) return fail(fed.error());
  return text.finish(bytes.size());
}

// Inflates zlib bytes straight into the parser, one chunk at a time, so no buffer ever holds the whole inflated
// payload and a bad stream fails at its first bad byte. One per thread: inflateInit allocates ~7 KiB of state
// that inflateReset reuses, which matters at a million events a second.
class Inflater {
 public:
  Inflater() { ready_ = inflateInit(&zs_) == Z_OK; }
  ~Inflater() {
    if (ready_) inflateEnd(&zs_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // A few KiB of zlib can inflate to gigabytes: past `max_bytes` the payload is refused instead of the process.
  Result<json::value> inflate_json(std::string_view bytes, std::size_t max_bytes) {
    if (!ready_) return fail("zlib: cannot initialise inflate (out of memory)");
    // avail_in is 32 bits; PostgreSQL values stop at 1 GiB, so only a corrupt length gets here.
    if (bytes.size() > UINT_MAX) return fail("zlib: compressed payload too large");
    inflateReset(&zs_);
    // zlib's API is not const-correct; inflate only reads next_in.
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    zs_.avail_in = static_cast<uInt>(bytes.size());
    JsonText text;
    std::size_t inflated = 0;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
      zs_.next_out = reinterpret_cast<Bytef*>(chunk_.data());
      zs_.avail_out = static_cast<uInt>(chunk_.size());
      rc = inflate(&zs_, Z_NO_FLUSH);
      // Z_BUF_ERROR: no progress possible, i.e. the input ended before the stream did.
      if (rc == Z_BUF_ERROR) return fail("zlib: truncated stream");
      if (rc == Z_NEED_DICT) return fail("zlib: stream needs a preset dictionary");
      if (rc != Z_OK && rc != Z_STREAM_END) {
        return fail("zlib: corrupt stream: " + std::string(zs_.msg != nullptr ? zs_.msg : zError(rc)));
      }
      const std::size_t produced = chunk_.size() - zs_.avail_out;
      if (inflated + produced > max_bytes) {
        return fail("zlib: payload inflates beyond max_event_bytes (" + size_text(max_bytes) + ")");
      }
      if (auto fed = text.source(chunk_.data(), produced, inflated); !fed) return fail(fed.error());
      inflated += produced;
    }
    // Another stream or junk after the end means the column does not hold what the codec says.
    if (zs_.avail_in != 0) return fail("zlib: unexpected bytes after the end of the stream");
    return text.finish(inflated);
  }

 private:
  z_stream zs_{};
  bool ready_ = false;
  std::array<char, 16384> chunk_{};
};

// pyeventsourcing's AESCipher layout: the GCM nonce, then the tag, then the ciphertext.
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;

const EVP_CIPHER* aes_gcm(std::size_t key_bytes) {
  switch (key_bytes) {
    case 16: return EVP_aes_128_gcm();
    case 24: return EVP_aes_192_gcm();
    case 32: return EVP_aes_256_gcm();
    default: return nullptr;
  }
}

// The plaintext of an AESCipher payload, only once its tag proves it was encrypted under `key` as it is.
// GCM is a stream mode, so the plaintext is exactly as long as the ciphertext: within max_event_bytes already.
Result<std::string> decrypt(std::string_view bytes, const config::CipherKey& key) {
  const EVP_CIPHER* cipher = aes_gcm(key.bytes().size());
  if (cipher == nullptr) return fail("AES-GCM: the source has no cipher key");
  if (bytes.size() < kNonceBytes + kTagBytes) {
    return fail("AES-GCM: payload of " + std::to_string(bytes.size()) + " bytes is shorter than its nonce and tag (" +
                std::to_string(kNonceBytes + kTagBytes) + " bytes)");
  }
  const auto* nonce = reinterpret_cast<const unsigned char*>(bytes.data());
  // OpenSSL takes the expected tag through a non-const pointer; it only reads it.
  auto* tag = const_cast<unsigned char*>(nonce + kNonceBytes);
  const std::string_view ciphertext = bytes.substr(kNonceBytes + kTagBytes);
  // Freeing the context wipes the expanded key it held.
  const std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> context(EVP_CIPHER_CTX_new(),
                                                                                &EVP_CIPHER_CTX_free);
  std::string plain(ciphertext.size(), '\0');
  int written = 0;
  int last = 0;
  // max_event_bytes stops at 256 MiB, far inside an int.
  if (context == nullptr || EVP_DecryptInit_ex(context.get(), cipher, nullptr, key.bytes().data(), nonce) != 1 ||
      EVP_DecryptUpdate(context.get(), reinterpret_cast<unsigned char*>(plain.data()), &written,
                        reinterpret_cast<const unsigned char*>(ciphertext.data()),
                        static_cast<int>(ciphertext.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes), tag) != 1) {
    return fail("AES-GCM: cannot decrypt (OpenSSL failed)");
  }
  if (EVP_DecryptFinal_ex(context.get(), reinterpret_cast<unsigned char*>(plain.data()) + written, &last) != 1) {
    return fail("AES-GCM authentication failed: wrong key or tampered payload");
  }
  return {boost::system::in_place_value, std::move(plain)};
}

std::string marker_error(std::string_view name, std::string_view expected) {
  return "transcoder marker " + std::string(name) + ": _data_ is not " + std::string(expected);
}

// Replaces pyeventsourcing transcoder markers in place, at any depth. Recursion is bounded by the parser's
// max_depth, so a hostile payload cannot overflow the stack here.
Result<void> decode_markers(json::value& v) {
  if (auto* array = v.if_array()) {
    for (auto& element : *array) {
      if (auto r = decode_markers(element); !r) return r;
    }
    return {};
  }
  auto* object = v.if_object();
  if (object == nullptr) return {};
  if (object->size() == 2) {
    const json::value* type = object->if_contains("_type_");
    json::value* data = object->if_contains("_data_");
    if (type != nullptr && data != nullptr && type->is_string()) {
      const std::string_view name = type->get_string();
      if (name == "uuid_hex") {
        const json::string* hex = data->if_string();
        if (hex == nullptr || hex->size() != 32) return marker_error(name, "32 hex digits");
        // Lower case and dashed: the form Python's str(UUID) and PostgreSQL's uuid output share.
        constexpr std::string_view kDigits = "0123456789abcdef";
        std::array<char, 36> text{};
        std::size_t out = 0;
        for (std::size_t i = 0; i < hex->size(); ++i) {
          const int digit = hex_value((*hex)[i]);
          if (digit < 0) return marker_error(name, "32 hex digits");
          if (i == 8 || i == 12 || i == 16 || i == 20) text[out++] = '-';
          text[out++] = kDigits[digit];
        }
        v = json::string_view(text.data(), text.size());
        return {};
      }
      if (name == "decimal_str" || name == "datetime_iso") {
        json::string* text = data->if_string();
        if (text == nullptr) return marker_error(name, "a string");
        // Moved out first: assigning to `v` destroys the object that owns `text`.
        json::string plain = std::move(*text);
        v = std::move(plain);
        return {};
      }
      // An app-registered name stays as it is; known markers inside its _data_ are still decoded below, as
      // Python's object_hook decodes inner objects before outer ones.
    }
  }
  for (auto& entry : *object) {
    if (auto r = decode_markers(entry.value()); !r) return r;
  }
  return {};
}

// Whether `v` holds a number past a double's range (1e400), which the parser turns into an infinity: no JSON
// text spells one, so a webhook's body, a jsonb column or a numeric parameter would each get text they refuse
// or read as something else. Recursion is bounded by the parser's max_depth.
bool holds_infinity(const json::value& v) {
  if (const double* number = v.if_double()) return !std::isfinite(*number);
  if (const auto* array = v.if_array()) {
    for (const auto& element : *array) {
      if (holds_infinity(element)) return true;
    }
  }
  if (const auto* object = v.if_object()) {
    for (const auto& entry : *object) {
      if (holds_infinity(entry.value())) return true;
    }
  }
  return false;
}

}  // namespace

Result<json::value> decode_payload(config::Codec codec, std::string_view bytes, std::size_t max_bytes,
                                   const config::CipherKey& key) {
  if (bytes.size() > max_bytes) {
    return fail("payload of " + std::to_string(bytes.size()) + " bytes is over max_event_bytes (" +
                size_text(max_bytes) + ")");
  }
  std::string decrypted;
  if (config::is_encrypted(codec)) {
    auto plain = decrypt(bytes, key);
    if (!plain) return fail(plain.error());
    decrypted = std::move(*plain);
    bytes = decrypted;
  }
  thread_local Inflater inflater;
  Result<json::value> parsed = is_codec_zlib(codec) ? inflater.inflate_json(bytes, max_bytes) : parse_json(bytes);
  if (!parsed) return parsed;
  if (!parsed->is_object()) return fail("payload is not a JSON object");
  if (holds_infinity(*parsed)) return fail("payload holds a number beyond the range of a double (1.8e308)");
  if (is_codec_eventsourcing(codec)) {
    if (auto r = decode_markers(*parsed); !r) return fail(r.error());
  }
  return parsed;
}

Result<std::string> unescape_bytea(std::string_view text) {
  // Result<std::string> cannot tell a value from an error by type, so a value says it is one.
  using boost::system::in_place_value;
  if (!text.starts_with("\\x")) return {in_place_value, text};
  const std::string_view hex = text.substr(2);
  if (hex.size() % 2 != 0) return fail("bytea: odd number of hex digits");
  Result<std::string> bytes(in_place_value, hex.size() / 2, '\0');
  for (std::size_t i = 0; i < bytes->size(); ++i) {
    const int high = hex_value(hex[2 * i]);
    const int low = hex_value(hex[2 * i + 1]);
    if (high < 0 || low < 0) {
      return fail("bytea: bad hex digit at offset " + std::to_string(2 + 2 * i + (high < 0 ? 0 : 1)));
    }
    (*bytes)[i] = static_cast<char>(high * 16 + low);
  }
  return bytes;
}

}  // namespace projectord::sources
