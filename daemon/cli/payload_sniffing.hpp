#pragma once
/// Which codec decodes an event store's payloads, told from a sample of them as stored: JSON, JSON carrying
/// pyeventsourcing's transcoder markers (`{"_type_": ..., "_data_": ...}`), zlib-compressed JSON (bytes
/// 78 01, 78 9C or 78 DA that inflate to JSON), or, when a payload is neither, pyeventsourcing's AES-GCM
/// ciphertext. Ciphertext is random bytes whether JSON or zlib'd JSON was encrypted, so the two aes codecs
/// are told apart only with a key that opens the samples; without one the guess is the plain one and says
/// that it is a guess. Each sample is tried with the daemon's own decoders (sources/payload_codec.hpp), so a
/// codec chosen here is one that decodes the sample. A pure function of the bytes: `projectord detect`
/// reads the samples.
#include <span>
#include <string>
#include <vector>

#include "config/cipher_key.hpp"
#include "config/config.hpp"

namespace projectord::cli {

struct CodecGuess {
  config::Codec codec = config::Codec::json;
  bool certain = true;             ///< false: no sample, or ciphertext no key opened (the zlib'd twin is as likely)
  std::vector<std::string> notes;  ///< why, one line each, for comments beside the codec
};

/// `samples`: payloads as stored (bytea unescaped), newest first; the newest decides when they disagree.
/// `transcoded`: the table is written by pyeventsourcing's mapper (a `state` bytea), whose payloads take the
/// eventsourcing_json codecs even when no sample carries a marker. `key` (may be empty) is tried on
/// ciphertext.
CodecGuess guess_codec(std::span<const std::string> samples, bool transcoded, const config::CipherKey& key);

}  // namespace projectord::cli
