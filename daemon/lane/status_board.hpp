#pragma once
/// Where a lane publishes its status (LaneStatus): written by the lane's thread, copied whole by any other
/// (Lane::status()). A change of state is logged once, as operators and tests grep it.
#include <mutex>
#include <string>

#include "daemon/lane_status.hpp"

namespace projectord {

class StatusBoard {
 public:
  explicit StatusBoard(std::string handler) : handler_(std::move(handler)) {}

  LaneStatus snapshot() const {
    std::lock_guard lock(mutex_);
    return status_;
  }

  template <class Change>
  void update(Change change) {
    std::lock_guard lock(mutex_);
    change(status_);
  }

  LaneState state() const {
    std::lock_guard lock(mutex_);
    return status_.state;
  }

  /// `position`: the lane's checkpoint, for the log line.
  void set_state(LaneState state, Position position);

 private:
  std::string handler_;
  mutable std::mutex mutex_;
  LaneStatus status_;
};

}  // namespace projectord
