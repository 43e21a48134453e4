#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <stdexcept>

#include "fake_clock.hpp"
#include "sources/postgres/shared_reads.hpp"

using namespace std::chrono_literals;
using projectord::Clock;
using projectord::Position;
using projectord::sources::SharedCycle;
using projectord::sources::SharedReads;
using projectord::testing::FakeClock;

namespace {

// What one lane's read of a cycle would give: observed now, at the source's wake generation `generation`.
std::shared_ptr<const SharedCycle> cycle_read(const FakeClock& clock, bool reached_head, std::uint64_t generation = 0) {
  auto cycle = std::make_shared<SharedCycle>();
  cycle->observed = clock.now();
  cycle->reached_head = reached_head;
  cycle->wake_generation = generation;
  return cycle;
}

SharedReads::Ask cycle_after(Position after, Clock::time_point not_before = Clock::time_point::min(),
                              std::uint64_t generation = 0) {
  return {.after = after, .limit = 100, .settled = 0, .not_before = not_before, .wake_generation = generation};
}

// A source's shared reads, asked on one thread by lanes whose reads are counted.
struct CountedReads {
  FakeClock clock;
  SharedReads reads{clock};
  int count = 0;
  bool reached_head = false;     ///< what the next read finds
  std::uint64_t generation = 0;  ///< the wake generation the next read starts at

  SharedReads::Served serve(const SharedReads::Ask& ask) {
    return reads.serve(
        ask,
        [this] {
          ++count;
          return cycle_read(clock, reached_head, generation);
        },
        {});
  }
};

}  // namespace

TEST_CASE("shared reads: a lane asking for the cycle another lane read gets that cycle without reading") {
  CountedReads lanes;
  const auto first = lanes.serve(cycle_after(10));
  lanes.clock.advance(5ms);
  const auto second = lanes.serve(cycle_after(10));
  CHECK(lanes.count == 1);
  CHECK_FALSE(first.shared);
  CHECK(second.shared);
  CHECK(second.cycle == first.cycle);

  SECTION("other bounds are another read") {
    CHECK_FALSE(lanes.serve(cycle_after(20)).shared);
    SharedReads::Ask fewer = cycle_after(10);
    fewer.limit = 50;
    CHECK_FALSE(lanes.serve(fewer).shared);
    SharedReads::Ask other_bound = cycle_after(10);
    other_bound.settled = 7;
    CHECK_FALSE(lanes.serve(other_bound).shared);
    CHECK(lanes.count == 4);
  }
}

TEST_CASE("shared reads: a cycle observed before the asking lane's last one, or the last one itself, is read again") {
  CountedReads lanes;
  const auto start = lanes.clock.now();
  const auto before = lanes.serve(cycle_after(10, start - 1ms));
  lanes.clock.advance(1ms);
  const auto again = lanes.serve(cycle_after(10, lanes.clock.now() - 1ms));
  CHECK(lanes.count == 2);
  CHECK_FALSE(again.shared);
  CHECK(again.cycle != before.cycle);
  // The new one replaced it: a lane whose last cycle is older is served the new one.
  CHECK(lanes.serve(cycle_after(10, start)).cycle == again.cycle);
  // A lane blocked on a hole asks again after its wait: the cycle it took last would show it the same snapshot.
  lanes.clock.advance(5ms);
  const auto blocked = lanes.serve(cycle_after(10, again.cycle->observed));
  CHECK_FALSE(blocked.shared);
  CHECK(lanes.count == 3);
}

TEST_CASE("shared reads: a cycle that reached the head is shared only while no news came, and for a moment") {
  CountedReads lanes;
  lanes.reached_head = true;
  lanes.generation = 3;
  lanes.serve(cycle_after(10, Clock::time_point::min(), 3));
  CHECK(lanes.serve(cycle_after(10, Clock::time_point::min(), 3)).shared);
  CHECK(lanes.count == 1);

  lanes.generation = 4;  // a NOTIFY came
  CHECK_FALSE(lanes.serve(cycle_after(10, Clock::time_point::min(), 4)).shared);
  CHECK(lanes.count == 2);
  lanes.clock.advance(10ms);
  CHECK(lanes.serve(cycle_after(10, Clock::time_point::min(), 4)).shared);
  lanes.clock.advance(1s);  // a source without LISTEN hears of no news: the head is read again
  CHECK_FALSE(lanes.serve(cycle_after(10, Clock::time_point::min(), 4)).shared);
  CHECK(lanes.count == 3);
}

TEST_CASE("shared reads: a failed read goes to the lane that made it, and the next lane reads for itself") {
  CountedReads lanes;
  CHECK_THROWS_AS(lanes.reads.serve(
                      cycle_after(10), [&]() -> std::shared_ptr<const SharedCycle> { throw std::runtime_error("down"); },
                      {}),
                  std::runtime_error);
  CHECK_FALSE(lanes.serve(cycle_after(10)).shared);
  CHECK(lanes.count == 1);
}

TEST_CASE("shared reads: only the newest cycles are kept") {
  CountedReads lanes;
  for (Position after = 1; after <= 5; ++after) lanes.serve(cycle_after(after * 100));
  CHECK(lanes.serve(cycle_after(500)).shared);
  CHECK(lanes.serve(cycle_after(200)).shared);
  CHECK_FALSE(lanes.serve(cycle_after(100)).shared);
  CHECK(lanes.count == 6);
}

namespace {

// One lane reads the cycle after 10; during its read a second lane asks for the same cycle, on a thread of its
// own, with `stop` (requested before the second lane asks when `stop_at_once`). The first lane's read ends
// once the second lane is served or after `patience`.
struct TwoLanes {
  SharedReads::Served first;
  SharedReads::Served second;
  bool second_served_during_the_read = false;
  int reads = 0;
};

TwoLanes second_asks_during_the_read(bool stop_at_once, std::chrono::milliseconds patience) {
  FakeClock clock;
  SharedReads reads(clock);
  std::atomic<int> count = 0;
  std::stop_source stop;
  std::future<SharedReads::Served> second;
  TwoLanes lanes;
  const auto read = [&] {
    ++count;
    return cycle_read(clock, false);
  };
  lanes.first = reads.serve(
      cycle_after(10),
      [&] {
        if (stop_at_once) stop.request_stop();
        second = std::async(std::launch::async, [&] { return reads.serve(cycle_after(10), read, stop.get_token()); });
        lanes.second_served_during_the_read = second.wait_for(patience) == std::future_status::ready;
        return read();
      },
      {});
  lanes.second = second.get();
  lanes.reads = count;
  return lanes;
}

}  // namespace

TEST_CASE("shared reads: a lane that asks while another reads the same cycle waits for that read and shares it") {
  // A second lane that read for itself would be served long before 200 ms.
  const TwoLanes lanes = second_asks_during_the_read(false, 200ms);
  CHECK_FALSE(lanes.second_served_during_the_read);
  CHECK(lanes.reads == 1);
  CHECK(lanes.second.shared);
  CHECK(lanes.second.cycle == lanes.first.cycle);
}

TEST_CASE("shared reads: a lane waiting for another's read and asked to stop reads for itself at once") {
  const TwoLanes lanes = second_asks_during_the_read(true, 10s);
  CHECK(lanes.second_served_during_the_read);
  CHECK_FALSE(lanes.second.shared);
  CHECK(lanes.reads == 2);
}
