#include <catch2/catch.hpp>

#include "sources/postgres/settled_horizon.hpp"
#include "fake_clock.hpp"

using namespace std::chrono_literals;
using projectord::config::CommitOrder;
using projectord::testing::FakeClock;
using projectord::sources::SettledHorizon;
using projectord::sources::SnapshotInfo;

TEST_CASE("a serialized store settles every position up to the visible head at once") {
  FakeClock clock;
  SettledHorizon horizon(CommitOrder::serialized, 500ms, 5min, clock);
  horizon.observe({.xmin = 100, .xmax = 105, .head = 42}, clock.now());
  CHECK(horizon.bound() == 42);
}

TEST_CASE("a concurrent store settles a head only after its writers ended and the grace passed") {
  FakeClock clock;
  SettledHorizon horizon(CommitOrder::concurrent, 500ms, 5min, clock);
  horizon.observe({.xmin = 100, .xmax = 105, .head = 42}, clock.now());
  CHECK(horizon.bound() == 0);

  SECTION("writers ended but the grace has not passed") {
    clock.advance(100ms);
    horizon.observe({.xmin = 105, .xmax = 106, .head = 42}, clock.now());
    CHECK(horizon.bound() == 0);
  }
  SECTION("the grace passed but a transaction that was running is still running") {
    clock.advance(600ms);
    horizon.observe({.xmin = 104, .xmax = 110, .head = 50}, clock.now());
    CHECK(horizon.bound() == 0);
    REQUIRE(horizon.oldest_pending());
    CHECK(horizon.oldest_pending()->head == 42);
    CHECK(horizon.oldest_pending()->blocking_xmin == 104);
  }
  SECTION("both: the head seen in the first snapshot is settled, a later one not yet") {
    clock.advance(200ms);
    horizon.observe({.xmin = 104, .xmax = 110, .head = 50}, clock.now());
    clock.advance(400ms);
    horizon.observe({.xmin = 110, .xmax = 110, .head = 50}, clock.now());
    CHECK(horizon.bound() == 42);
    clock.advance(400ms);
    horizon.observe({.xmin = 110, .xmax = 111, .head = 50}, clock.now());  // 110 may own a position below 50
    CHECK(horizon.bound() == 42);
    horizon.observe({.xmin = 111, .xmax = 111, .head = 50}, clock.now());
    CHECK(horizon.bound() == 50);
  }
}

TEST_CASE("a writer that took its position before the snapshot and its xid after it holds the head back until it ends") {
  FakeClock clock;
  SettledHorizon horizon(CommitOrder::concurrent, 500ms, 5min, clock);
  // Head 42 seen while the writer of position 41 had taken nextval but not written yet: it is not running as
  // far as the snapshot knows, and its xid (107) will be above this snapshot's xmax.
  horizon.observe({.xmin = 105, .xmax = 105, .head = 42}, clock.now());
  clock.advance(100ms);
  horizon.observe({.xmin = 107, .xmax = 108, .head = 42}, clock.now());  // 41's writer has its xid now and holds it open
  clock.advance(500ms);
  horizon.observe({.xmin = 107, .xmax = 108, .head = 42}, clock.now());  // a grace after: xmin 107 >= 105, yet 107 still runs
  CHECK(horizon.bound() == 0);
  clock.advance(14s);
  horizon.observe({.xmin = 107, .xmax = 109, .head = 42}, clock.now());
  CHECK(horizon.bound() == 0);
  horizon.observe({.xmin = 109, .xmax = 109, .head = 42}, clock.now());  // it ended
  CHECK(horizon.bound() == 42);
}

TEST_CASE("a transaction holding xmin back stalls the horizon only until max_hole_wait") {
  FakeClock clock;
  SettledHorizon horizon(CommitOrder::concurrent, 500ms, 10s, clock);
  horizon.observe({.xmin = 100, .xmax = 105, .head = 42}, clock.now());
  clock.advance(9s);
  horizon.observe({.xmin = 100, .xmax = 200, .head = 60}, clock.now());
  CHECK(horizon.bound() == 0);
  CHECK(horizon.forced_advances() == 0);
  clock.advance(2s);
  horizon.observe({.xmin = 100, .xmax = 200, .head = 60}, clock.now());
  CHECK(horizon.bound() == 42);
  CHECK(horizon.forced_advances() == 1);
}

TEST_CASE("the next deadline is one grace after the oldest pending head was seen") {
  FakeClock clock;
  SettledHorizon horizon(CommitOrder::concurrent, 500ms, 5min, clock);
  CHECK_FALSE(horizon.next_deadline());
  const auto start = clock.now();
  horizon.observe({.xmin = 1, .xmax = 2, .head = 3}, clock.now());
  REQUIRE(horizon.next_deadline());
  CHECK(*horizon.next_deadline() == start + 500ms);
}

TEST_CASE("a head below the bound (a table emptied or restored from an older backup) lowers the bound to it") {
  FakeClock clock;
  SettledHorizon horizon(CommitOrder::concurrent, 500ms, 5min, clock);
  horizon.observe({.xmin = 1, .xmax = 2, .head = 30}, clock.now());
  clock.advance(600ms);
  horizon.observe({.xmin = 3, .xmax = 3, .head = 30}, clock.now());
  REQUIRE(horizon.bound() == 30);
  horizon.observe({.xmin = 5, .xmax = 6, .head = 10}, clock.now());
  CHECK(horizon.bound() == 10);
  // The new rows above it settle as any others do: not before their writers ended and the grace passed.
  horizon.observe({.xmin = 5, .xmax = 7, .head = 20}, clock.now());
  CHECK(horizon.bound() == 10);
  clock.advance(600ms);
  horizon.observe({.xmin = 8, .xmax = 8, .head = 20}, clock.now());
  CHECK(horizon.bound() == 20);
}

TEST_CASE("a snapshot another lane read counts from when it was observed, not from when it is fed") {
  FakeClock clock;
  SettledHorizon horizon(CommitOrder::concurrent, 500ms, 5min, clock);
  const auto start = clock.now();
  horizon.observe({.xmin = 100, .xmax = 105, .head = 42}, start);
  clock.advance(1s);
  // Observed 300 ms after the head was seen: within the grace, so no fence, however late it is fed.
  horizon.observe({.xmin = 105, .xmax = 106, .head = 42}, start + 300ms);
  CHECK(horizon.last_observed() == start + 300ms);
  CHECK(horizon.bound() == 0);
  horizon.observe({.xmin = 105, .xmax = 107, .head = 42}, start + 600ms);  // the fence: 107
  CHECK(horizon.bound() == 0);
  horizon.observe({.xmin = 107, .xmax = 107, .head = 42}, start + 700ms);
  CHECK(horizon.bound() == 42);
}
