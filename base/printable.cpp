#include "base/printable.hpp"

#include <cstdio>

#include "base/utf8.hpp"

namespace projectord {

std::string printable(std::string_view text, std::size_t max_bytes) {
  const std::string_view shown = text.substr(0, max_bytes);
  std::string out;
  out.reserve(shown.size() + 16);
  for (std::size_t i = 0; i < shown.size();) {
    const char c = shown[i];
    const auto byte = static_cast<unsigned char>(c);
    // A malformed UTF-8 sequence is escaped byte by byte: a log shipper or a text column takes the line whole.
    const std::size_t length = byte < 0x80 ? 1 : utf8_sequence_length(shown.substr(i));
    if (length > 1) {
      out.append(shown.substr(i, length));
      i += length;
      continue;
    }
    ++i;
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte >= 0x7f) {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
      out += escaped;
    } else {
      out += c;
    }
  }
  if (text.size() > shown.size()) out += "...(" + std::to_string(text.size() - shown.size()) + " more bytes)";
  return out;
}

std::string log_value(std::string_view text, std::size_t max_bytes) {
  bool word = !text.empty() && text.size() <= max_bytes;
  for (std::size_t i = 0; word && i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const std::size_t length = byte < 0x80 ? 1 : utf8_sequence_length(text.substr(i));
    word = length > 1 || (byte > 0x20 && byte < 0x7f && byte != '"' && byte != '\\');
    i += length == 0 ? 1 : length;
  }
  return word ? std::string(text) : '"' + printable(text, max_bytes) + '"';
}

}  // namespace projectord
