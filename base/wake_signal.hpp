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

  /// Wakes the waiters without news: only one whose `also` (see wait) has become true returns.
  void nudge() {
    { const std::lock_guard lock(mutex_); }  // a waiter between its check and its sleep gets the notification
    changed_.notify_all();
  }

  /// Returns when the generation differs from `seen`, `also` returns true (checked at each wake-up), the
  /// timeout passed or stop was requested.
  template <class Also>
  void wait(std::uint64_t seen, std::chrono::milliseconds timeout, std::stop_token stop, Also also) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, stop, timeout, [&] { return generation_ != seen || also(); });
  }
  void wait(std::uint64_t seen, std::chrono::milliseconds timeout, std::stop_token stop) {
    wait(seen, timeout, stop, [] { return false; });
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable_any changed_;
  std::uint64_t generation_ = 0;
};

}  // namespace projectord
