#pragma once
/// What a lane publishes about itself (Lane::status()): its state, its position against the source's head,
/// its counters and histograms, and when its current unit of work began. A plain value, copied under the
/// lane's lock; readers (the HTTP endpoints, health, metrics) see no database type through it.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "base/event.hpp"
#include "base/histogram.hpp"

namespace projectord {

/// retrying: an event failed and the lane waits out its backoff (or the receiver's Retry-After) before the
/// next attempt; waiting is not being busy, so it does not count against the watchdog.
/// waiting_for_hole: the next event's position is taken but its writer has not committed (or rolled back)
/// yet. waiting_for_consumer: the next entry of a Redis stream is pending on another consumer of the
/// handler's group, which may still apply it; it is claimed once idle for claim_idle.
/// waiting_for_connection: the other lanes hold every connection [database] max_connections allows; the lane
/// gets its turn when one of them goes idle.
/// source_rewound: the source went backwards under the checkpoint (its head below it, or the row the
/// checkpoint ended on gone or changed); nothing is applied until it comes back or an operator rebuilds or
/// resets the checkpoint.
enum class LaneState {
  starting,
  catching_up,
  idle,
  waiting_for_hole,
  waiting_for_consumer,
  waiting_for_connection,
  reconnecting,
  retrying,
  paused,
  halted,
  source_rewound,
  stopped
};
std::string_view to_string(LaneState state);

/// Who runs a lane's handler: the process holding its lease (this one, or another while this one stands by),
/// and the processes standing by as the holder last saw them.
struct LaneOwnership {
  bool this_process = false;
  std::string host;
  std::int64_t pid = 0;
  std::int64_t epoch = 0;
  std::string since;  ///< when the holder took the lease, timestamptz as text
  struct Standby {
    std::string host;
    std::int64_t pid = 0;
    std::string since;
  };
  std::vector<Standby> standbys;  ///< known only to the holder
};

struct LaneStatus {
  LaneState state = LaneState::starting;
  Position position = 0;
  Position head = 0;       ///< the source's head at the last read (or rewind check)
  Position halted_at = 0;  ///< while halted: the position of the event it stopped on
  std::int64_t events_applied = 0;
  std::int64_t dead_letters = 0;
  std::int64_t failed_attempts = 0;  ///< an event's apply that failed (each retry counts) or its payload did not decode
  std::int64_t reconnects = 0;
  std::uint64_t forced_hole_skips = 0;
  std::uint64_t shared_reads = 0;  ///< read cycles taken from another lane's read of the source
  bool swapped = false;  ///< a rebuild lane that ended by swapping its shadow in
  std::int64_t late_arrivals = 0;                 ///< rows found in holes after the lane had passed them
  std::size_t open_holes = 0;                     ///< positions passed as holes, still re-read for late rows
  std::chrono::milliseconds oldest_hole_wait{0};  ///< how long the oldest unsettled head has waited
  std::uint64_t blocking_xmin = 0;                ///< the oldest running transaction while one waits
  std::optional<std::int64_t> lag_events;         ///< counted by the source (Redis); else the lag is head - position
  std::string last_error;
  std::optional<LaneOwnership> ownership;  ///< none before the lane first asked for its lease
  int retry_attempt = 0;                       ///< while retrying: the attempts made at the failing event
  std::optional<Clock::time_point> retry_at;   ///< while retrying: when the next attempt is due
  /// When the lane's current unit of work (a read-apply-commit cycle, a reconnect) began; empty while it
  /// waits for events. The watchdog calls a lane busy for too long stalled (a hung server, a lock).
  std::optional<Clock::time_point> busy_since;
  // From ProgressWatch (daemon/progress_watch.hpp), for daemon/lane_health.hpp.
  std::optional<Clock::time_point> behind_since;
  std::optional<Clock::time_point> last_progress;
  bool lag_growing = false;
  BatchSizeHistogram batch_sizes = batch_size_histogram();
  BatchDurationHistogram batch_seconds = batch_duration_histogram();
};

}  // namespace projectord
