#pragma once
/// Which event types a handler or statement reacts to.
///
/// A pattern matches a stored type exactly ("users.events:UserRegistered") or by its class name, the part
/// after the last '.' or ':' ("UserRegistered"), so configs read the same for pyeventsourcing topics and
/// plain type names. An empty pattern list matches every type.
#include <string>
#include <string_view>
#include <vector>

namespace projectord::handlers {

/// The class-name part of a stored type: after the last '.' or ':' (the whole string when neither occurs).
std::string_view class_name_of(std::string_view type);

bool type_matches(std::string_view pattern, std::string_view type);

class TypeFilter {
 public:
  explicit TypeFilter(std::vector<std::string> patterns) : patterns_(std::move(patterns)) {}
  bool accepts(std::string_view type) const;

 private:
  std::vector<std::string> patterns_;
};

}  // namespace projectord::handlers
