// The rebuild lanes of one handler sharing one begin and one swap (daemon/lane/rebuild_cohort.hpp).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <thread>

#include "daemon/lane/rebuild_cohort.hpp"

using namespace projectord;

namespace {

// Whether member `index` is seen waiting within a few seconds (other threads arrive meanwhile).
bool seen_waiting(const RebuildCohort& cohort, std::int64_t index) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!cohort.waiting(index)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// A swap that succeeds, counting its runs in `swaps`.
std::function<Result<void>()> counted_swap(std::atomic<int>& swaps) {
  return [&swaps]() -> Result<void> {
    ++swaps;
    return {};
  };
}

}  // namespace

TEST_CASE("a rebuild cohort's begin runs once, and again after one that threw") {
  RebuildCohort cohort(3);
  int runs = 0;
  CHECK_THROWS_AS(cohort.begin_once([&] {
    ++runs;
    throw std::runtime_error("connection lost");
  }),
                  std::runtime_error);
  cohort.begin_once([&] { ++runs; });
  cohort.begin_once([&] { ++runs; });
  CHECK(runs == 2);
}

TEST_CASE("the last member of a rebuild cohort to arrive swaps once for all, and the others get its outcome") {
  RebuildCohort cohort(3);
  std::atomic<int> swaps = 0;
  const auto swap = counted_swap(swaps);
  std::optional<Result<void>> first;
  std::optional<Result<void>> second;
  std::jthread member0([&](std::stop_token stop) { first = cohort.arrive(0, stop, swap); });
  REQUIRE(seen_waiting(cohort, 0));
  std::jthread member1([&](std::stop_token stop) { second = cohort.arrive(1, stop, swap); });
  REQUIRE(seen_waiting(cohort, 1));
  CHECK_FALSE(cohort.waiting(2));
  const std::optional<Result<void>> last = cohort.arrive(2, {}, swap);
  member0.join();
  member1.join();
  CHECK(swaps == 1);
  REQUIRE(last.has_value());
  CHECK(last->has_value());
  REQUIRE(first.has_value());
  CHECK(first->has_value());
  REQUIRE(second.has_value());
  CHECK(second->has_value());
  CHECK_FALSE(cohort.waiting(0));
}

TEST_CASE("a rebuild cohort's failed swap is every member's outcome") {
  RebuildCohort cohort(2);
  std::optional<Result<void>> first;
  std::jthread member0([&](std::stop_token stop) { first = cohort.arrive(0, stop, [] { return Result<void>{}; }); });
  REQUIRE(seen_waiting(cohort, 0));
  const auto last = cohort.arrive(1, {}, []() -> Result<void> { return fail("the shadow holds no table"); });
  member0.join();
  REQUIRE(first.has_value());
  REQUIRE_FALSE(first->has_value());
  CHECK(first->error() == "the shadow holds no table");
  REQUIRE(last.has_value());
  CHECK_FALSE(last->has_value());
}

TEST_CASE("a stopped member of a rebuild cohort leaves without a swap, and its next arrival counts again") {
  RebuildCohort cohort(2);
  std::atomic<int> swaps = 0;
  const auto swap = counted_swap(swaps);
  std::optional<Result<void>> stopped = Result<void>{};
  {
    std::jthread member0([&](std::stop_token stop) { stopped = cohort.arrive(0, stop, swap); });
    REQUIRE(seen_waiting(cohort, 0));
  }  // request_stop and join
  CHECK_FALSE(stopped.has_value());
  CHECK_FALSE(cohort.waiting(0));

  // The other member arriving alone waits: member 0 is no longer there.
  std::optional<Result<void>> second;
  std::jthread member1([&](std::stop_token stop) { second = cohort.arrive(1, stop, swap); });
  REQUIRE(seen_waiting(cohort, 1));
  CHECK(swaps == 0);
  const auto again = cohort.arrive(0, {}, swap);
  member1.join();
  CHECK(swaps == 1);
  REQUIRE(again.has_value());
  CHECK(again->has_value());
  REQUIRE(second.has_value());
}

TEST_CASE("a rebuild cohort's swap that threw leaves the others waiting for the swapper to arrive again") {
  RebuildCohort cohort(2);
  std::optional<Result<void>> first;
  std::jthread member0([&](std::stop_token stop) { first = cohort.arrive(0, stop, [] { return Result<void>{}; }); });
  REQUIRE(seen_waiting(cohort, 0));
  CHECK_THROWS_AS(cohort.arrive(1, {}, []() -> Result<void> { throw std::runtime_error("lock timeout"); }),
                  std::runtime_error);
  CHECK(cohort.waiting(0));
  const auto retried = cohort.arrive(1, {}, [] { return Result<void>{}; });
  member0.join();
  REQUIRE(retried.has_value());
  CHECK(retried->has_value());
  REQUIRE(first.has_value());
  CHECK(first->has_value());
}
