#pragma once
/// A closed range of a source's positions, [first, last]: what one write-ahead record of a side effect's
/// delivery attempt covers (checkpoints/attempts.hpp). Ordered so that ranges can key a map.
#include <compare>

#include "base/event.hpp"

namespace projectord {

struct PositionRange {
  Position first = 0;
  Position last = 0;

  bool contains(Position position) const { return first <= position && position <= last; }
  auto operator<=>(const PositionRange&) const = default;
};

}  // namespace projectord
