#include "daemon/cli/payload_sniffing.hpp"

#include <algorithm>
#include <cstddef>
#include <string_view>

#include "sources/payload_codec.hpp"

namespace projectord::cli {
namespace {

using config::Codec;

// The daemon's default max_event_bytes: a sample decodes here exactly when the daemon would decode it.
constexpr std::size_t kMaxSampleBytes = std::size_t{16} << 20;

enum class Layer {
  json,
  zlib,
  aes,         // opened by the key, JSON inside
  zlib_aes,    // opened by the key, zlib'd JSON inside
  ciphertext,  // neither JSON nor zlib, and no key opened it
  not_json,    // a text or JSON column's value that is no JSON object
};

struct Sniffed {
  Layer layer;
  bool markers = false;
};

bool decodes(Codec codec, std::string_view bytes, const config::CipherKey& key = {}) {
  return sources::decode_payload(codec, bytes, kMaxSampleBytes, key).has_value();
}

// The transcoder's markers are what its decoder rewrites: where it changes the value, they were there.
bool carries_markers(Codec plain, Codec transcoder, std::string_view bytes) {
  const auto as_plain = sources::decode_payload(plain, bytes, kMaxSampleBytes);
  const auto as_transcoded = sources::decode_payload(transcoder, bytes, kMaxSampleBytes);
  return as_plain && as_transcoded && *as_plain != *as_transcoded;
}

// zlib.compress's header at levels 1, 6 (the default) and 9; a nonce may start the same way, which the
// inflating decode then refuses.
bool has_zlib_header(std::string_view bytes) {
  return bytes.size() >= 2 && bytes[0] == '\x78' && (bytes[1] == '\x01' || bytes[1] == '\x9c' || bytes[1] == '\xda');
}

Sniffed sniff(std::string_view bytes, bool transcoded, const config::CipherKey& key) {
  if (decodes(Codec::json, bytes)) return {Layer::json, carries_markers(Codec::json, Codec::eventsourcing_json, bytes)};
  if (has_zlib_header(bytes) && decodes(Codec::json_zlib, bytes)) {
    return {Layer::zlib, carries_markers(Codec::json_zlib, Codec::eventsourcing_json_zlib, bytes)};
  }
  // Only pyeventsourcing's mapper encrypts: anything else that is not JSON is a bad row, not ciphertext.
  if (!transcoded) return {Layer::not_json};
  if (!key.empty() && decodes(Codec::eventsourcing_json_aes, bytes, key)) return {Layer::aes};
  if (!key.empty() && decodes(Codec::eventsourcing_json_zlib_aes, bytes, key)) return {Layer::zlib_aes};
  return {Layer::ciphertext};
}

}  // namespace

CodecGuess guess_codec(std::span<const std::string> samples, bool transcoded, const config::CipherKey& key) {
  const Codec plain = transcoded ? Codec::eventsourcing_json : Codec::json;
  if (samples.empty()) return {plain, false, {"no events to sample yet: the preset's codec"}};

  std::vector<Sniffed> sniffed;
  for (const std::string& sample : samples) sniffed.push_back(sniff(sample, transcoded, key));
  const auto decided = std::ranges::find_if(sniffed, [](const Sniffed& s) { return s.layer != Layer::not_json; });
  const Layer layer = decided == sniffed.end() ? Layer::not_json : decided->layer;
  const bool markers = std::ranges::any_of(sniffed, &Sniffed::markers);
  const bool transcoder = transcoded || markers;

  CodecGuess guess;
  switch (layer) {
    case Layer::json:
      guess.codec = transcoder ? Codec::eventsourcing_json : Codec::json;
      guess.notes.push_back(markers ? "payloads are JSON with pyeventsourcing's transcoder markers (_type_, _data_)"
                                    : "payloads are JSON");
      break;
    case Layer::zlib:
      guess.codec = transcoder ? Codec::eventsourcing_json_zlib : Codec::json_zlib;
      guess.notes.push_back("payloads are zlib-compressed JSON (COMPRESSOR_TOPIC = \"zlib\")");
      break;
    case Layer::aes:
      guess.codec = Codec::eventsourcing_json_aes;
      guess.notes.push_back("payloads are AES-GCM ciphertext (CIPHER_TOPIC = AESCipher) that CIPHER_KEY opens to JSON");
      break;
    case Layer::zlib_aes:
      guess.codec = Codec::eventsourcing_json_zlib_aes;
      guess.notes.push_back(
          "payloads are AES-GCM ciphertext (CIPHER_TOPIC = AESCipher) that CIPHER_KEY opens to zlib-compressed JSON");
      break;
    case Layer::ciphertext:
      guess.codec = Codec::eventsourcing_json_aes;
      guess.certain = false;
      guess.notes.push_back(
          "payloads are neither JSON nor zlib: AES-GCM ciphertext, as pyeventsourcing's AESCipher writes it");
      guess.notes.push_back(key.empty()
                                ? "without the key, encrypted zlib'd JSON looks the same: with COMPRESSOR_TOPIC ="
                                  " \"zlib\" the codec is eventsourcing_json_zlib_aes (run detect with"
                                  " CIPHER_KEY set to tell)"
                                : "CIPHER_KEY opens none of them: check the key; with COMPRESSOR_TOPIC ="
                                  " \"zlib\" the codec is eventsourcing_json_zlib_aes");
      break;
    case Layer::not_json:
      guess.codec = plain;
      guess.certain = false;
      break;
  }
  if (std::ranges::any_of(sniffed, [&](const Sniffed& s) { return s.layer != layer && s.layer != Layer::not_json; })) {
    guess.notes.push_back("the sampled payloads are not all encoded alike: the codec follows the newest");
  }
  if (const auto bad = std::ranges::count(sniffed, Layer::not_json, &Sniffed::layer); bad > 0) {
    guess.notes.push_back(std::to_string(bad) + " of " + std::to_string(sniffed.size()) +
                          " sampled payloads are not JSON objects: the daemon takes such events for poison events");
  }
  return guess;
}

}  // namespace projectord::cli
