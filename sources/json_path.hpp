#pragma once
/// Dotted paths of keys into nested JSON objects ("address.zip"), as upcasts (sources/upcasts.hpp) and a
/// source's event_version_path name them. A path only goes through objects: a value on the way that is not
/// one (a string, an array) is an error naming the key, never a crash.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string_view>

#include "base/result.hpp"

namespace projectord::sources {

/// Where the last key of a path lives: its object (null when an object on the way is missing and was not
/// created) and the key itself.
struct PathSlot {
  boost::json::object* parent = nullptr;
  std::string_view key;
};

/// The slot of `path` below `root`; with `create`, missing objects on the way are added.
Result<PathSlot> slot_of(boost::json::object& root, std::string_view path, bool create);

/// The value at `path` below `root`, or null when a key on the way is missing.
Result<const boost::json::value*> find_path(const boost::json::object& root, std::string_view path);

}  // namespace projectord::sources
