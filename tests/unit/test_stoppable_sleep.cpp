#include <catch2/catch.hpp>

#include <chrono>
#include <stop_token>
#include <thread>

#include "base/stoppable_sleep.hpp"

using namespace projectord;
using namespace std::chrono_literals;

TEST_CASE("a stop-aware sleep returns at once when stop was requested before it began") {
  std::stop_source stop;
  stop.request_stop();
  sleep_unless_stopped(std::chrono::hours(1), stop.get_token());
  CHECK(stop.stop_requested());
}

TEST_CASE("a stop-aware sleep ends when another thread requests stop") {
  std::stop_source stop;
  std::jthread sleeper([token = stop.get_token()] { sleep_unless_stopped(std::chrono::hours(1), token); });
  stop.request_stop();
  sleeper.join();  // an hour's sleep that stop did not cut short would hang here until ctest's timeout
  CHECK(stop.stop_requested());
}

TEST_CASE("a stop-aware sleep without stop lasts its delay") {
  const auto started = std::chrono::steady_clock::now();
  sleep_unless_stopped(20ms, std::stop_source().get_token());
  CHECK(std::chrono::steady_clock::now() - started >= 20ms);
}
