#include "base/stoppable_sleep.hpp"

#include <condition_variable>
#include <mutex>

namespace projectord {

void sleep_unless_stopped(std::chrono::milliseconds delay, std::stop_token stop) {
  // Nothing notifies it: the stop token's callback is what wakes it early.
  std::mutex mutex;
  std::unique_lock lock(mutex);
  std::condition_variable_any never_notified;
  never_notified.wait_for(lock, stop, delay, [] { return false; });
}

}  // namespace projectord
