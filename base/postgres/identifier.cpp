#include "base/postgres/identifier.hpp"

#include <algorithm>

namespace projectord::postgres {
namespace {

// ASCII only, whatever the process locale: these names are spliced (quoted) into SQL.
bool is_plain_identifier(std::string_view name) {
  const auto head = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  const auto tail = [&](char c) { return head(c) || (c >= '0' && c <= '9') || c == '$'; };
  return !name.empty() && name.size() <= kMaxIdentifierBytes && head(name.front()) &&
         std::all_of(name.begin() + 1, name.end(), tail);
}

}  // namespace

bool is_safe_identifier(std::string_view name, bool allow_schema) {
  const auto dot = name.find('.');
  if (dot == std::string_view::npos) return is_plain_identifier(name);
  return allow_schema && is_plain_identifier(name.substr(0, dot)) && is_plain_identifier(name.substr(dot + 1));
}

std::string identifier_problem(std::string_view name, bool allow_schema) {
  if (is_safe_identifier(name, allow_schema)) return {};
  return "\"" + std::string(name) + "\" is not a plain identifier: use letters, digits, _ and $, not starting with a " +
         "digit, at most 63 bytes" + (allow_schema ? ", optionally schema.table" : "");
}

std::string quote_identifier(const std::string& name) {
  std::string quoted;
  quoted.reserve(name.size() + 4);
  quoted += '"';
  for (char c : name) {
    if (c == '.') {
      quoted += "\".\"";
    } else if (c == '"') {
      quoted += "\"\"";
    } else {
      quoted += c;
    }
  }
  quoted += '"';
  return quoted;
}

}  // namespace projectord::postgres
