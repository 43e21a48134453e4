// Handlers of one source share its reads ([sources.NAME] share_reads): ten handlers catch up on small batches,
// most of their cycles read by another, and each read model still holds every event once.
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "tests/blackbox/daemon_fixture.hpp"
#include "tests/support/http_client.hpp"

using namespace projectord::testing;
using namespace projectord::testing::blackbox;
using namespace std::chrono_literals;

namespace {

constexpr int kSharingCopies = 5;  // of the demo's two handlers: ten
const std::string kSmallBatches = "batch_size = 100\n";

bool every_copy_at_head(const TestDatabase& db) { return checkpoints_at_head(db) == 2 * kSharingCopies; }

// The cycles the daemon's handlers took from another's read, summed over /status.
std::int64_t shared_cycles(const DaemonProcess& daemon) {
  const auto status = boost::json::parse(http_request("127.0.0.1", http_port(daemon), "GET", "/status").body);
  std::int64_t shared = 0;
  for (const auto& handler : status.at("handlers").as_array()) shared += handler.at("shared_reads").to_number<std::int64_t>();
  return shared;
}

}  // namespace

TEST_CASE("handlers of one source read each batch together and each projects every event once") {
  const bool sharing = GENERATE(true, false);
  INFO("share_reads = " << sharing);
  TestDatabase db;
  write_events(db, 1500);
  const auto daemon =
      start_daemon(db, migrated(db, "shared-reads.toml", demo_copies(kSharingCopies, sharing ? kSmallBatches : kSmallBatches + "share_reads = false\n")));
  const bool caught_up = eventually([&] { return every_copy_at_head(db); }, 120s, 50ms);
  INFO(daemon->log());
  REQUIRE(caught_up);
  REQUIRE(eventually([&] { return http_port(*daemon) != 0; }));

  // Fifteen batches for each of ten handlers started together: with sharing, most are read once for many.
  if (sharing) {
    CHECK(shared_cycles(*daemon) > 0);
  } else {
    CHECK(shared_cycles(*daemon) == 0);
  }
  write_events(db, 30);
  CHECK(eventually([&] { return every_copy_at_head(db); }, 60s, 50ms));
  CHECK(inexact_copies(db, kSharingCopies) == 0);
}
