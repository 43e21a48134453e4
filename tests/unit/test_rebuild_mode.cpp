// A rebuild lane's pacing (daemon/lane/rebuild_mode.hpp); its shadow and swap are covered against a server by
// integration/test_rebuild_swap.cpp and blackbox/test_rebuild.cpp.
#include <catch2/catch.hpp>

#include "daemon/lane/rebuild_mode.hpp"

using namespace projectord;
using namespace std::chrono_literals;

TEST_CASE("a throttled rebuild's next read is due when its session's rows fit max_rate") {
  RebuildMode rebuild("users", "users", {false, "http", 100});
  REQUIRE(rebuild.throttled());
  const projectord::Clock::time_point start{std::chrono::seconds(1000)};
  rebuild.start_reading(start);
  CHECK(rebuild.next_read_due(50) == start + 500ms);
  CHECK(rebuild.next_read_due(50) == start + 1s);
  CHECK(rebuild.next_read_due(0) == start + 1s);

  const projectord::Clock::time_point next_session = start + 1h;
  rebuild.start_reading(next_session);  // each session counts from its own start
  CHECK(rebuild.next_read_due(100) == next_session + 1s);
}

TEST_CASE("a rebuild with max_rate 0 is not throttled") {
  CHECK_FALSE(RebuildMode("users", "users", {true, "SIGUSR1", 0}).throttled());
}

TEST_CASE("while its source is not written, a rebuild reads full batches") {
  RebuildMode rebuild("users", "users", {false, "http", 0});
  CHECK(rebuild.read_limit(5000, false) == 5000);
  CHECK_FALSE(rebuild.under_writes());
}
