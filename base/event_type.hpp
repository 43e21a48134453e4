#pragma once
/// How an event type is named in configuration: a pattern matches a stored type exactly
/// ("users.events:UserRegistered") or by its class name, the part after the last '.' or ':'
/// ("UserRegistered"), so configs read the same for pyeventsourcing topics and plain type names. Handlers'
/// `types` and statements' `on` match this way, and so do sources' upcasts.
#include <string_view>

namespace projectord {

/// The class-name part of a stored type: after the last '.' or ':' (the whole string when neither occurs).
std::string_view class_name_of(std::string_view type);

bool type_matches(std::string_view pattern, std::string_view type);

}  // namespace projectord
