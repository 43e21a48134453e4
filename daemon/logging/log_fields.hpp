#pragma once
/// The daemon's log messages are `key=value` fields (`handler=users event=connected position=42`), each value
/// one word or a quoted, escaped string (base/printable.hpp's log_value). parse_log_fields reads such a message
/// back into its fields, for the JSON lines and the journal's fields; a message that is not made of fields
/// alone (a library's own words) has none, and is logged as its text only.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace projectord::logging {

struct LogField {
  std::string key;    ///< as written: lowercase letters, digits and '_', starting with a letter
  std::string value;  ///< unquoted and unescaped: the bytes the message's writer put in
  bool operator==(const LogField&) const = default;
};

/// The fields of `message` in their order, or std::nullopt when any part of it is not a `key=value` field (a
/// word without '=', a key of other characters, a quote left open or followed by more than a space).
std::optional<std::vector<LogField>> parse_log_fields(std::string_view message);

}  // namespace projectord::logging
