#include <catch2/catch.hpp>
#include <stop_token>
#include <thread>

#include "daemon/lane_control.hpp"

TEST_CASE("lane control pauses and resumes, and a halted lane is resumed (retry) or skipped, never paused") {
  using projectord::LaneControl;
  using projectord::LaneState;
  LaneControl control("users");
  CHECK_FALSE(control.resume(LaneState::idle).has_value());  // nothing to resume
  REQUIRE(control.pause(LaneState::catching_up).has_value());
  CHECK(control.pause_requested());
  std::thread resumer([&] { REQUIRE(control.resume(LaneState::paused).has_value()); });
  control.wait_while_paused(std::stop_token());  // returns once resumed
  resumer.join();
  CHECK_FALSE(control.pause_requested());

  CHECK_THAT(control.pause(LaneState::halted).error(), Catch::Contains("skip or resume it"));
  CHECK_THAT(control.skip(LaneState::idle, 0).error(), Catch::Contains("only a halted handler"));
  CHECK_THAT(control.skip(LaneState::halted, 0).error(), Catch::Contains("still entering its halt"));
  REQUIRE(*control.skip(LaneState::halted, 42) == 42);
  CHECK(control.skip_requested(42));
  CHECK(control.wait_in_halt(42, std::stop_token()) == LaneControl::Verdict::skip);
  control.skipped(42);
  CHECK_FALSE(control.skip_requested(42));

  REQUIRE(control.resume(LaneState::halted).has_value());
  CHECK(control.wait_in_halt(43, std::stop_token()) == LaneControl::Verdict::retry);

  std::stop_source stop;
  std::thread stopper([&] { stop.request_stop(); });
  CHECK(control.wait_in_halt(44, stop.get_token()) == LaneControl::Verdict::stop);
  stopper.join();
}
