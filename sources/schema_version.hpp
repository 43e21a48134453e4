#pragma once
/// Where a decoded event's schema version (Event::schema_version) comes from: a column (djangoevents' and
/// Eventuali's event_version), a Redis entry field, or a path into the data or metadata (pyeventsourcing's
/// `class_version`, which the library writes only above 1). Nothing recorded is version 1; a value that is
/// not an integer of at least 1 is an error, which the decoders make a poison event.
#include <cstdint>
#include <string_view>

#include "base/event.hpp"
#include "base/result.hpp"

namespace projectord::sources {

/// `stored`, when it is a version (1 or more).
Result<std::int64_t> checked_schema_version(std::int64_t stored);

/// The version at `path`, "data.KEY" or "metadata.KEY" (KEY may be dotted): missing or null is 1.
Result<std::int64_t> schema_version_at(const Event& event, std::string_view path);

}  // namespace projectord::sources
