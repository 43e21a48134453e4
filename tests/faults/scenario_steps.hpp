#pragma once
/// Steps the fault scenarios share: reporting their figures however they end, writing demo events the SQL
/// reference can read, and where a handler's checkpoint stands.
#include <cstdint>
#include <string>

#include "tests/faults/scenario_report.hpp"
#include "tests/support/test_database.hpp"

namespace projectord::testing::faults {

/// Holds a scenario's figures and report()s them when the scenario ends, whether it passed or not.
struct ReportAtEnd {
  ScenarioFigures figures;
  ~ReportAtEnd() { report(figures); }
};

/// Appends `events` demo events with plain JSON payloads (the demo writer without --zlib), `per_transaction`
/// in each transaction; fails the test with the writer's output when it fails.
void write_plain_events(const TestDatabase& db, int events, int per_transaction = 3);

/// The checkpoint of `handler` in projectord.checkpoints; 0 while it has none.
std::int64_t checkpoint_of(const TestDatabase& db, const std::string& handler);

}  // namespace projectord::testing::faults
