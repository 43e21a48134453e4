#pragma once
/// Text from outside (a NOTIFY payload, a Redis entry's field, a request path) made safe to put in a log line
/// or an error message: one line, bounded, quotes and control characters escaped. A newline in a handler name
/// must not forge a second log line, nor a megabyte field fill the log.
#include <cstddef>
#include <string>
#include <string_view>

namespace projectord {

/// Control characters (and DEL) as \n, \r, \t or \xHH, each byte of a malformed UTF-8 sequence as \xHH; `"` and
/// `\` escaped; cut after `max_bytes` of input, the rest counted ("...(1234 more bytes)").
std::string printable(std::string_view text, std::size_t max_bytes = 200);

/// `text` as the value of a log line's `key=value` field: as it is when it is one word (no space, quote,
/// backslash, control character or malformed UTF-8, not empty), otherwise `"printable(text, max_bytes)"`. A
/// value from an event, a config or a server's error then reads back as one field of one line, and an
/// ordinary value looks as written.
std::string log_value(std::string_view text, std::size_t max_bytes = 2000);

}  // namespace projectord
