#pragma once
/// A clock that moves only when the test says so.
#include "base/clock.hpp"

namespace projectord::testing {

class FakeClock final : public Clock {
 public:
  time_point now() const override { return now_; }
  void advance(std::chrono::milliseconds by) { now_ += by; }

 private:
  time_point now_{};
};

}  // namespace projectord::testing
