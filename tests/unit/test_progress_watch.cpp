#include <catch2/catch.hpp>

#include "daemon/progress_watch.hpp"
#include "fake_clock.hpp"

using namespace std::chrono_literals;
using projectord::ProgressWatch;
using projectord::testing::FakeClock;

TEST_CASE("the progress watch's lag in seconds runs from when the lane fell behind until it is at the head again") {
  FakeClock clock;
  ProgressWatch watch(10s);
  watch.observe(clock.now(), 100, 100);
  CHECK_FALSE(watch.behind_since());
  const auto fell_behind = clock.now() + 1s;
  clock.advance(1s);
  watch.observe(clock.now(), 100, 150);
  clock.advance(3s);
  watch.observe(clock.now(), 120, 160);
  REQUIRE(watch.behind_since());
  CHECK(*watch.behind_since() == fell_behind);
  CHECK(*watch.last_progress() == clock.now());
  clock.advance(1s);
  watch.observe(clock.now(), 160, 160);
  CHECK_FALSE(watch.behind_since());
}

TEST_CASE("the progress watch's lag is growing only when it grew over a whole window") {
  FakeClock clock;
  ProgressWatch watch(10s);
  watch.observe(clock.now(), 0, 1000);  // behind: the window starts at lag 1000
  clock.advance(5s);
  watch.observe(clock.now(), 500, 3000);
  CHECK_FALSE(watch.lag_growing());  // the window is not over yet
  clock.advance(5s);
  watch.observe(clock.now(), 1000, 4000);  // lag 3000 > 1000 after a full window
  CHECK(watch.lag_growing());
  clock.advance(10s);
  watch.observe(clock.now(), 3900, 4500);  // lag 600 < 3000: catching up
  CHECK_FALSE(watch.lag_growing());
}
