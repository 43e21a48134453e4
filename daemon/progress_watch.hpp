#pragma once
/// Follows one lane's progress (its checkpoint, or past it what an open catch-up transaction has read and
/// folded) against its source's head to tell how far behind it is in time and whether it is keeping up:
/// `behind_since` gives the lag in seconds (how long the lane has not been at the head), `lag_growing` tells a
/// slow lane (behind and falling further behind over a whole window) from one that is merely catching up,
/// `last_progress` a stuck one (behind, nothing read on for a while).
#include <optional>

#include "base/clock.hpp"
#include "base/event.hpp"

namespace projectord {

class ProgressWatch {
 public:
  explicit ProgressWatch(Clock::duration window) : window_(window) {}

  /// After every read and commit: how far the lane has come and the head the last read saw.
  void observe(Clock::time_point now, Position position, Position head);

  /// Since when the progress has been short of the head; empty while it is at the head.
  std::optional<Clock::time_point> behind_since() const { return behind_since_; }
  /// The last time the progress moved, or the lane started watching.
  std::optional<Clock::time_point> last_progress() const { return last_progress_; }
  /// The lag (head - position) at the end of the last complete window was larger than at its start.
  bool lag_growing() const { return lag_growing_; }

 private:
  Clock::duration window_;
  std::optional<Clock::time_point> behind_since_;
  std::optional<Clock::time_point> last_progress_;
  Position last_position_ = 0;
  Clock::time_point window_start_{};
  Position window_start_lag_ = 0;
  bool lag_growing_ = false;
};

}  // namespace projectord
