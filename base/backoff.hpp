#pragma once
/// Capped exponential backoff with jitter: initial, 2x, 4x, ... up to max, each delay drawn uniformly from
/// [delay/2, delay] so that many lanes reconnecting after a server restart do not stampede together.
#include <chrono>

namespace projectord {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max) : initial_(initial), max_(max), next_(initial) {}
  std::chrono::milliseconds next();
  void reset() { next_ = initial_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds next_;
};

}  // namespace projectord
