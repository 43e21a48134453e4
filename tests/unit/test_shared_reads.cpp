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

SharedReads::Ask cycle_after(Position after, Clock::time_point not_before = {}, std::uint64_t generation = 0) {
  return {.after = after, .limit = 100, .settled = 0, .not_before = not_before, .wake_generation = generation};
}

}  // namespace

TEST_CASE("shared reads: a lane asking for the cycle another lane read gets that cycle without reading") {
  FakeClock clock;
  SharedReads reads(clock);
  int count = 0;
  const auto read = [&] {
    ++count;
    return cycle_read(clock, false);
  };
  const auto first = reads.serve(cycle_after(10), read, {});
  clock.advance(5ms);
  const auto second = reads.serve(cycle_after(10), read, {});
  CHECK(count == 1);
  CHECK_FALSE(first.shared);
  CHECK(second.shared);
  CHECK(second.cycle == first.cycle);

  SECTION("other bounds are another read") {
    CHECK_FALSE(reads.serve(cycle_after(20), read, {}).shared);
    SharedReads::Ask fewer = cycle_after(10);
    fewer.limit = 50;
    CHECK_FALSE(reads.serve(fewer, read, {}).shared);
    SharedReads::Ask other_bound = cycle_after(10);
    other_bound.settled = 7;
    CHECK_FALSE(reads.serve(other_bound, read, {}).shared);
    CHECK(count == 4);
  }
}

TEST_CASE("shared reads: a cycle observed before the asking lane's last one is read again") {
  FakeClock clock;
  SharedReads reads(clock);
  int count = 0;
  const auto read = [&] {
    ++count;
    return cycle_read(clock, false);
  };
  const auto before = reads.serve(cycle_after(10), read, {});
  clock.advance(1ms);
  const auto again = reads.serve(cycle_after(10, clock.now()), read, {});
  CHECK(count == 2);
  CHECK_FALSE(again.shared);
  CHECK(again.cycle != before.cycle);
  // The new one replaced it: a lane whose last cycle is as old is served the new one.
  CHECK(reads.serve(cycle_after(10, clock.now()), read, {}).cycle == again.cycle);
}

TEST_CASE("shared reads: a cycle that reached the head is shared only while no news came, and for a moment") {
  FakeClock clock;
  SharedReads reads(clock);
  int count = 0;
  std::uint64_t generation = 3;
  const auto read = [&] {
    ++count;
    return cycle_read(clock, true, generation);
  };
  reads.serve(cycle_after(10, {}, 3), read, {});
  CHECK(reads.serve(cycle_after(10, {}, 3), read, {}).shared);
  CHECK(count == 1);

  generation = 4;  // a NOTIFY came
  CHECK_FALSE(reads.serve(cycle_after(10, {}, 4), read, {}).shared);
  CHECK(count == 2);
  clock.advance(10ms);
  CHECK(reads.serve(cycle_after(10, {}, 4), read, {}).shared);
  clock.advance(1s);  // a source without LISTEN hears of no news: the head is read again
  CHECK_FALSE(reads.serve(cycle_after(10, {}, 4), read, {}).shared);
  CHECK(count == 3);
}

TEST_CASE("shared reads: a failed read goes to the lane that made it, and the next lane reads for itself") {
  FakeClock clock;
  SharedReads reads(clock);
  CHECK_THROWS_AS(reads.serve(
                      cycle_after(10), [&]() -> std::shared_ptr<const SharedCycle> { throw std::runtime_error("down"); },
                      {}),
                  std::runtime_error);
  int count = 0;
  const auto served = reads.serve(
      cycle_after(10),
      [&] {
        ++count;
        return cycle_read(clock, false);
      },
      {});
  CHECK(count == 1);
  CHECK_FALSE(served.shared);
}

TEST_CASE("shared reads: only the newest cycles are kept") {
  FakeClock clock;
  SharedReads reads(clock);
  int count = 0;
  const auto read = [&] {
    ++count;
    return cycle_read(clock, false);
  };
  for (Position after = 1; after <= 5; ++after) reads.serve(cycle_after(after * 100), read, {});
  CHECK(reads.serve(cycle_after(500), read, {}).shared);
  CHECK(reads.serve(cycle_after(200), read, {}).shared);
  CHECK_FALSE(reads.serve(cycle_after(100), read, {}).shared);
  CHECK(count == 6);
}

TEST_CASE("shared reads: a lane that asks while another reads the same cycle waits for that read and shares it") {
  FakeClock clock;
  SharedReads reads(clock);
  std::atomic<int> count = 0;
  std::future<SharedReads::Served> waiter;
  bool waiter_returned_early = false;
  const auto first = reads.serve(
      cycle_after(10),
      [&] {
        ++count;
        waiter = std::async(std::launch::async, [&] {
          return reads.serve(
              cycle_after(10),
              [&] {
                ++count;
                return cycle_read(clock, false);
              },
              {});
        });
        // A waiter that read for itself would be done long before this.
        waiter_returned_early = waiter.wait_for(200ms) == std::future_status::ready;
        return cycle_read(clock, false);
      },
      {});
  const SharedReads::Served second = waiter.get();
  CHECK_FALSE(waiter_returned_early);
  CHECK(count == 1);
  CHECK(second.shared);
  CHECK(second.cycle == first.cycle);
}

TEST_CASE("shared reads: a lane waiting for another's read and asked to stop reads for itself at once") {
  FakeClock clock;
  SharedReads reads(clock);
  std::atomic<int> count = 0;
  std::stop_source stop;
  std::future<SharedReads::Served> waiter;
  bool waiter_returned = false;
  reads.serve(
      cycle_after(10),
      [&] {
        ++count;
        waiter = std::async(std::launch::async, [&] {
          return reads.serve(
              cycle_after(10),
              [&] {
                ++count;
                return cycle_read(clock, false);
              },
              stop.get_token());
        });
        stop.request_stop();
        waiter_returned = waiter.wait_for(10s) == std::future_status::ready;
        return cycle_read(clock, false);
      },
      {});
  CHECK(waiter_returned);
  CHECK_FALSE(waiter.get().shared);
  CHECK(count == 2);
}
