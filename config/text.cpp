#include "config/text.hpp"

namespace projectord::config {

bool list_contains(std::string_view list, char separator, std::string_view item) {
  while (true) {
    const auto end = list.find(separator);
    if (list.substr(0, end) == item) return true;
    if (end == std::string_view::npos) return false;
    list.remove_prefix(end + 1);
  }
}

std::size_t list_index(std::string_view list, char separator, std::string_view item) {
  std::size_t index = 0;
  for (auto end = list.find(separator); list.substr(0, end) != item; end = list.find(separator), ++index) {
    if (end == std::string_view::npos) return 0;
    list.remove_prefix(end + 1);
  }
  return index;
}

std::string_view list_item(std::string_view list, char separator, std::size_t index) {
  for (; index > 0; --index) {
    const auto end = list.find(separator);
    if (end == std::string_view::npos) return {};
    list.remove_prefix(end + 1);
  }
  return list.substr(0, list.find(separator));
}

std::string replace_separator(std::string_view list, char separator, std::string_view glue) {
  std::string out;
  for (const char c : list) {
    if (c == separator) {
      out += glue;
    } else {
      out += c;
    }
  }
  return out;
}

std::string in_quotes(std::string_view text) { return "\"" + std::string(text) + "\""; }

}  // namespace projectord::config
