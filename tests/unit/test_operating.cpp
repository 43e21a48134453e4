// Pure pieces of operating the daemon: lane health and progress, /wait registrations, histograms, the admin
// token compare and the control channel.
#include <catch2/catch.hpp>
#include <thread>

#include "daemon/checkpoint_waiters.hpp"
#include "daemon/control_channel.hpp"
#include "base/histogram.hpp"
#include "daemon/lane_control.hpp"
#include "daemon/http/endpoints.hpp"
#include "daemon/lane_health.hpp"
#include "daemon/progress_watch.hpp"
#include "fake_clock.hpp"

using namespace std::chrono_literals;
using projectord::assess;
using projectord::CheckpointWaiters;
using projectord::HealthLimits;
using projectord::LaneState;
using projectord::LaneStatus;
using projectord::Position;
using projectord::ProgressWatch;
using projectord::testing::FakeClock;

TEST_CASE("progress watch: lag in seconds runs from when the lane fell behind until it is at the head again") {
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

TEST_CASE("progress watch: the lag is growing only when it grew over a whole window") {
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

TEST_CASE("health: a lane behind without progress for stuck_after is stuck and not ready") {
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

TEST_CASE("health: a lane idle at the head for long that falls behind is owed progress only from then") {
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

TEST_CASE("health: a hole held open past stuck_after names the transaction") {
  FakeClock clock;
  LaneStatus status = behind(LaneState::waiting_for_hole, clock, 1s);
  status.oldest_hole_wait = 90s;
  status.blocking_xmin = 4711;
  const auto health = assess(status, clock.now(), {.stuck_after = 60s, .ready_max_lag = 10min});
  CHECK(health.state == "stuck");
  CHECK_THAT(health.reason, Catch::Contains("xid 4711"));
}

TEST_CASE("health: one unit of work running past stuck_after is a hung server or a lock") {
  FakeClock clock;
  LaneStatus status = behind(LaneState::catching_up, clock, 0s);
  status.busy_since = clock.now();
  clock.advance(61s);
  status.last_progress = clock.now();  // progress elsewhere does not hide a hung call
  const auto health = assess(status, clock.now(), {.stuck_after = 60s, .ready_max_lag = 10min});
  CHECK(health.state == "stuck");
  CHECK_THAT(health.reason, Catch::Contains("hung database server or a lock"));
}

TEST_CASE("health: a growing lag makes a catching-up lane slow, a lag over ready_max_lag makes it unready") {
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

TEST_CASE("health: halted is never ready, paused and idle are") {
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

TEST_CASE("checkpoint waiters: a wait completes at once, on a later commit, or never after its deadline") {
  FakeClock clock;
  CheckpointWaiters waiters(clock);
  std::vector<std::pair<int, Position>> calls;
  auto record = [&](int id) { return [&calls, id](Position p) { calls.emplace_back(id, p); }; };

  waiters.wait("users", 5, clock.now() + 1s, record(1));  // no checkpoint known yet
  CHECK(calls.empty());
  waiters.advanced("users", 3);
  CHECK(calls.empty());
  waiters.advanced("users", 7);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0] == std::pair<int, Position>{1, 7});

  waiters.wait("users", 6, clock.now() + 1s, record(2));  // already reached
  REQUIRE(calls.size() == 2);
  CHECK(calls[1] == std::pair<int, Position>{2, 7});

  waiters.wait("users", 9, clock.now() + 1s, record(3));
  waiters.wait("other", 1, clock.now() + 1s, record(4));
  clock.advance(2s);
  waiters.advanced("users", 10);  // past the deadline: dropped, not called
  CHECK(calls.size() == 2);
  waiters.advanced("other", 1);
  CHECK(calls.size() == 2);  // expired too: a later commit of another handler does not revive it
  CHECK(waiters.position("users") == 10);
  CHECK_FALSE(waiters.position("nobody"));
}

TEST_CASE("histogram: a value lands in the first bucket whose bound holds it, beyond the last only in count") {
  auto histogram = projectord::batch_size_histogram();
  histogram.observe(1);
  histogram.observe(7);
  histogram.observe(5000);
  histogram.observe(1'000'000);
  CHECK(histogram.counts[0] == 1);
  CHECK(histogram.counts[1] == 1);
  CHECK(histogram.counts[6] == 1);
  CHECK(histogram.count == 4);
  CHECK(histogram.sum == Approx(1'005'008));
}

TEST_CASE("the admin token compare: equal only for the same bytes and length") {
  using projectord::http::constant_time_equal;
  CHECK(constant_time_equal("s3cret", "s3cret"));
  CHECK_FALSE(constant_time_equal("s3cret", "s3cre"));
  CHECK_FALSE(constant_time_equal("s3cre", "s3cret"));
  CHECK_FALSE(constant_time_equal("s3cret", "s3creT"));
  CHECK_FALSE(constant_time_equal("", "x"));
  CHECK(constant_time_equal("", ""));
}

TEST_CASE("control channel: 'ACTION HANDLER' payloads, and clear errors for the rest") {
  using projectord::parse_control;
  using projectord::http::AdminAction;
  const auto rebuild = parse_control("rebuild users");
  REQUIRE(rebuild.has_value());
  CHECK(rebuild->action == AdminAction::rebuild);
  CHECK(rebuild->handler == "users");
  CHECK(parse_control("skip user_log")->action == AdminAction::skip);
  CHECK_THAT(parse_control("rebuild").error(), Catch::Contains("expected 'rebuild HANDLER'"));
  CHECK_THAT(parse_control("rebuild a b").error(), Catch::Contains("expected 'rebuild HANDLER'"));
  CHECK(parse_control("drop users")->action == AdminAction::drop);
  CHECK(parse_control("retry users")->action == AdminAction::retry);
  CHECK_FALSE(parse_control("retry users")->dead_letter.has_value());  // all of them
  CHECK_THAT(parse_control("truncate users").error(), Catch::Contains("unknown action 'truncate'"));
  CHECK_FALSE(parse_control("").has_value());
}

TEST_CASE("lane control: pause and resume, a halted lane is resumed (retry) or skipped, never paused") {
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
