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

TEST_CASE("a wait on a partitioned handler completes once every partition's checkpoint is past the position") {
  FakeClock clock;
  CheckpointWaiters waiters(clock);
  std::vector<Position> reached;
  waiters.wait("hook", 5, clock.now() + 1s, [&](Position p) { reached.push_back(p); });
  waiters.partition_advanced("hook", 0, 3, 9);
  waiters.partition_advanced("hook", 2, 3, 7);
  CHECK(reached.empty());  // partition 1 has reported nothing yet
  CHECK_FALSE(waiters.position("hook"));
  waiters.partition_advanced("hook", 1, 3, 4);
  CHECK(reached.empty());  // the handler is at 4, the least
  CHECK(waiters.position("hook") == 4);
  waiters.partition_advanced("hook", 1, 3, 6);
  CHECK(reached == std::vector<Position>{6});
  // A reload to another count starts over: the old partitions' positions say nothing of the new ones.
  waiters.partition_advanced("hook", 0, 2, 20);
  waiters.wait("hook", 8, clock.now() + 1s, [&](Position p) { reached.push_back(p); });
  CHECK(reached.size() == 1);
  waiters.partition_advanced("hook", 1, 2, 8);
  CHECK(reached == std::vector<Position>{6, 8});
}
