// The lane's late rows (daemon/lane/late_rows.hpp) over a source that holds what its recheck found: the order
// of the lane's steps, one row at a time, and the count in late_arrivals.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "daemon/lane/late_rows.hpp"
#include "tests/support/quiet_source.hpp"

using namespace projectord;
using projectord::testing::QuietSource;

namespace {

QuietSource rechecked(std::vector<Position> late, bool holes_changed) {
  QuietSource source;
  for (const Position position : late) {
    Event event;
    event.position = position;
    event.type = "Late";
    source.late.push_back({position, event});
  }
  source.holes_changed = holes_changed;
  return source;
}

// The lane's side: records each step it is asked for, in order; `apply` ends the session at `ending`.
struct RecordedSteps {
  std::vector<std::string> calls;
  Position ending = 0;

  LateRows::Steps steps() {
    return {
        [this]() -> Step {
          calls.push_back("make_room");
          return std::nullopt;
        },
        [this](std::vector<SourceRow>& one) -> Step {
          calls.push_back("apply " + std::to_string(one.size()) + " row at " + std::to_string(one.front().position));
          if (one.front().position == ending) return SessionEnd::resumed;
          return std::nullopt;
        },
        [this] { calls.push_back("store_holes"); }};
  }
};

}  // namespace

TEST_CASE("with no late rows and no change to the holes, none of the lane's steps is taken") {
  QuietSource source = rechecked({}, false);
  StatusBoard board("h");
  RecordedSteps lane;

  CHECK_FALSE(LateRows("h", source, board).apply(10, lane.steps()));
  CHECK(lane.calls.empty());
  CHECK(board.snapshot().late_arrivals == 0);
}

TEST_CASE("late rows are applied one at a time after the lane made room, each counted as a late arrival") {
  QuietSource source = rechecked({4, 7}, true);
  StatusBoard board("h");
  RecordedSteps lane;

  CHECK_FALSE(LateRows("h", source, board).apply(10, lane.steps()));
  CHECK(lane.calls == std::vector<std::string>{"make_room", "apply 1 row at 4", "apply 1 row at 7"});
  CHECK(board.snapshot().late_arrivals == 2);
}

TEST_CASE("a change to the holes alone is stored with the checkpoint, no row applied") {
  QuietSource source = rechecked({}, true);
  StatusBoard board("h");
  RecordedSteps lane;

  CHECK_FALSE(LateRows("h", source, board).apply(10, lane.steps()));
  CHECK(lane.calls == std::vector<std::string>{"make_room", "store_holes"});
  CHECK(board.snapshot().late_arrivals == 0);
}

TEST_CASE("a late row whose application ends the session ends it, the rows after it left alone") {
  QuietSource source = rechecked({4, 7}, false);
  StatusBoard board("h");
  RecordedSteps lane;
  lane.ending = 4;

  CHECK(LateRows("h", source, board).apply(10, lane.steps()) == SessionEnd::resumed);
  CHECK(lane.calls == std::vector<std::string>{"make_room", "apply 1 row at 4"});
  CHECK(board.snapshot().late_arrivals == 1);
}

TEST_CASE("when making room ends the session, no late row is applied") {
  QuietSource source = rechecked({4}, false);
  StatusBoard board("h");
  LateRows::Steps steps{[]() -> Step { return SessionEnd::rewind; },
                        [](std::vector<SourceRow>&) -> Step {
                          FAIL("applied a row after the session ended");
                          return std::nullopt;
                        },
                        [] { FAIL("stored the holes after the session ended"); }};

  CHECK(LateRows("h", source, board).apply(10, steps) == SessionEnd::rewind);
  CHECK(board.snapshot().late_arrivals == 0);
}
