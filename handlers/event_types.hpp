#pragma once
/// Which event types a handler reacts to, by the patterns of base/event_type.hpp. An empty pattern list
/// matches every type.
#include <string>
#include <string_view>
#include <vector>

#include "base/event_type.hpp"

namespace projectord::handlers {

using projectord::class_name_of;
using projectord::type_matches;

class TypeFilter {
 public:
  explicit TypeFilter(std::vector<std::string> patterns) : patterns_(std::move(patterns)) {}
  bool accepts(std::string_view type) const;

 private:
  std::vector<std::string> patterns_;
};

}  // namespace projectord::handlers
