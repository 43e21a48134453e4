#pragma once
/// A source's declarative upcasts (config::Upcast, written as [[sources.NAME.upcasts]]) applied to a decoded
/// event, before any handler sees it: while the source has an upcast of the event's type from its schema
/// version, that upcast runs and the version goes up by one, so with upcasts from 1 and from 2 a version 1
/// event reaches handlers as version 3, and a version 3 one as it is stored.
///
/// An upcast runs rename, move, split, drop, then default; within one operation, paths in sorted order. A
/// path that is missing is left alone (the field was optional); an upcast that cannot apply (a path through
/// a value that is not an object, a target that is already set, a split of a value that is not a string)
/// is an error naming the upcast's line, which the decoders turn into a poison event at the event's
/// position. A pure function of the event and the upcasts.
#include <vector>

#include "base/event.hpp"
#include "base/result.hpp"
#include "config/config.hpp"

namespace projectord::sources {

Result<void> apply_upcasts(const std::vector<config::Upcast>& upcasts, Event& event);

}  // namespace projectord::sources
