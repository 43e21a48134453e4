#pragma once
/// Text helpers shared by the option table and the loader: option rows hold lists as separated text
/// ("a|b|c" choices, "x,y" kinds), and messages quote values.
#include <cstddef>
#include <string>
#include <string_view>

namespace projectord::config {

/// Whether `item` is one of the `separator`-separated items of `list`.
bool list_contains(std::string_view list, char separator, std::string_view item);

/// The position of `item` in `list` (0 when absent: callers check list_contains first).
std::size_t list_index(std::string_view list, char separator, std::string_view item);

/// The item at `index` of `list` (empty when there are fewer items).
std::string_view list_item(std::string_view list, char separator, std::size_t index);

/// `list` with each separator replaced by `glue`: "a|b" -> "a, b".
std::string replace_separator(std::string_view list, char separator, std::string_view glue);

std::string in_quotes(std::string_view text);

}  // namespace projectord::config
