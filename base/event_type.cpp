#include "base/event_type.hpp"

namespace projectord {

std::string_view class_name_of(std::string_view type) {
  const std::size_t separator = type.find_last_of(".:");
  return separator == std::string_view::npos ? type : type.substr(separator + 1);
}

bool type_matches(std::string_view pattern, std::string_view type) {
  return pattern == type || pattern == class_name_of(type);
}

}  // namespace projectord
