// Every payload codec (sources/payload_codec.hpp) over the same bytes: plain JSON, pyeventsourcing's
// transcoder JSON, both behind zlib, and the transcoder's JSON encrypted as AESCipher does (with and without
// zlib, under kCipherKey, which the aes seeds of the corpus are encrypted with); and the bytes as PostgreSQL's
// hex bytea text, unescaped first. A payload decodes to a JSON object or to an error, never anything else.
#include "sources/payload_codec.hpp"
#include "tests/fuzz/fuzz_input.hpp"

namespace {

using projectord::config::Codec;

// A source's default limit: what a payload, as stored and once inflated, may take.
const std::size_t kMaxEventBytes = projectord::config::PostgresSource{}.max_event_bytes;

// base64 of the 16 bytes "fuzz-cipher-key!".
const projectord::config::CipherKey kCipherKey =
    *projectord::config::CipherKey::from_base64("ZnV6ei1jaXBoZXIta2V5IQ==");

void decode_with_every_codec(std::string_view bytes) {
  for (const Codec codec : {Codec::json, Codec::json_zlib, Codec::eventsourcing_json, Codec::eventsourcing_json_zlib,
                            Codec::eventsourcing_json_aes, Codec::eventsourcing_json_zlib_aes}) {
    const auto decoded = projectord::sources::decode_payload(codec, bytes, kMaxEventBytes, kCipherKey);
    if (decoded) projectord::fuzz::require(decoded->is_object(), "a decoded payload is a JSON object");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes = projectord::fuzz::as_text(data, size);
  decode_with_every_codec(bytes);
  if (const auto unescaped = projectord::sources::unescape_bytea(bytes); unescaped && *unescaped != bytes) {
    decode_with_every_codec(*unescaped);
  }
  return 0;
}
