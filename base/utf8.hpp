#pragma once
/// Bytes from outside (a Redis entry's field, a log line's quote) checked and escaped as text. PostgreSQL's
/// text types (in a UTF8 database) and JSON strings take well-formed UTF-8 only, and PostgreSQL's text no NUL
/// byte: a value that is neither must be refused or escaped before it reaches a statement, a dead letter or a
/// webhook's body, or the statement fails (and a dead letter can never be written) or the body is not JSON.
#include <cstddef>
#include <string>
#include <string_view>

namespace projectord {

/// The length of the well-formed UTF-8 sequence at the start of `bytes` (1 to 4), or 0 when it does not start
/// with one (a stray continuation byte, an overlong form, a surrogate, past U+10FFFF, cut short).
std::size_t utf8_sequence_length(std::string_view bytes);

/// Whether `bytes` are well-formed UTF-8 without a NUL byte: PostgreSQL text as they are.
bool is_text(std::string_view bytes);

/// `bytes` when they are text; otherwise each byte of a malformed sequence and each NUL as \xHH, and each
/// backslash doubled, so the escaped form is text and reads back unambiguously.
std::string as_text(std::string_view bytes);

}  // namespace projectord
