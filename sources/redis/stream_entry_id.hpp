#pragma once
/// Redis stream entry ids ("MS-SEQ") and the positions they stand for.
///
/// Everything downstream of a source (checkpoints, dead letters, /wait, lag) orders events by a 64-bit
/// Position. An entry id maps to one exactly and in order: the milliseconds in the high 42 bits (until the
/// year 2109), the sequence number in the low 21 bits (2,097,151 entries within one millisecond; Redis
/// itself adds far fewer). An id outside that range (only an explicit XADD id can be, and every id Redis
/// generates after one beyond 2^42 ms is beyond too) has no position: the entry is a poison event with an
/// error saying so, dead-lettered at a stand-in position (see `stand_in_after`).
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/event.hpp"

namespace projectord::sources {

struct StreamEntryId {
  std::uint64_t ms = 0;
  std::uint64_t seq = 0;

  /// "1700000000000-3"; a bare "1700000000000" means sequence 0. Anything else: nullopt.
  static std::optional<StreamEntryId> parse(std::string_view text);
  std::string text() const;

  std::optional<Position> position() const;

  /// For an id with no position, read after the entry at `last`: the position its poison row takes. It is
  /// `last + 1`, a position of its own (a dead letter each) below every position an entry after it can have:
  /// no higher than the last position of its millisecond when only the sequence is too large, and the
  /// largest position when the milliseconds are. When none is left there (`last` is already that high), it
  /// is `last`, shared with the entry before it.
  Position stand_in_after(Position last) const;

  /// The position of a stream whose last id is this one: the id's own, or for an id with none the highest a
  /// stand-in for it can take, so a stream that went beyond the mapping never looks shorter than before.
  Position head_position() const;

  static StreamEntryId from_position(Position position);

  auto operator<=>(const StreamEntryId&) const = default;

 private:
  /// The highest position an id of this millisecond can stand for (the largest when the milliseconds are).
  Position ceiling() const;
};

}  // namespace projectord::sources
