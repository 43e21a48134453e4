#include "daemon/lane_control.hpp"

namespace projectord {

Result<void> LaneControl::pause(LaneState state) {
  if (state == LaneState::halted) return fail("handler " + handler_ + " is halted: skip or resume it instead of pause");
  if (state == LaneState::stopped) return fail("handler " + handler_ + " has stopped");
  std::lock_guard lock(mutex_);
  pause_ = true;
  return {};
}

Result<void> LaneControl::resume(LaneState state) {
  {
    std::lock_guard lock(mutex_);
    if (state == LaneState::halted) {
      retry_ = true;
    } else if (pause_) {
      pause_ = false;
    } else {
      return fail("handler " + handler_ + " is " + std::string(to_string(state)) + ", not paused or halted");
    }
  }
  changed_.notify_all();
  return {};
}

Result<Position> LaneControl::skip(LaneState state, Position halted_at) {
  if (state != LaneState::halted) {
    return fail("handler " + handler_ + " is " + std::string(to_string(state)) +
                ": only a halted handler has an event to skip");
  }
  if (halted_at == 0) return fail("handler " + handler_ + " is still entering its halt; try again");
  {
    std::lock_guard lock(mutex_);
    skip_ = halted_at;
  }
  changed_.notify_all();
  return halted_at;
}

bool LaneControl::pause_requested() const {
  std::lock_guard lock(mutex_);
  return pause_;
}

void LaneControl::wait_while_paused(std::stop_token stop) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, stop, [&] { return !pause_; });
}

LaneControl::Verdict LaneControl::wait_in_halt(Position position, std::stop_token stop) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, stop, [&] { return retry_ || skip_ == position; });
  if (stop.stop_requested()) return Verdict::stop;
  if (retry_) {
    retry_ = false;
    return Verdict::retry;
  }
  return Verdict::skip;
}

bool LaneControl::skip_requested(Position position) const {
  std::lock_guard lock(mutex_);
  return skip_ == position;
}

void LaneControl::skipped(Position position) {
  std::lock_guard lock(mutex_);
  if (skip_ == position) skip_.reset();
}

}  // namespace projectord
