// kill -9 storm: the daemon killed at random moments (mid-batch, mid-COPY, mid-rebuild, mid-swap and once
// certainly inside the swap, while it waits for a reader of the live table; mid-webhook, mid-XACK) while it
// catches up on a backlog and eight writers commit out of position order; at the end every read model equals
// the plain SQL replay, every event reached the webhook and the stream-fed log.
#include <catch2/catch.hpp>
#include <chrono>

#include "tests/faults/storm.hpp"

using projectord::testing::faults::Storm;

TEST_CASE("a daemon killed fifty times at random moments under out-of-order writers ends with every model exact",
          "[storm]") {
  Storm storm("kill -9 storm");
  storm.start_writers(20000, std::chrono::milliseconds(40));

  constexpr int kKills = 50;
  for (int kill = 0; kill < kKills; ++kill) {
    if (kill == kKills / 2) {
      storm.kill_while_swap_waits_for_reader();
    } else {
      storm.kill_at_random_moment();
    }
  }
  storm.finish_and_check();
}
