#pragma once
/// Wakes the lanes of one source: the NOTIFY listener bumps it, shutdown bumps it, lanes wait on it with a
/// timeout (the poll interval or a hole's deadline). A generation counter makes a wake-up that arrives
/// between a lane's read and its wait count: the lane passes the generation it saw before reading.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stop_token>

namespace projectord {

class WakeSignal {
 public:
  std::uint64_t generation() const {
    std::lock_guard lock(mutex_);
    return generation_;
  }

  void notify() {
    {
      std::lock_guard lock(mutex_);
      ++generation_;
    }
    changed_.notify_all();
  }

  /// Returns when the generation differs from `seen`, the timeout passed or stop was requested.
  void wait(std::uint64_t seen, std::chrono::milliseconds timeout, std::stop_token stop) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, stop, timeout, [&] { return generation_ != seen; });
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable_any changed_;
  std::uint64_t generation_ = 0;
};

}  // namespace projectord
