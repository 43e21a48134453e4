#include "base/drive_io.hpp"

namespace projectord {

DriveEnd drive_until(boost::asio::io_context& io, const std::function<bool()>& done,
                     std::optional<std::chrono::steady_clock::time_point> deadline,
                     const std::function<void()>& on_deadline) {
  io.restart();
  bool late = false;
  while (!done()) {
    if (deadline && !late) {
      if (io.run_one_until(*deadline) > 0) continue;
      if (io.stopped()) return DriveEnd::out_of_work;
      late = true;
      on_deadline();
    } else if (io.run_one() == 0) {
      return DriveEnd::out_of_work;
    }
  }
  return late ? DriveEnd::late : DriveEnd::in_time;
}

}  // namespace projectord
