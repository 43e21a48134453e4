#include <catch2/catch.hpp>
#include <utility>
#include <vector>

#include "daemon/checkpoint_waiters.hpp"
#include "fake_clock.hpp"

using namespace std::chrono_literals;
using projectord::CheckpointWaiters;
using projectord::Position;
using projectord::testing::FakeClock;

TEST_CASE("a checkpoint wait completes at once, on a later commit, or never after its deadline") {
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
