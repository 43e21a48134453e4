#include "daemon/backoff.hpp"

#include <algorithm>
#include <random>

namespace projectord {

config::Duration Backoff::next() {
  thread_local std::minstd_rand random{std::random_device{}()};
  const auto delay = next_;
  next_ = std::min(max_, next_ * 2);
  std::uniform_int_distribution<config::Duration::rep> jitter(delay.count() / 2, delay.count());
  return config::Duration(jitter(random));
}

}  // namespace projectord
