#pragma once
/// Read-your-writes: callers wait until a handler's checkpoint reaches a position (GET /wait). Lanes report
/// every checkpoint commit here, and that report is what completes the waits; nothing polls. Thread-safe:
/// lanes report from their threads, the HTTP server waits from its own.
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "base/event.hpp"

namespace projectord {

class CheckpointWaiters {
 public:
  using Reached = std::function<void(Position)>;

  explicit CheckpointWaiters(const Clock& clock) : clock_(clock) {}

  /// Calls `reached` with the checkpoint once `handler`'s checkpoint is at or past `position`: at once (on
  /// this thread) when it already is, else from the lane's thread that commits it. A wait whose deadline
  /// passed is dropped without a call (the caller answers the timeout itself).
  void wait(std::string_view handler, Position position, Clock::time_point deadline, Reached reached);

  /// A lane committed its checkpoint at `position` (or loaded it).
  void advanced(std::string_view handler, Position position);

  /// Partition `index` of `count` of `handler` (daemon/partition_lanes.hpp) committed its checkpoint (its lane
  /// reports under its own name too): the handler as a whole is at the least of its partitions' checkpoints,
  /// once each has reported one.
  void partition_advanced(std::string_view handler, std::int64_t index, std::int64_t count, Position position);

  /// The last checkpoint reported for `handler`, if any.
  std::optional<Position> position(std::string_view handler) const;

 private:
  struct Waiter {
    Position position;
    Clock::time_point deadline;
    Reached reached;
  };
  struct Handler {
    std::optional<Position> position;
    std::vector<Waiter> waiters;
    std::vector<std::optional<Position>> partitions;  ///< by index, for a partitioned handler
  };

  /// Sets `entry`'s position and takes the waits it completes; with mutex_ held.
  static std::vector<Reached> reach(Handler& entry, Position position, Clock::time_point now);
  Handler& entry(std::string_view handler);  ///< with mutex_ held

  const Clock& clock_;
  mutable std::mutex mutex_;
  std::map<std::string, Handler, std::less<>> handlers_;
};

}  // namespace projectord
