#pragma once
/// The read cycles of one PostgreSQL source, shared by the lanes that read all of it ([sources.NAME]
/// share_reads): lanes near the same position read and decode each batch once, where each would otherwise read
/// every row of the table for itself.
///
/// A lane asks for the cycle after its position. It gets one another lane read, or is reading, with the same
/// bounds when that read is one it could have made itself: its snapshot observed after the lane's own last one
/// (a lane's settled horizon sees its snapshots in order, and a lane waiting for a hole to settle needs a newer
/// one each time) and after the lane's session began (a lane that starts again, after a failure or the store
/// going backwards, reads afresh); and, for a cycle that reached the source's head, read before no news (the
/// source's wake generation unchanged since) and a moment ago. Else the lane reads, on its own connection, and
/// leaves its cycle for the others. The newest few cycles are kept; a lane far behind the others reads on its
/// own. Any thread.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <vector>

#include "base/clock.hpp"
#include "sources/postgres/reader.hpp"
#include "sources/source.hpp"

namespace projectord::sources {

/// A read cycle as the lanes share it: the rows as read, each decoded once.
struct SharedCycle {
  ReadCycle cycle;
  std::vector<SourceRow> decoded;      ///< cycle.rows decoded, in the same order
  Clock::time_point observed;          ///< when the read ended: the time its snapshot counts for
  std::uint64_t wake_generation = 0;   ///< the source's wake generation before the read
  bool reached_head = false;           ///< the read returned fewer rows than asked: it saw the head
};

class SharedReads {
 public:
  /// What a lane asks for: the cycle after `after`, at most `limit` rows (`settled`: the lane's settled bound,
  /// which a filtered source's read depends on; 0 otherwise).
  struct Ask {
    Position after = 0;
    std::size_t limit = 0;
    Position settled = 0;
    Clock::time_point not_before;        ///< the asking lane's last cycle's observation, or its session's start
    std::uint64_t wake_generation = 0;   ///< the source's wake generation as the lane asks
  };
  /// Reads and decodes a cycle on the asking lane's connection.
  using Read = std::function<std::shared_ptr<const SharedCycle>()>;

  explicit SharedReads(const Clock& clock) : clock_(clock) {}

  /// The cycle for `ask`, and whether another lane read it: shared when one fits, else made by `read` and kept
  /// for the others. What `read` throws goes to the caller; lanes waiting for that read then read themselves.
  struct Served {
    std::shared_ptr<const SharedCycle> cycle;
    bool shared = false;
  };
  Served serve(const Ask& ask, const Read& read, std::stop_token stop);

 private:
  struct Slot {
    std::uint64_t id = 0;
    Position after = 0;
    std::size_t limit = 0;
    Position settled = 0;
    Clock::time_point started;
    std::shared_ptr<const SharedCycle> cycle;  ///< null while it is being read

    bool same_bounds(const Ask& ask) const;
  };

  bool fits(const SharedCycle& cycle, const Ask& ask) const;

  const Clock& clock_;
  std::mutex mutex_;
  std::condition_variable_any read_ended_;
  std::deque<Slot> slots_;  ///< oldest first
  std::uint64_t next_id_ = 1;
};

}  // namespace projectord::sources
