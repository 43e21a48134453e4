#include <catch2/catch.hpp>

#include <algorithm>

#include "daemon/lane_health.hpp"
#include "fake_clock.hpp"

using namespace std::chrono_literals;
using projectord::assess;
using projectord::HealthLimits;
using projectord::LaneState;
using projectord::LaneStatus;
using projectord::testing::FakeClock;

namespace {

LaneStatus behind(LaneState state, FakeClock& clock, std::chrono::milliseconds since) {
  LaneStatus status;
  status.state = state;
  status.position = 10;
  status.head = 50;
  status.behind_since = clock.now();
  status.last_progress = clock.now();
  clock.advance(since);
  return status;
}

}  // namespace

TEST_CASE("a lane's health is stuck and not ready when it is behind without progress for stuck_after") {
  FakeClock clock;
  const HealthLimits limits{.stuck_after = 60s, .ready_max_lag = 10min};
  LaneStatus status = behind(LaneState::catching_up, clock, 30s);
  auto health = assess(status, clock.now(), limits);
  CHECK(health.state == "catching_up");
  CHECK(health.ready);
  CHECK(health.lag_positions == 40);
  CHECK(health.lag_seconds == Approx(30));

  clock.advance(31s);
  health = assess(status, clock.now(), limits);
  CHECK(health.state == "stuck");
  CHECK_FALSE(health.ready);
  CHECK_THAT(health.reason, Catch::Contains("no progress for 61 s while 40 positions wait"));
}

TEST_CASE("a lane idle at the head for long that falls behind is owed progress only from then") {
  FakeClock clock;
  LaneStatus status;
  status.state = LaneState::catching_up;
  status.position = 10;
  status.last_progress = clock.now();
  clock.advance(1h);
  status.head = 20;
  status.behind_since = clock.now();
  clock.advance(2s);
  CHECK(assess(status, clock.now(), {.stuck_after = 60s, .ready_max_lag = 10min}).state == "catching_up");
}

TEST_CASE("a lane's health names the transaction holding a hole open past stuck_after") {
  FakeClock clock;
  LaneStatus status = behind(LaneState::waiting_for_hole, clock, 1s);
  status.oldest_hole_wait = 90s;
  status.blocking_xmin = 4711;
  const auto health = assess(status, clock.now(), {.stuck_after = 60s, .ready_max_lag = 10min});
  CHECK(health.state == "stuck");
  CHECK_THAT(health.reason, Catch::Contains("xid 4711"));
}

TEST_CASE("a lane waiting for another consumer's entry says so, and is stuck once it waits past stuck_after") {
  FakeClock clock;
  const HealthLimits limits{.stuck_after = 60s, .ready_max_lag = 10min};
  LaneStatus status = behind(LaneState::waiting_for_consumer, clock, 1s);
  status.lag_events = 0;  // a Redis lane counts its lag in entries: the one it waits for is not delivered to it
  CHECK(assess(status, clock.now(), limits).state == "waiting_for_consumer");
  CHECK(std::find(projectord::kReportedStates.begin(), projectord::kReportedStates.end(), "waiting_for_consumer") !=
        projectord::kReportedStates.end());
  clock.advance(61s);
  CHECK(assess(status, clock.now(), limits).state == "stuck");
}

TEST_CASE("a lane's health calls one unit of work running past stuck_after a hung server or a lock") {
  FakeClock clock;
  LaneStatus status = behind(LaneState::catching_up, clock, 0s);
  status.busy_since = clock.now();
  clock.advance(61s);
  status.last_progress = clock.now();  // progress elsewhere does not hide a hung call
  const auto health = assess(status, clock.now(), {.stuck_after = 60s, .ready_max_lag = 10min});
  CHECK(health.state == "stuck");
  CHECK_THAT(health.reason, Catch::Contains("hung database server or a lock"));
}

TEST_CASE("a lane whose session setup has waited past stuck_after is stuck, not starting") {
  FakeClock clock;
  LaneStatus status = behind(LaneState::starting, clock, 0s);
  status.busy_since = clock.now();
  clock.advance(30s);
  CHECK(assess(status, clock.now(), {.stuck_after = 60s, .ready_max_lag = 10min}).state == "starting");
  clock.advance(31s);
  const auto health = assess(status, clock.now(), {.stuck_after = 60s, .ready_max_lag = 10min});
  CHECK(health.state == "stuck");
  CHECK_THAT(health.reason, Catch::Contains("hung database server or a lock"));
}

TEST_CASE("a growing lag makes a catching-up lane's health slow, a lag over ready_max_lag makes it unready") {
  FakeClock clock;
  LaneStatus status = behind(LaneState::catching_up, clock, 20s);
  status.lag_growing = true;
  status.last_progress = clock.now();
  auto health = assess(status, clock.now(), {.stuck_after = 60s, .ready_max_lag = 10s});
  CHECK(health.state == "slow");
  CHECK_FALSE(health.ready);  // behind for 20 s > 10 s
  health = assess(status, clock.now(), {.stuck_after = 60s, .ready_max_lag = 30s});
  CHECK(health.ready);
}

TEST_CASE("a halted lane is never ready, paused and idle ones are") {
  FakeClock clock;
  LaneStatus status;
  status.state = LaneState::halted;
  status.last_error = "handler users failed on source shop position 7";
  auto health = assess(status, clock.now(), {});
  CHECK(health.state == "halted");
  CHECK_FALSE(health.ready);
  CHECK(health.reason == status.last_error);
  status.state = LaneState::paused;
  CHECK(assess(status, clock.now(), {}).ready);
  status.state = LaneState::idle;
  CHECK(assess(status, clock.now(), {}).ready);
  status.state = LaneState::reconnecting;
  CHECK_FALSE(assess(status, clock.now(), {}).ready);
}

TEST_CASE("a lane whose source went backwards is source_rewound and not ready, however small its lag") {
  FakeClock clock;
  LaneStatus status;
  status.state = LaneState::source_rewound;
  status.position = 50;
  status.head = 10;
  status.last_error = "the source's head 10 is below the checkpoint 50: the store went backwards";
  const auto health = assess(status, clock.now(), {});
  CHECK(health.state == "source_rewound");
  CHECK_FALSE(health.ready);
  CHECK(health.reason == status.last_error);
  CHECK(health.lag_positions == 0);
  CHECK(std::find(projectord::kReportedStates.begin(), projectord::kReportedStates.end(), "source_rewound") !=
        projectord::kReportedStates.end());
}
