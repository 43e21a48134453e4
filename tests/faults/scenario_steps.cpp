#include "tests/faults/scenario_steps.hpp"

#include <catch2/catch.hpp>

#include "tests/blackbox/daemon_fixture.hpp"

namespace projectord::testing::faults {

void write_plain_events(const TestDatabase& db, int events, int per_transaction) {
  const auto result = run_command({blackbox::kWriter, "--url", db.url(), "--events", std::to_string(events),
                                   "--per-transaction", std::to_string(per_transaction)});
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
}

std::int64_t checkpoint_of(const TestDatabase& db, const std::string& handler) {
  return db.query_int("SELECT coalesce(max(position), 0) FROM projectord.checkpoints WHERE handler = '" + handler +
                      "'");
}

}  // namespace projectord::testing::faults
