#include "daemon/progress_watch.hpp"

namespace projectord {

void ProgressWatch::observe(Clock::time_point now, Position position, Position head) {
  const Position lag = head > position ? head - position : 0;
  if (!last_progress_ || position != last_position_) {
    last_progress_ = now;
    last_position_ = position;
  }
  if (lag == 0) {
    behind_since_.reset();
    lag_growing_ = false;
    window_start_ = now;
    window_start_lag_ = 0;
    return;
  }
  if (!behind_since_) {
    behind_since_ = now;
    window_start_ = now;
    window_start_lag_ = lag;
    return;
  }
  if (now - window_start_ >= window_) {
    lag_growing_ = lag > window_start_lag_;
    window_start_ = now;
    window_start_lag_ = lag;
  }
}

}  // namespace projectord
