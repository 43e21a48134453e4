#pragma once
/// Time as the daemon sees it; a seam so the hole algorithm can be tested with a fake clock.
#include <chrono>

namespace projectord {

class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::steady_clock::duration;
  virtual ~Clock() = default;
  virtual time_point now() const = 0;
};

class SteadyClock final : public Clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
};

}  // namespace projectord
