#include "base/backoff.hpp"

#include <algorithm>
#include <random>

namespace projectord {

std::chrono::milliseconds Backoff::next() {
  thread_local std::minstd_rand random{std::random_device{}()};
  const auto delay = next_;
  next_ = std::min(max_, next_ * 2);
  std::uniform_int_distribution<std::chrono::milliseconds::rep> jitter(delay.count() / 2, delay.count());
  return std::chrono::milliseconds(jitter(random));
}

}  // namespace projectord
