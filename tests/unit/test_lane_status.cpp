// What a lane publishes (daemon/lane_status.hpp, daemon/lane/status_board.hpp) and the operators' dead-letter
// requests it queues (daemon/lane/dead_letter_requests.hpp).
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "daemon/lane/dead_letter_requests.hpp"
#include "daemon/lane/status_board.hpp"

using namespace projectord;

TEST_CASE("every lane state has the name operators and /status see") {
  CHECK(to_string(LaneState::starting) == "starting");
  CHECK(to_string(LaneState::catching_up) == "catching_up");
  CHECK(to_string(LaneState::idle) == "idle");
  CHECK(to_string(LaneState::waiting_for_hole) == "waiting_for_hole");
  CHECK(to_string(LaneState::waiting_for_consumer) == "waiting_for_consumer");
  CHECK(to_string(LaneState::reconnecting) == "reconnecting");
  CHECK(to_string(LaneState::paused) == "paused");
  CHECK(to_string(LaneState::halted) == "halted");
  CHECK(to_string(LaneState::stopped) == "stopped");
}

TEST_CASE("the lane status board shows updates and state changes in the next snapshot") {
  StatusBoard board("users");
  CHECK(board.snapshot().state == LaneState::starting);
  board.update([](LaneStatus& s) {
    s.position = 7;
    ++s.dead_letters;
  });
  board.set_state(LaneState::idle, 7);
  const LaneStatus status = board.snapshot();
  CHECK(status.position == 7);
  CHECK(status.dead_letters == 1);
  CHECK(status.state == LaneState::idle);
}

TEST_CASE("lane status snapshots taken on another thread while the lane updates are whole") {
  StatusBoard board("users");
  std::atomic<bool> torn = false;
  std::jthread reader([&](std::stop_token stop) {
    while (!stop.stop_requested()) {
      const LaneStatus status = board.snapshot();
      if (status.position != status.events_applied) torn = true;  // the lane moves both in one update
    }
  });
  for (int i = 1; i <= 2000; ++i) {
    board.update([i](LaneStatus& s) {
      s.position = i;
      s.events_applied = i;
    });
  }
  reader.request_stop();
  reader.join();
  CHECK_FALSE(torn);
}

TEST_CASE("dead-letter requests are queued in order from any thread and taken all at once") {
  DeadLetterRequests requests;
  CHECK(requests.empty());
  requests.add(DeadLetterAction::retry, std::nullopt);
  std::thread([&] { requests.add(DeadLetterAction::drop, 42); }).join();
  CHECK_FALSE(requests.empty());
  const std::vector<DeadLetterRequests::Request> taken = requests.take();
  REQUIRE(taken.size() == 2);
  CHECK(taken[0].action == DeadLetterAction::retry);
  CHECK_FALSE(taken[0].id.has_value());
  CHECK(taken[1].action == DeadLetterAction::drop);
  CHECK(taken[1].id == 42);
  CHECK(requests.empty());
  CHECK(requests.take().empty());
}
