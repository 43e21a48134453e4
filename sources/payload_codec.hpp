#pragma once
/// Turns a payload column's bytes into the event's JSON `data`.
///
/// Contract: never throws on bad input; a payload that cannot be decoded (bad zlib stream, invalid JSON,
/// not a JSON object) yields an error message, and the event becomes a poison event for each handler.
/// pyeventsourcing's JSONTranscoder markers `{"_type_": NAME, "_data_": V}` are replaced by plain JSON:
/// uuid_hex -> canonical dashed UUID string, decimal_str -> the decimal's string, datetime_iso -> the ISO
/// string; an unknown NAME passes through unchanged (apps register their own).
#include <boost/json/value.hpp>
#include <string_view>

#include "config/config.hpp"
#include "base/result.hpp"

namespace projectord::sources {

/// `bytes` are the raw column bytes (bytea already unescaped, or text/json as sent by the server).
Result<boost::json::value> decode_payload(config::Codec codec, std::string_view bytes);

/// Decodes PostgreSQL's hex bytea text form (`\x7b22...`) into raw bytes; other text is returned unchanged.
Result<std::string> unescape_bytea(std::string_view text);

}  // namespace projectord::sources
