#pragma once
/// Runs an io_context on the calling thread until a condition holds: the blocking calls a lane or a handler
/// makes over a connection with an io_context of its own (a Redis stream reader, a Redis sink). At the
/// deadline `on_deadline` runs once and must make what is in flight complete (closing the connection does);
/// the loop then runs on until the condition holds, so that nothing the call started outlives it.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <optional>

namespace projectord {

enum class DriveEnd {
  in_time,      ///< `done` held before the deadline
  late,         ///< the deadline came first; on_deadline ran, then `done` held
  out_of_work,  ///< the io_context had nothing left to run and `done` does not hold
};

/// Without a deadline the loop waits for `done` for as long as it takes.
DriveEnd drive_until(boost::asio::io_context& io, const std::function<bool()>& done,
                     std::optional<std::chrono::steady_clock::time_point> deadline,
                     const std::function<void()>& on_deadline);

}  // namespace projectord
