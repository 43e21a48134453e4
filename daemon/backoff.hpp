#pragma once
/// Capped exponential backoff with jitter: initial, 2x, 4x, ... up to max, each delay drawn uniformly from
/// [delay/2, delay] so that many lanes reconnecting after a server restart do not stampede together.
#include "config/config.hpp"

namespace projectord {

class Backoff {
 public:
  Backoff(config::Duration initial, config::Duration max) : initial_(initial), max_(max), next_(initial) {}
  config::Duration next();
  void reset() { next_ = initial_; }

 private:
  config::Duration initial_;
  config::Duration max_;
  config::Duration next_;
};

}  // namespace projectord
