#include "daemon/logging/log_fields.hpp"

#include <algorithm>

namespace projectord::logging {
namespace {

bool is_key(std::string_view key) {
  if (key.empty() || key.front() < 'a' || key.front() > 'z') return false;
  for (const char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads the quoted value starting after its opening quote, undoing printable()'s escapes; returns where its
// closing quote is, or npos when it has none.
std::size_t read_quoted(std::string_view text, std::size_t at, std::string& value) {
  while (at < text.size()) {
    const char c = text[at];
    if (c == '"') return at;
    if (c != '\\' || at + 1 == text.size()) {
      value += c;
      ++at;
      continue;
    }
    const char escaped = text[at + 1];
    at += 2;
    if (escaped == 'n') {
      value += '\n';
    } else if (escaped == 'r') {
      value += '\r';
    } else if (escaped == 't') {
      value += '\t';
    } else if (escaped == 'x' && at + 1 < text.size() && hex_digit(text[at]) >= 0 && hex_digit(text[at + 1]) >= 0) {
      value += static_cast<char>(hex_digit(text[at]) * 16 + hex_digit(text[at + 1]));
      at += 2;
    } else {
      value += escaped;
    }
  }
  return std::string_view::npos;
}

}  // namespace

std::optional<std::vector<LogField>> parse_log_fields(std::string_view message) {
  std::vector<LogField> fields;
  std::size_t at = 0;
  while (true) {
    while (at < message.size() && message[at] == ' ') ++at;
    if (at == message.size()) break;
    const std::size_t equals = message.find('=', at);
    if (equals == std::string_view::npos) return std::nullopt;
    LogField field{std::string(message.substr(at, equals - at)), {}};
    if (!is_key(field.key)) return std::nullopt;
    at = equals + 1;
    if (at < message.size() && message[at] == '"') {
      const std::size_t close = read_quoted(message, at + 1, field.value);
      if (close == std::string_view::npos) return std::nullopt;
      at = close + 1;
      if (at < message.size() && message[at] != ' ') return std::nullopt;
    } else {
      const std::size_t end = std::min(message.find(' ', at), message.size());
      field.value = std::string(message.substr(at, end - at));
      if (field.value.find('"') != std::string::npos) return std::nullopt;
      at = end;
    }
    fields.push_back(std::move(field));
  }
  if (fields.empty()) return std::nullopt;
  return fields;
}

}  // namespace projectord::logging
