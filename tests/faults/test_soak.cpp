// Soak: one daemon under the storm's load (tests/faults/storm.hpp) for PROJECTORD_SOAK_MINUTES (30 unless set),
// with a rebuild of users every 2 minutes and a reload that restarts a handler every 3; its resident memory and
// descriptors, sampled every 10 s, stay flat. Hidden from ctest: `scripts/test.sh --soak` runs it.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "tests/faults/storm.hpp"
#include "tests/support/process_stats.hpp"

using namespace std::chrono_literals;
using projectord::testing::faults::Storm;

namespace {

struct Sample {
  std::int64_t rss_kib = 0;
  std::int64_t fds = 0;
};

std::chrono::minutes soak_duration() {
  const char* text = std::getenv("PROJECTORD_SOAK_MINUTES");
  return std::chrono::minutes(text != nullptr && *text != '\0' ? std::stoi(text) : 30);
}

// The largest (or smallest) of samples [from, to) by `field`.
std::int64_t most(const std::vector<Sample>& samples, std::size_t from, std::size_t to, std::int64_t Sample::*field) {
  std::int64_t found = samples[from].*field;
  for (std::size_t i = from; i < to; ++i) found = std::max(found, samples[i].*field);
  return found;
}
std::int64_t least(const std::vector<Sample>& samples, std::size_t from, std::size_t to, std::int64_t Sample::*field) {
  std::int64_t found = samples[from].*field;
  for (std::size_t i = from; i < to; ++i) found = std::min(found, samples[i].*field);
  return found;
}

}  // namespace

TEST_CASE("under the storm's load with rebuilds and reloads the daemon's memory and descriptors stay flat",
          "[.soak]") {
  const auto duration = soak_duration();
  Storm storm("soak, " + std::to_string(duration.count()) + " min");
  storm.start_writers(20000, 500ms);  // about 50 events/s: the receiver keeps every request for the end
  auto& daemon = storm.daemon();

  constexpr auto kSampleEvery = 10s;
  constexpr auto kRebuildEvery = 2min;
  constexpr auto kReloadEvery = 3min;
  const auto start = std::chrono::steady_clock::now();
  auto next_rebuild = start + kRebuildEvery;
  auto next_reload = start + kReloadEvery;
  std::vector<Sample> samples;
  while (std::chrono::steady_clock::now() - start < duration) {
    std::this_thread::sleep_for(kSampleEvery);  // the sampling period
    REQUIRE(daemon.running());
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_rebuild) {
      storm.request_rebuild();
      ++storm.figures().faults_injected;
      next_rebuild += kRebuildEvery;
    }
    if (now >= next_reload) {
      storm.reload();
      ++storm.figures().faults_injected;
      next_reload += kReloadEvery;
    }
    storm.figures().observe(daemon.pid());
    samples.push_back({projectord::testing::rss_kib(daemon.pid()), projectord::testing::open_fds(daemon.pid())});
    std::cout << "soak: " << std::chrono::duration_cast<std::chrono::seconds>(now - start).count() << " s, RSS "
              << samples.back().rss_kib / 1024 << " MiB, " << samples.back().fds << " fds" << std::endl;
  }

  // Flat: the last third's highest RSS within 10% + 4 MiB of the first third's, and its fewest descriptors no more
  // than the first third's fewest (a rebuild's connections come and go; a leak raises the floor).
  REQUIRE(samples.size() >= 3);
  const std::size_t third = samples.size() / 3;
  const std::int64_t first_rss = most(samples, 0, third, &Sample::rss_kib);
  const std::int64_t last_rss = most(samples, samples.size() - third, samples.size(), &Sample::rss_kib);
  const std::int64_t first_fds = least(samples, 0, third, &Sample::fds);
  const std::int64_t last_fds = least(samples, samples.size() - third, samples.size(), &Sample::fds);
  INFO("RSS at most " << first_rss << " KiB in the first third, " << last_rss << " KiB in the last; fds at least "
                      << first_fds << " and " << last_fds);
  CHECK(last_rss <= first_rss + first_rss / 10 + 4 * 1024);
  CHECK(last_fds <= first_fds);

  storm.finish_and_check();
}
