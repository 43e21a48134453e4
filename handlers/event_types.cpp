#include "handlers/event_types.hpp"

#include <algorithm>

namespace projectord::handlers {

bool TypeFilter::accepts(std::string_view type) const {
  return patterns_.empty() || std::any_of(patterns_.begin(), patterns_.end(),
                                          [type](const std::string& p) { return type_matches(p, type); });
}

}  // namespace projectord::handlers
