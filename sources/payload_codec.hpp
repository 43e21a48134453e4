#pragma once
/// Turns a payload column's bytes into the event's JSON `data`.
///
/// Contract: never throws on bad input; a payload that cannot be decoded (bad zlib stream, invalid JSON,
/// not a JSON object, over `max_bytes` as given or once inflated, JSON nested deeper than kMaxJsonDepth, a
/// number beyond a double's range, an aes codec's payload that does not authenticate under the key) yields an
/// error message, and the event becomes a poison event for each handler. No message quotes the key. An
/// integer beyond 64 bits becomes the nearest double; of duplicate keys the last one counts.
/// The aes codecs undo pyeventsourcing's AESCipher: AES-GCM with the stored bytes nonce(12) | tag(16) |
/// ciphertext; the plaintext is authenticated whole before it is inflated or parsed.
/// pyeventsourcing's JSONTranscoder markers `{"_type_": NAME, "_data_": V}` are replaced by plain JSON:
/// uuid_hex -> canonical dashed UUID string, decimal_str -> the decimal's string, datetime_iso -> the ISO
/// string; an unknown NAME passes through unchanged (apps register their own).
#include <boost/json/value.hpp>
#include <cstddef>
#include <string_view>

#include "config/config.hpp"
#include "base/result.hpp"

namespace projectord::sources {

/// How deep the decoded JSON may nest. Domain events nest a handful of levels; this leaves room for any
/// real one while every recursive walk of the value (transcoder markers, handlers' paths, destruction) stays
/// a few hundred KiB of stack, far inside a thread's 8 MiB.
constexpr std::size_t kMaxJsonDepth = 1000;

/// `bytes` are the raw column bytes (bytea already unescaped, or text/json as sent by the server); neither
/// they nor their decrypted or inflated form may exceed `max_bytes` (the source's max_event_bytes). `key` is
/// the source's cipher key, which only the aes codecs use.
Result<boost::json::value> decode_payload(config::Codec codec, std::string_view bytes, std::size_t max_bytes,
                                          const config::CipherKey& key = {});

/// Decodes PostgreSQL's hex bytea text form (`\x7b22...`) into raw bytes; other text is returned unchanged.
Result<std::string> unescape_bytea(std::string_view text);

}  // namespace projectord::sources
